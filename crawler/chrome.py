"""Strip navigation chrome from an article body, by rules kept as data (chrome_rules.toml).

Extraction applies these rules because DOM rules need the page tree; what each rule
removed travels with the item (``chrome_removed``) so the pipeline stage can count it in
the crawl stats and strip what is left by learning each site's own template.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lxml.html import HtmlElement

from archive.resources import package_path

RULES_FILE = package_path(__package__, "chrome_rules.toml")  # on disk even in a zipped egg (scrapyd)


@dataclass(frozen=True)
class LineRule:
    name: str
    pattern: re.Pattern[str]
    max_chars: int
    # The line heads a block of its kind (相关新闻: a list follows): drop the rest of the
    # body too, when the line sits in the body's last third.
    cut_rest: bool = False


@dataclass(frozen=True)
class DomRule:
    name: str
    xpath: str


@dataclass(frozen=True)
class ChromeRules:
    lines: tuple[LineRule, ...]
    dom: tuple[DomRule, ...]

    def line_rule(self, line: str) -> LineRule | None:
        """The first rule that says ``line`` is chrome, or None."""
        for rule in self.lines:
            if len(line) <= rule.max_chars and rule.pattern.search(line):
                return rule
        return None

    def dom_elements(self, root: HtmlElement) -> dict[HtmlElement, str]:
        """Elements the DOM rules remove, with the rule that removes each."""
        found: dict[HtmlElement, str] = {}
        for rule in self.dom:
            for element in root.xpath(rule.xpath):
                if isinstance(element, HtmlElement):
                    found.setdefault(element, rule.name)
        return found


@cache
def load_rules(path: Path = RULES_FILE) -> ChromeRules:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return ChromeRules(
        lines=tuple(
            LineRule(r["name"], re.compile(r["pattern"], re.I), int(r["max_chars"]), bool(r.get("cut_rest", False)))
            for r in data["line"]
        ),
        dom=tuple(DomRule(r["name"], r["xpath"]) for r in data.get("dom", [])),
    )


_CONTENT_CHAR = re.compile(r"[\w\u3400-\u9fff]")


def strip_lines(lines: list[str], rules: ChromeRules, removed: Counter[str]) -> list[str]:
    """Lines that no rule calls chrome; ``removed`` counts what each rule took.

    Lines without a letter, digit or CJK character (bullets, separators) and lone characters
    (vertical "今/日/推/荐" labels) go too, as ``fragment``.
    """
    kept: list[str] = []
    total = sum(len(line) for line in lines)
    seen = 0
    for index, line in enumerate(lines):
        seen += len(line)
        if len(_CONTENT_CHAR.findall(line)) <= 1:
            removed["fragment"] += 1
            continue
        rule = rules.line_rule(line)
        if rule is None:
            kept.append(line)
            continue
        removed[rule.name] += 1
        if rule.cut_rest and seen >= 0.66 * total:
            removed[rule.name] += len(lines) - index - 1
            break
    return kept
