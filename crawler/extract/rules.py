"""The field rules (``field_rules.toml``), read once: every extraction module compiles its
patterns from ``RULES`` when it is imported.

One place on purpose: the extraction benchmark measures what each rule is worth by
replacing ``RULES`` with a copy that lacks it and importing the extraction modules again
(bench/extract.py, leave-one-site-out). The crawl never changes it.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from typing import Any

from archive.resources import package_path

RULES_FILE = package_path(__package__, "field_rules.toml")  # on disk even in a zipped egg (scrapyd)
RULES: dict[str, Any] = tomllib.loads(RULES_FILE.read_text(encoding="utf-8"))


def any_of(words: Iterable[str], escape: bool = True) -> str:
    """A regex group matching any of ``words`` (escaped, longest first), or never matching
    when there are none: a list emptied (the benchmark takes rules out) matches nothing,
    never everything."""
    words = sorted(set(words), key=len, reverse=True)
    if not words:
        return "(?!)"
    return "(?:" + "|".join(map(re.escape, words) if escape else words) + ")"
