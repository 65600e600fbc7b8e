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

from collections import Counter
from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler

from archive.articles import body_digest
from archive.site_templates import SiteTemplates, known_templates, save_learned
from crawler.capture.hook import existing_index


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
                self.templates.known.update(known_templates(conn))
            engine.dispose()

    def close_spider(self, spider: Any = None) -> None:
        """Keep what this crawl learned for the next one (the writer created the table)."""
        learned = self.templates.learned()
        engine = existing_index(self.settings) if learned else None
        if engine is None:
            return
        with engine.begin() as conn:
            save_learned(conn, learned)
        engine.dispose()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ChromeStripPipeline:
        return cls(crawler)

    def process_item(self, item: Any, spider: Any = None) -> Any:
        adapter = ItemAdapter(item)
        removed = Counter(adapter.get("chrome_removed") or {})
        site = adapter.get("site") or ""
        if "body_digest" in adapter.field_names() and not adapter.get("body_digest"):
            adapter["body_digest"] = body_digest(adapter.get("body"))  # before stripping: order-independent
        body, cut = self.templates.strip(site, adapter.get("body") or "")
        if cut:
            removed["site_template"] += cut
            adapter["body"] = body
            if "chrome_removed" in adapter.field_names():
                adapter["chrome_removed"] = dict(removed)
        if self.stats is not None:
            for rule, count in removed.items():
                self.stats.inc_value(f"chrome/{rule}", count)
        return item
