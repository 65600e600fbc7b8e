"""Leave-one-site-out for hand-written field rules: which corpus sites each rule fires on,
and every site scored without the rules only that site needed.

A rule is one entry of a list in ``crawler/extract/field_rules.toml`` (a label, a role word,
a meta name, a title separator, a pattern). It *fires* on a site when taking it out
changes what extraction returns for one of the site's pages (title, published, author,
source, body or a 信息公开 field). A rule that fires on one site only could have been
written for that site: when the site is scored, such rules are taken out, as if the rules
had been tuned without it. Rules that fire on two sites or more, or on none (written from
the field's conventions and not needed by this corpus), stay.

The extraction modules compile their patterns from ``crawler.extract.rules.RULES`` when
imported, so a rule set is tried by replacing ``RULES`` and importing them again.
"""

from __future__ import annotations

import copy
import hashlib
import html
import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bench.scoring import LabelledPage

# Compiled from RULES at import, in dependency order.
_MODULES = ("crawler.extract.validate", "crawler.extract.metadata", "crawler.extract.disclosure",
            "crawler.extract.pagekind", "crawler.extract.site_fields", "crawler.extract.extract")
# Lists whose entries are regular expressions: no literal to look for in a page.
_PATTERN_LISTS = frozenset({("author", "not_names")})
OUTPUT_FIELDS = ("title", "published_at", "author", "source", "body", "index_no", "issuer", "written_at",
                 "doc_no", "topic", "validity")

Rule = tuple[str, str, str]  # (section, list name, entry)


def rule_name(rule: Rule) -> str:
    return f"{rule[0]}.{rule[1]}: {rule[2]}"


def rule_entries(rules: dict[str, Any]) -> list[Rule]:
    """Every entry of every list of strings in the rules."""
    return [(section, key, entry) for section, table in rules.items() if isinstance(table, dict)
            for key, values in table.items() if isinstance(values, list)
            for entry in values if isinstance(entry, str)]


def without(rules: dict[str, Any], dropped: set[Rule]) -> dict[str, Any]:
    out = copy.deepcopy(rules)
    for section, key, entry in dropped:
        out[section][key] = [value for value in out[section][key] if value != entry]
    return out


@contextmanager
def field_rules(rules: dict[str, Any]) -> Iterator[Callable[..., Any]]:
    """``extract_article`` compiled from ``rules``; the shipped rules are back afterwards."""
    import crawler.extract.rules as holder

    shipped = holder.RULES
    holder.RULES = rules
    try:
        yield _reload()
    finally:
        holder.RULES = shipped
        _reload()


def _reload() -> Callable[..., Any]:
    modules = [importlib.reload(importlib.import_module(name)) for name in _MODULES]
    return modules[-1].extract_article


def outputs(item: Any) -> tuple:
    """What a rule can change: the fields, the body as a digest."""
    values = [getattr(item, name) for name in OUTPUT_FIELDS]
    values[OUTPUT_FIELDS.index("body")] = hashlib.sha1((item.body or "").encode()).hexdigest()
    return tuple(values)


def _squeezed(text: str) -> str:
    return "".join(text.split())


@dataclass
class Ablation:
    fires: dict[Rule, set[str]]  # rule -> the sites whose output it changes
    loso_items: dict[str, Any]  # page name -> item extracted without the rules only its site needed
    only: dict[str, set[Rule]]  # site -> the rules only it needed


def ablate(pages: list[LabelledPage], site_of: dict[str, str]) -> Ablation:
    """Which sites each rule fires on, and every page extracted without its site's own rules."""
    import crawler.extract.rules as holder
    from crawler.extract.page import parse_page

    shipped = holder.RULES
    entries = rule_entries(shipped)
    extract = _reload()
    baseline = {page.name: outputs(extract(page.html, url=page.url or "")) for page in pages}
    # A literal rule can only fire on a page whose text holds it (spaces and entities aside).
    haystacks = {}
    for page in pages:
        parsed = parse_page(page.html, page.url or "")
        decoded = parsed.decoded.text if parsed.decoded else page.html.decode("utf-8", "replace")
        haystacks[page.name] = _squeezed(html.unescape(decoded))
    fires: dict[Rule, set[str]] = {}
    for rule in entries:
        literal = _squeezed(rule[2])
        candidates = [page for page in pages
                      if (rule[0], rule[1]) in _PATTERN_LISTS or not literal or literal in haystacks[page.name]]
        fired: set[str] = set()
        if candidates:
            with field_rules(without(shipped, {rule})) as extract:
                for page in candidates:
                    if outputs(extract(page.html, url=page.url or "")) != baseline[page.name]:
                        fired.add(site_of[page.name])
        fires[rule] = fired
    only: dict[str, set[Rule]] = {}
    for rule, fired in fires.items():
        if len(fired) == 1:
            only.setdefault(next(iter(fired)), set()).add(rule)
    loso_items: dict[str, Any] = {}
    for site in sorted(set(site_of.values())):
        site_pages = [page for page in pages if site_of[page.name] == site]
        with field_rules(without(shipped, only.get(site, set()))) as extract:
            for page in site_pages:
                loso_items[page.name] = extract(page.html, url=page.url or "")
    return Ablation(fires, loso_items, only)
