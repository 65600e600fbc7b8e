"""Text as the index wants it: lines a layout wrapped joined again, so a phrase is one run.

Search (archive/search.py) matches runs of letters and digits; a PDF or OFD line break in
the middle of 特勤消防站装备 would make 装备 unfindable. Chinese has no spaces between
words, so a line that was wrapped (it ends mid-sentence and reaches the margin: nearly as
long as the block's longest line) is joined to the next with nothing between them
(2020年\\n1月 is 2020年1月), or a space between two Latin words; a short line or one ending
a sentence (。！？：；” …) ends its paragraph. A space a PDF reader put between a CJK
character and a digit or Latin letter (从 1 月 1 日) goes too.
Blank lines (paragraphs) stay, except where a long block ends in the middle of a sentence
and the next goes on: that is a page or column break inside a paragraph, joined as well (a
heading also ends without punctuation, but it is short).
"""

from __future__ import annotations

import re

_CJK = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_CHAR = re.compile(rf"[{_CJK}]")
_SENTENCE_END = "。！？；：”’」』）】….!?:;"
_CJK_SPACE = re.compile(rf"(?<=[{_CJK}]) (?=[A-Za-z0-9])|(?<=[A-Za-z0-9]) (?=[{_CJK}])")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANKS = re.compile(r"\n\s*\n\s*")
_CONTINUED = re.compile(rf"[{_CJK}A-Za-z0-9]")
# A line this share as long as its block's longest one was wrapped (it reached the margin);
# a shorter one ends its paragraph (a heading, a last line).
FULL_LINE = 0.7
# A block at least this long that ends mid-sentence was cut by a page or column break.
CUT_BLOCK = 30


def join_wrapped(text: str) -> str:
    """Wrapped lines joined; paragraphs kept one per line."""
    text = text.replace("\x0c", "\n\n")
    paragraphs: list[str] = []
    for block in _BLANKS.split(text):
        lines = [_CJK_SPACE.sub("", _SPACES.sub(" ", line).strip()) for line in block.split("\n")]
        lines = [line for line in lines if line]
        if not lines:
            continue
        full = FULL_LINE * max(map(len, lines))
        joined = [lines[0]]
        for line in lines[1:]:
            before = joined[-1]
            if before[-1] not in _SENTENCE_END and len(_last_line(before, lines)) >= full:
                glue = "" if _CJK_CHAR.match(before[-1]) or _CJK_CHAR.match(line[0]) else " "
                joined[-1] = before + glue + line
            else:
                joined.append(line)
        if paragraphs and _continues(paragraphs[-1], joined[0]):
            paragraphs[-1] += joined.pop(0)
        paragraphs.extend(joined)
    return "\n".join(paragraphs)


def _last_line(paragraph: str, lines: list[str]) -> str:
    """The physical line that ends ``paragraph`` (the longest line of the block it ends with)."""
    for line in lines:
        if paragraph.endswith(line):
            return line
    return paragraph


def _continues(before: str, after: str) -> bool:
    return (len(before) >= CUT_BLOCK and before[-1] not in _SENTENCE_END and bool(_CONTINUED.match(before[-1]))
            and bool(_CONTINUED.match(after[0])))


def tidy_lines(lines: list[str]) -> str:
    """Lines that are already logical (cells, paragraphs): spaces squeezed, empty ones dropped."""
    out = []
    for line in lines:
        line = _SPACES.sub(" ", line).strip()
        if line:
            out.append(line)
    return "\n".join(out)
