"""What many pages of one site say about its fields, which one page cannot.

- A string that closes the ``<title>`` of most of a site's pages (``-新华网``, ``_某市消防网``,
  ``-纪检``) is the site's or a channel's name, not part of any headline: it is split off.
- A value credited as author on most of a site's pages (the portal's name, its operator's
  desk, an account) names no writer: it is dropped. Person names are kept however often
  they repeat: a small site's one editor signs every page (责任编辑：张三), and the field's
  convention takes that credit when nothing nearer the headline names anyone.

Learning is counting: ``observe`` adds a page's evidence, ``facts`` decides from the counts.
Counts add up the same in any order, so what is decided for a site depends on the set of
pages seen, never on the order they came in (issue 10, item 12; past ``PRUNE_EVERY`` pages
of one site rare values are forgotten, see there). A fact needs
``min_pages`` pages and ``share`` of the site's pages; once decided it is kept (``seed``
with what earlier crawls learned), so a fact never has to be undone. The crawl applies
what is settled (pipelines/chrome.py); the extraction benchmark applies it per site.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, bindparam, or_, select, update

from archive.models import articles, crawls
from crawler.extract.metadata import TITLE_SEPARATORS
from crawler.extract.validate import is_person_name

# A candidate ending is at most this long (a channel and a site name), and leaves at least
# this much headline before it.
MAX_TAIL = 30
MIN_HEAD = 4
# The warning on an article whose author was dropped as the site's own, and how much that
# lowers its confidence (as crawler/extract/extract.py's invalid_author).
SITE_WIDE_AUTHOR = "site_wide_author"
SITE_WIDE_AUTHOR_PENALTY = 0.95
# Where a crawl keeps what it decided (crawls.stats), and how many of the newest crawls are
# read for it (each keeps what it loaded as well as what it learned).
STATS_KEY = "site_fields"
EARLIER_CRAWLS = 100


def title_tails(page_title: str | None) -> set[str]:
    """Every ending of ``page_title`` that starts at a separator: the candidates for the
    site's name (标题_栏目_某市消防网 -> _某市消防网, _栏目_某市消防网)."""
    title = (page_title or "").strip()
    tails = set()
    for separator in TITLE_SEPARATORS:
        start = title.find(separator, MIN_HEAD)
        while start != -1:
            tail = title[start:]
            if len(tail) <= MAX_TAIL and len(tail.strip(separator + " ")) >= 2:
                tails.add(tail.strip())
            start = title.find(separator, start + 1)
    return tails


@dataclass(frozen=True)
class SiteFacts:
    """What is decided for one site."""

    title_suffixes: tuple[str, ...] = ()  # longest first, each with its separator
    not_authors: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.title_suffixes or self.not_authors)

    def title(self, title: str | None) -> tuple[str | None, str | None]:
        """(the title without the site's ending, the site's name split off or None)."""
        if not title:
            return title, None
        for suffix in self.title_suffixes:
            head = title[: -len(suffix)].rstrip() if title.endswith(suffix) else ""
            if len(head) >= 2:
                return head, _name_of(suffix)
        return title, None

    def author(self, author: str | None) -> str | None:
        """The author, unless it is a value the site credits on most of its pages."""
        return None if author and _key(author) in self.not_authors else author

    def revise(self, title: str | None, author: str | None, site_name: str | None, confidence: float | None,
               warnings: list[str]) -> dict[str, Any]:
        """The fields of one article (an item or an index row) that these facts change, with
        their new values: a title without the site's ending (and the site's name, where none
        was known), a site-wide author dropped with a ``site_wide_author`` warning and a
        lower confidence. Empty when nothing changes."""
        changed: dict[str, Any] = {}
        new_title, name = self.title(title)
        if new_title != title:
            changed["title"] = new_title
            if not site_name and name:
                changed["site_name"] = name
        if author and self.author(author) is None:
            changed["author"] = None
            if SITE_WIDE_AUTHOR not in warnings:
                changed["extraction_warnings"] = [*warnings, SITE_WIDE_AUTHOR]
                if confidence is not None:
                    changed["confidence"] = round(confidence * SITE_WIDE_AUTHOR_PENALTY, 2)
        return changed

    def to_json(self) -> dict[str, list[str]]:
        return {"title_suffixes": list(self.title_suffixes), "not_authors": sorted(self.not_authors)}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> SiteFacts:
        data = data or {}
        return cls(_longest_first(data.get("title_suffixes") or ()), frozenset(data.get("not_authors") or ()))


def _name_of(suffix: str) -> str:
    """The site's name in an ending: the last part after its separators."""
    name = suffix
    for separator in TITLE_SEPARATORS:
        name = name.rsplit(separator, 1)[-1] if separator.strip() else name
    return name.strip() or suffix.strip()


def _key(value: str) -> str:
    return value.strip()


def _longest_first(values) -> tuple[str, ...]:
    return tuple(sorted(set(values), key=lambda value: (-len(value), value)))


@dataclass
class _Evidence:
    pages: int = 0
    tails: Counter[str] = field(default_factory=Counter)
    authors: Counter[str] = field(default_factory=Counter)
    kept: SiteFacts = field(default_factory=SiteFacts)  # decided earlier, never undone


