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

import lxml.etree
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
    # ``pattern`` without re.I, for lines with no cased character (see ``uncased``).
    plain: re.Pattern[str] | None = None


@dataclass(frozen=True)
class DomRule:
    name: str
    xpath: str

    @property
    def compiled(self) -> lxml.etree.XPath:
        """The XPath relative to the node it is applied to: ``//x`` in XPath means the whole
        document even from a sub-node, and only the article's element needs searching."""
        return _relative_xpath(self.xpath)


@cache
def _relative_xpath(xpath: str) -> lxml.etree.XPath:
    branches = [branch.strip() for branch in xpath.split(" | ")]
    return lxml.etree.XPath(" | ".join("." + b if b.startswith("//") else b for b in branches))


@dataclass(frozen=True)
class ChromeRules:
    lines: tuple[LineRule, ...]
    dom: tuple[DomRule, ...]
    # (name, pattern, the pattern without re.I for lines with no cased character)
    boilerplate: tuple[tuple[str, re.Pattern[str], re.Pattern[str]], ...] = ()
    sibling_tokens: tuple[str, ...] = ()
    lead_labels: tuple[str, ...] = ()

    def names_other_block(self, element: HtmlElement) -> bool:
        """The element's class or id says it is no part of the article (related, comment…)."""
        tokens = _TOKEN.split(f"{element.get('class') or ''} {element.get('id') or ''}".lower())
        return any(token.startswith(word) if len(word) >= 5 else token == word
                   for token in tokens if token for word in self.sibling_tokens)

    def is_boilerplate(self, line: str) -> bool:
        """The line is page furniture: a short line some chrome rule removes, or a line of
        footer / disclaimer / hotline phrases (``[[boilerplate]]``): two of them, or one in
        a short line or next to a phone number. A long sentence that mentions a hotline once
        (市民可拨打12345服务热线咨询…) is prose."""
        if self.line_rule(line) is not None:
            return True
        plain = uncased(line)  # as in line_rule: the same hits, found faster
        hits = sum(len((twin if plain else pattern).findall(line)) for _, pattern, twin in self.boilerplate)
        return hits >= 2 or (hits == 1 and (len(line) <= 60 or bool(_PHONE.search(line))))

    def line_rule(self, line: str) -> LineRule | None:
        """The first rule that says ``line`` is chrome, or None.

        Rules match in any case (re.I), but most lines of a Chinese page hold no cased
        character, and there each rule's case-sensitive twin finds the same: re.I only
        compares cased characters differently. The twin is several times faster on a
        pattern with a Latin word in it (``Copyright``): without re.I the regex engine
        skips to the places where one of the pattern's first characters occurs."""
        if uncased(line):
            for rule in self.lines:
                if len(line) <= rule.max_chars and (rule.plain or rule.pattern).search(line):
                    return rule
            return None
        for rule in self.lines:
            if len(line) <= rule.max_chars and rule.pattern.search(line):
                return rule
        return None

    def dom_elements(self, root: HtmlElement) -> dict[HtmlElement, str]:
        """Elements the DOM rules remove, with the rule that removes each."""
        found: dict[HtmlElement, str] = {}
        for rule in self.dom:
            for element in rule.compiled(root):
                if isinstance(element, HtmlElement):
                    found.setdefault(element, rule.name)
        return found


@cache
def load_rules(path: Path = RULES_FILE) -> ChromeRules:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return ChromeRules(
        lines=tuple(
            LineRule(r["name"], re.compile(r["pattern"], re.I), int(r["max_chars"]), bool(r.get("cut_rest", False)),
                     re.compile(r["pattern"]))
            for r in data["line"]
        ),
        dom=tuple(DomRule(r["name"], r["xpath"]) for r in data.get("dom", [])),
        boilerplate=tuple((r["name"], re.compile(r["pattern"], re.I), re.compile(r["pattern"]))
                          for r in data.get("boilerplate", [])),
        sibling_tokens=tuple(data.get("siblings", {}).get("class_tokens", [])),
        lead_labels=tuple(data.get("siblings", {}).get("lead_labels", [])),
    )


def uncased(text: str) -> bool:
    """True when no character of ``text`` has case, so matching it with or without re.I
    is the same. (A character that lower() or upper() changes never maps to a string
    starting with itself, checked over all of Unicode: so when the whole text is unchanged
    by both, every character is; and such a character is uncased for ``re`` too.)"""
    return text.lower() == text == text.upper()


_PHONE = re.compile(r"(?<!\d)(?:0\d{2,3}[-－—]?\d{7,8}|1[3-9]\d{9}|400[-－]?\d{3}[-－]?\d{4})(?!\d)")
_TOKEN = re.compile(r"[\s_\-]+")


_TWO_CONTENT_CHARS = re.compile(r"[\w\u3400-\u9fff].*?[\w\u3400-\u9fff]", re.S)


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
        if not _TWO_CONTENT_CHARS.search(line):
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
