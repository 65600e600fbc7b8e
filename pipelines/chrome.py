"""Chrome stripping, the crawl-level part: count what the rules removed, and learn each
site's own template.

Extraction already applied the rules in ``crawler/extract/chrome_rules.toml`` (DOM rules need the
page tree); this stage adds their counts to the crawl stats as ``chrome/<rule>``. It also
removes lines that no rule names but that repeat across many articles of one site: a
portal's own boilerplate (扫一扫在手机打开当前页, a department's address line ...). A line
counts as template once it has been seen on ``CHROME_TEMPLATE_MIN_PAGES`` articles and on at
least ``CHROME_TEMPLATE_SHARE`` of the site's articles so far; lines that read like prose
(ending in 。！？) are never learned, so a notice's standard closing sentence stays. What a
crawl learns is kept in the ``site_templates`` table, so a daily re-crawl that sees only a
few new articles still strips the site's template from the first one.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from sqlalchemy import insert, select

from archive.models import site_templates, utc_iso
from crawler.capture import existing_index
from pipelines.dedup import body_digest

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

    def observe(self, site: str, lines: list[str]) -> None:
        self.pages[site] += 1
        self.lines[site].update({key for line in lines if (key := template_key(line))})

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


class ChromeStripPipeline:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.settings = settings
        self.stats = crawler.stats
        self.templates = SiteTemplates(
            settings.getint("CHROME_TEMPLATE_MIN_PAGES"), settings.getfloat("CHROME_TEMPLATE_SHARE")
        )
        engine = existing_index(settings)
        if engine is not None:
            with engine.connect() as conn:
                for site, line in conn.execute(select(site_templates.c.site, site_templates.c.line)):
                    self.templates.known[site].add(line)
            engine.dispose()

    def close_spider(self, spider: Any = None) -> None:
        """Keep what this crawl learned for the next one (the writer created the table)."""
        learned = self.templates.learned()
        engine = existing_index(self.settings) if learned else None
        if engine is None:
            return
        with engine.begin() as conn:
            for site, keys in learned.items():
                known = {line for (line,) in conn.execute(
                    select(site_templates.c.line).where(site_templates.c.site == site))}
                rows = [{"site": site, "line": key, "learned_at": utc_iso()} for key in sorted(keys - known)]
                if rows:
                    conn.execute(insert(site_templates), rows)
        engine.dispose()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ChromeStripPipeline:
        return cls(crawler)

    def process_item(self, item: Any, spider: Any = None) -> Any:
        adapter = ItemAdapter(item)
        removed = Counter(adapter.get("chrome_removed") or {})
        site = adapter.get("site") or ""
        lines = (adapter.get("body") or "").split("\n")
        if "body_digest" in adapter.field_names() and not adapter.get("body_digest"):
            adapter["body_digest"] = body_digest(adapter.get("body"))  # before stripping: order-independent
        self.templates.observe(site, lines)
        kept = [line for line in lines if not self.templates.is_template(site, line)]
        if len(kept) < len(lines):
            removed["site_template"] += len(lines) - len(kept)
            adapter["body"] = "\n".join(kept)
            if "chrome_removed" in adapter.field_names():
                adapter["chrome_removed"] = dict(removed)
        if self.stats is not None:
            for rule, count in removed.items():
                self.stats.inc_value(f"chrome/{rule}", count)
        return item
