"""Readable differences between two versions of an article's text.

An article body is one paragraph per line, and a Chinese paragraph is one long line: a
line diff would only say "this paragraph changed". Here paragraphs are aligned first,
then a changed pair is compared character by character, and what went or came is marked
inside the line: ``[-删去的-]`` and ``{+新增的+}`` (the wdiff convention, readable in any
terminal and in a plain-text file).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from difflib import SequenceMatcher

DELETED = ("[-", "-]")
INSERTED = ("{+", "+}")


def inline(old: str, new: str) -> tuple[str, str]:
    """The two lines with their character-level changes marked."""
    out_old, out_new = [], []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            out_old.append(old[i1:i2])
            out_new.append(new[j1:j2])
            continue
        if i2 > i1:
            out_old.append(DELETED[0] + old[i1:i2] + DELETED[1])
        if j2 > j1:
            out_new.append(INSERTED[0] + new[j1:j2] + INSERTED[1])
    return "".join(out_old), "".join(out_new)


def _pairs(old: list[str], new: list[str], context: int) -> Iterator[list[tuple[str, int, int, int, int]]]:
    return SequenceMatcher(None, old, new, autojunk=False).get_grouped_opcodes(context)


def unified(old: list[str], new: list[str], old_label: str, new_label: str, context: int = 1) -> list[str]:
    """A unified diff of paragraphs, changed paragraphs marked at character level."""
    lines = [f"--- {old_label}", f"+++ {new_label}"]
    for group in _pairs(old, new, context):
        first, last = group[0], group[-1]
        lines.append(f"@@ -{first[1] + 1},{last[2] - first[1]} +{first[3] + 1},{last[4] - first[3]} @@")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines.extend(" " + line for line in old[i1:i2])
                continue
            paired = min(i2 - i1, j2 - j1) if tag == "replace" else 0
            for k in range(paired):
                marked_old, marked_new = inline(old[i1 + k], new[j1 + k])
                lines.append("-" + marked_old)
                lines.append("+" + marked_new)
            lines.extend("-" + line for line in old[i1 + paired:i2])
            lines.extend("+" + line for line in new[j1 + paired:j2])
    return lines


def width(text: str) -> int:
    """Terminal columns: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def wrap(text: str, columns: int) -> list[str]:
    """Cut ``text`` into pieces at most ``columns`` wide (no word breaking needed for Chinese)."""
    pieces, current, used = [], [], 0
    for ch in text:
        w = 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if used + w > columns and current:
            pieces.append("".join(current))
            current, used = [], 0
        current.append(ch)
        used += w
    pieces.append("".join(current))
    return pieces


def side_by_side(old: list[str], new: list[str], total_width: int = 120, context: int = 1) -> list[str]:
    """Two columns, old left and new right; the gutter says ``|`` changed, ``<`` gone, ``>`` added."""
    column = max(10, (total_width - 3) // 2)

    def row(left: str, mark: str, right: str) -> Iterator[str]:
        lefts, rights = wrap(left, column), wrap(right, column)
        for k in range(max(len(lefts), len(rights))):
            piece = lefts[k] if k < len(lefts) else ""
            other = rights[k] if k < len(rights) else ""
            yield (piece + " " * (column - width(piece)) + f" {mark if k == 0 else ' '} " + other).rstrip()

    lines: list[str] = []
    for number, group in enumerate(_pairs(old, new, context)):
        if number:
            lines.append("…".ljust(column) + " ⋮")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                for line in old[i1:i2]:
                    lines.extend(row(line, " ", line))
                continue
            paired = min(i2 - i1, j2 - j1) if tag == "replace" else 0
            for k in range(paired):
                marked_old, marked_new = inline(old[i1 + k], new[j1 + k])
                lines.extend(row(marked_old, "|", marked_new))
            for line in old[i1 + paired:i2]:
                lines.extend(row(line, "<", ""))
            for line in new[j1 + paired:j2]:
                lines.extend(row("", ">", line))
    return lines
