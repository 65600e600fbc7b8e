"""Text as the index wants it: lines a layout wrapped joined again, so a phrase is one run.

Search (archive/search.py) matches runs of letters and digits; a PDF or OFD line break in
the middle of 特勤消防站装备 would make 装备 unfindable. Chinese has no spaces between
words, so a break next to a CJK character is a wrap, not a word boundary: it is removed (2020年\n1月
is 2020年1月). A break between two Latin words becomes a space inside a paragraph; blank lines (paragraphs) stay.
"""

from __future__ import annotations

import re

_CJK = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_WRAP_CJK = re.compile(rf"(?<=[{_CJK}])[ \t]*\n[ \t]*(?=\S)|(?<=\S)[ \t]*\n[ \t]*(?=[{_CJK}])")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANKS = re.compile(r"\n\s*\n\s*")
_IDEOGRAPH = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# A block at least this long that ends on an ideograph was cut by a page or column break.
CUT_BLOCK = 30


def join_wrapped(text: str) -> str:
    """Wrapped lines joined; paragraphs (blank lines, page breaks) kept one blank line apart."""
    text = text.replace("\x0c", "\n\n")
    paragraphs = []
    for block in _BLANKS.split(text):
        block = _WRAP_CJK.sub("", block)
        block = _SPACES.sub(" ", block.replace("\n", " ")).strip()
        if not block:
            continue
        if paragraphs and _continues(paragraphs[-1], block):
            paragraphs[-1] += block
        else:
            paragraphs.append(block)
    return "\n".join(paragraphs)


def _continues(before: str, after: str) -> bool:
    return len(before) >= CUT_BLOCK and bool(_IDEOGRAPH.match(before[-1])) and bool(_IDEOGRAPH.match(after[0]))


def tidy_lines(lines: list[str]) -> str:
    """Lines that are already logical (cells, paragraphs): spaces squeezed, empty ones dropped."""
    out = []
    for line in lines:
        line = _SPACES.sub(" ", line).strip()
        if line:
            out.append(line)
    return "\n".join(out)
