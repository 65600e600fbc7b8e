"""A site's own template lines: boilerplate that no chrome rule names but that repeats on
most of one site's articles (扫一扫在手机打开当前页, a department's address line ...).

Learned per site as articles come (``SiteTemplates``), kept between runs in the
``site_templates`` table. The crawl's chrome pipeline (pipelines/chrome.py) and the import
(archive/importer.py) learn and strip the same way; ``reindex`` strips what is known.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

from sqlalchemy import Connection, insert, select

from archive.models import site_templates, utc_iso

_PROSE_END = re.compile(r"[。！？!?；;]$")
_SPACES = re.compile(r"\s+")


def template_key(line: str) -> str | None:
    """The normalised form of a line that could be template chrome, or None."""
    key = _SPACES.sub("", line)
    if not key or len(key) > 60 or _PROSE_END.search(key):
        return None
    return key


class SiteTemplates:
    """Per-site counts of candidate lines across articles; decides what is template."""

    def __init__(self, min_pages: int = 5, share: float = 0.8) -> None:
        self.min_pages, self.share = min_pages, share
        self.pages: Counter[str] = Counter()
        self.lines: defaultdict[str, Counter[str]] = defaultdict(Counter)
        # Learned by earlier crawls (the site_templates table).
        self.known: defaultdict[str, set[str]] = defaultdict(set)

    # Every this many articles of a site, forget lines seen on under a quarter of the share
    # a template needs (dates, titles: one per article): memory stays flat on big sites.
    PRUNE_EVERY = 1000

    def observe(self, site: str, lines: list[str]) -> None:
        self.pages[site] += 1
        self.lines[site].update({key for line in lines if (key := template_key(line))})
        if self.pages[site] % self.PRUNE_EVERY == 0:
            floor = self.share * self.pages[site] / 4
            counts = self.lines[site]
            for key in [key for key, seen in counts.items() if seen < floor]:
                del counts[key]

    def is_template(self, site: str, line: str) -> bool:
        key = template_key(line)
        if key is None:
            return False
        if key in self.known[site]:
            return True
        seen = self.lines[site][key]
        return seen >= self.min_pages and seen >= self.share * self.pages[site]

    def learned(self) -> dict[str, set[str]]:
        """Template lines learned in this crawl that earlier crawls did not know."""
        out: dict[str, set[str]] = {}
        for site, counts in self.lines.items():
            new = {key for key, seen in counts.items()
                   if seen >= self.min_pages and seen >= self.share * self.pages[site] and key not in self.known[site]}
            if new:
                out[site] = new
        return out



    def strip(self, site: str, body: str) -> tuple[str, int]:
        """Observe an article's lines, then drop its template lines: (body, lines removed)."""
        lines = body.split("\n")
        self.observe(site, lines)
        kept = [line for line in lines if not self.is_template(site, line)]
        return ("\n".join(kept), len(lines) - len(kept)) if len(kept) < len(lines) else (body, 0)


def known_templates(conn: Connection, site: str | None = None) -> dict[str, set[str]]:
    """Template lines learned so far, by site (one site's only, when given)."""
    statement = select(site_templates.c.site, site_templates.c.line)
    if site is not None:
        statement = statement.where(site_templates.c.site == site)
    known: dict[str, set[str]] = defaultdict(set)
    for name, line in conn.execute(statement):
        known[name].add(line)
    return known


def save_learned(conn: Connection, learned: dict[str, set[str]]) -> None:
    """Add newly learned template lines (``SiteTemplates.learned()``), skipping known ones."""
    for site, keys in learned.items():
        known = known_templates(conn, site).get(site, set())
        rows = [{"site": site, "line": key, "learned_at": utc_iso()} for key in sorted(keys - known)]
        if rows:
            conn.execute(insert(site_templates), rows)
