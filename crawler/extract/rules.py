"""The field rules (``field_rules.toml``), read once: every extraction module compiles its
patterns from ``RULES`` when it is imported.

One place on purpose: the extraction benchmark measures what each rule is worth by
replacing ``RULES`` with a copy that lacks it and importing the extraction modules again
(bench/extract.py, leave-one-site-out). The crawl never changes it.
"""

from __future__ import annotations

import tomllib
from typing import Any

from archive.resources import package_path

RULES_FILE = package_path(__package__, "field_rules.toml")  # on disk even in a zipped egg (scrapyd)
RULES: dict[str, Any] = tomllib.loads(RULES_FILE.read_text(encoding="utf-8"))