class SiteFieldLearner:
    """Per-site counts of title endings and author values; decides a site's ``SiteFacts``."""

    def __init__(self, min_pages: int = 5, share: float = 0.6) -> None:
        self.min_pages, self.share = min_pages, share
        self.sites: dict[str, _Evidence] = {}

    # Every this many pages of a site, forget endings and authors seen on under a quarter of
    # the share a fact needs (most endings are pieces of one headline): memory stays flat on
    # big sites. Counts are exact up to this many pages; beyond, only a value whose share
    # crosses the threshold late in a very large crawl can be decided otherwise.
    PRUNE_EVERY = 1000

    def observe(self, site: str, page_title: str | None, author: str | None) -> None:
        evidence = self.sites.setdefault(site, _Evidence())
        evidence.pages += 1
        evidence.tails.update(title_tails(page_title))
        if author and not is_person_name(author):  # a person is never a fact: not counted
            evidence.authors[_key(author)] += 1
        if evidence.pages % self.PRUNE_EVERY == 0:
            floor = self.share * evidence.pages / 4
            for counts in (evidence.tails, evidence.authors):
                for key in [key for key, seen in counts.items() if seen < floor]:
                    del counts[key]

    def _enough(self, evidence: _Evidence, seen: int) -> bool:
        return seen >= self.min_pages and seen >= self.share * evidence.pages

    def facts(self, site: str) -> SiteFacts:
        """What the counts so far decide for ``site``, with what was decided before."""
        evidence = self.sites.get(site)
        if evidence is None:
            return SiteFacts()
        suffixes = [tail for tail, seen in evidence.tails.items() if self._enough(evidence, seen)]
        not_authors = {value for value, seen in evidence.authors.items() if self._enough(evidence, seen)}
        return SiteFacts(_longest_first([*evidence.kept.title_suffixes, *suffixes]),
                         evidence.kept.not_authors | not_authors)

    def kept(self, site: str) -> SiteFacts:
        """What earlier crawls decided for ``site`` (``seed``): settled before this crawl."""
        evidence = self.sites.get(site)
        return evidence.kept if evidence is not None else SiteFacts()

    def seed(self, site: str, facts: SiteFacts) -> None:
        """Start from what an earlier crawl decided (a daily crawl sees too few pages to learn)."""
        evidence = self.sites.setdefault(site, _Evidence())
        evidence.kept = SiteFacts(_longest_first([*evidence.kept.title_suffixes, *facts.title_suffixes]),
                                  evidence.kept.not_authors | facts.not_authors)


def earlier_facts(engine: Engine) -> dict[str, SiteFacts]:
    """Site -> what the newest crawls decided (their union: facts are never undone). The
    crawl applies it to its items (pipelines/site_fields.py), and a re-check compares its
    fresh extraction with the stored row through it (crawler/schedule/revisit.py)."""
    out: dict[str, SiteFacts] = {}
    with engine.connect() as conn:
        rows = conn.execute(select(crawls.c.stats).where(crawls.c.stats.is_not(None))
                            .order_by(crawls.c.id.desc()).limit(EARLIER_CRAWLS))
        for (stats,) in rows:
            for site, data in ((stats or {}).get(STATS_KEY) or {}).items():
                facts = SiteFacts.from_json(data)
                known = out.get(site, SiteFacts())
                out[site] = SiteFacts.from_json({
                    "title_suffixes": [*known.title_suffixes, *facts.title_suffixes],
                    "not_authors": [*known.not_authors, *facts.not_authors]})
    return out


def revise_rows(engine: Engine, decided: dict[str, SiteFacts]) -> int:
    """Bring every index row of each site in line with its facts; how many rows changed.
    (The crawl when it stops, pipelines/site_fields.py; ``import`` when it ends.)"""
    changed = 0
    with engine.begin() as conn:
        for site, facts in decided.items():
            if not facts:
                continue
            conditions = [articles.c.title.like("%" + _like_escaped(suffix), escape="\\")
                          for suffix in facts.title_suffixes]
            if facts.not_authors:
                conditions.append(articles.c.author.in_(sorted(facts.not_authors)))
            rows = conn.execute(select(articles.c.id, articles.c.title, articles.c.author, articles.c.site_name,
                                       articles.c.confidence, articles.c.extraction_warnings)
                                .where(articles.c.site == site, or_(*conditions)))
            updates = []
            for row_id, title, author, site_name, confidence, warnings in rows:
                revision = facts.revise(title, author, site_name, confidence,
                                        warnings.split(",") if warnings else [])
                if revision:
                    values = {"title": title, "author": author, "site_name": site_name, "confidence": confidence,
                              "extraction_warnings": warnings, **revision}
                    if isinstance(values["extraction_warnings"], list):
                        values["extraction_warnings"] = ",".join(values["extraction_warnings"])
                    updates.append({"row_id": row_id, **{f"new_{name}": value for name, value in values.items()}})
            if updates:
                conn.execute(update(articles).where(articles.c.id == bindparam("row_id")).values(
                    title=bindparam("new_title"), author=bindparam("new_author"),
                    site_name=bindparam("new_site_name"), confidence=bindparam("new_confidence"),
                    extraction_warnings=bindparam("new_extraction_warnings")), updates)
                changed += len(updates)
    return changed


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
