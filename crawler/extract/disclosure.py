"""The 信息公开 (government information disclosure) block of a government article page.

Many government article pages print a block of labelled fields above the text: 索引号,
发布机构 / 发文机关, 成文日期, 发布日期, 文号, 主题分类, 有效性. Templates lay it out as a
``<table>`` (label cell, value cell), a ``<ul>`` of ``<li>`` (``label：value``), or
``<label>`` + ``<div>`` pairs, often with spaces inside the labels (索 引 号, 文　　号).
Reading the page's text segments in order covers all three: a label is followed by its
value in the same segment or in the next ones. The labels are data (field_rules.toml).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from crawler.extract.metadata import RULES, parse_date
from crawler.extract.page import Page, clean

_RULES = RULES["disclosure"]
FIELDS = ("index_no", "issuer", "written_at", "published", "doc_no", "topic", "validity", "title")
_LABEL_FIELD = {label: name for name in FIELDS for label in _RULES.get(name, [])}
_SPACE = r"[\s\u3000\u00a0]*"
_LABEL = re.compile(
    r"(?:^|(?<=[\s\u3000\u00a0|｜;；]))(?P<label>"
    + "|".join(_SPACE.join(map(re.escape, label)) for label in sorted(_LABEL_FIELD, key=len, reverse=True))
    + rf"){_SPACE}(?P<colon>[:：])?{_SPACE}"
)
_SPACES = re.compile(r"[\s\u3000\u00a0]+")
# The labels alone (no context rules), for one fast search over the page's text.
_ANY_LABEL = re.compile("|".join(_SPACE.join(map(re.escape, label))
                                 for label in sorted(_LABEL_FIELD, key=len, reverse=True)))
_MIN_FIELDS = int(_RULES.get("min_fields", 2))
_PROPER = {"index_no", "issuer", "written_at", "doc_no", "topic", "validity"}
# How far (in text segments) the block may extend after its first label.
WINDOW = 80


@dataclass
class Disclosure:
    """The block's fields as the page prints them, plus the parsed dates."""

    fields: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        return self.fields.get(name)

    def date(self, name: str) -> datetime | None:
        return parse_date(self.fields.get(name))

    def __bool__(self) -> bool:
        """A block has two labels or more, one of them a disclosure label proper: 发布时间
        beside 标题 in a byline makes none."""
        return len(self.fields) >= _MIN_FIELDS and bool(_PROPER & self.fields.keys())


def _hits(text: str) -> list[tuple[str, int, int, bool]]:
    """(field, label start, value start, had a colon) for each label in ``text``."""
    out = []
    for match in _LABEL.finditer(text):
        label = _SPACES.sub("", match.group("label"))
        rest = text[match.end():]
        # Without a colon a label must stand alone (its own table cell): 分类 inside a
        # sentence is no label.
        if match.group("colon") or not rest.strip():
            out.append((_LABEL_FIELD[label], match.start(), match.end(), bool(match.group("colon"))))
    return out


def _records(page: Page) -> list[tuple[int, str, str]]:
    """(segment index, field, value) for every labelled value on the page, in order."""
    segments = page.segments
    records: list[tuple[int, str, str]] = []
    pending: tuple[int, str] | None = None  # a label whose value is in the next segments
    for index, segment in enumerate(segments):
        text = segment.text
        if pending is not None and index - pending[0] > 6:
            pending = None
        hits = _hits(text) if ("：" in text or ":" in text or len(text.strip()) <= 12) else []
        if not hits:
            value = clean(text)
            if pending is not None and value:
                records.append((pending[0], pending[1], value))
                pending = None
            continue
        head = clean(text[: hits[0][1]])
        if pending is not None and head:
            records.append((pending[0], pending[1], head))
        pending = None
        for position, (name, _, value_start, _) in enumerate(hits):
            value_end = hits[position + 1][1] if position + 1 < len(hits) else len(text)
            value = clean(text[value_start:value_end])
            if value:
                records.append((index, name, value))
            else:
                pending = (index, name)
    return records


def read_disclosure(page: Page) -> Disclosure:
    """The disclosure block's fields, or an empty (falsy) ``Disclosure`` when the page has none.

    The block is the run of ``WINDOW`` segments holding the most distinct fields, so a lone
    发布日期 in a byline or a sidebar does not make one."""
    if len({_LABEL_FIELD[_SPACES.sub("", m.group())] for m in _ANY_LABEL.finditer(page.text)}) < _MIN_FIELDS:
        return Disclosure()  # most pages: one search over the text says there is no block
    records = [record for record in _records(page) if len(record[2]) <= 200]
    best: dict[str, str] = {}
    for start, (first, _, _) in enumerate(records):
        window: dict[str, str] = {}
        for index, name, value in records[start:]:
            if index - first > WINDOW:
                break
            window.setdefault(name, value)
        if len(window) > len(best) and _PROPER & window.keys():
            best = window
    disclosure = Disclosure(best)
    return disclosure if disclosure else Disclosure()
