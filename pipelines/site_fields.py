"""Per-site field learning in the crawl: a site's name closing its titles is split off, a
value credited as author on most of its articles is dropped (crawler/extract/site_fields.py
says what is learned and why).

What is stored must not depend on the order a crawl meets a site's articles (issue 10,
item 12). So nothing learned during a crawl is applied to that crawl's items as they pass:

- An item is stored with what earlier crawls decided for its site (the same for every
  article of the crawl, whatever its order).
- What this crawl's articles teach is decided once, from all of them, when the crawl closes.
  It is kept in ``crawls.stats["site_fields"]`` (with what earlier crawls decided, so the
  newest finished crawls hold it all) for the next crawls; and once the archive writer has
  committed every row (``engine_stopped``), the site's index rows are revised to it: every
  row of the site, so rows of a crawl killed before its end are revised by the next crawl
  that finishes.

Facts are never undone (a decided ending stays decided), so a revision only ever strips an
ending or drops an author, and needs nothing a row does not hold.
"""

from __future__ import annotations

import logging
from typing import Any

from itemadapter import ItemAdapter
from scrapy import signals
from scrapy.crawler import Crawler
from sqlalchemy.exc import SQLAlchemyError

from crawler.capture.hook import existing_index
from crawler.extract.site_fields import STATS_KEY, SiteFacts, SiteFieldLearner, earlier_facts, revise_rows

logger = logging.getLogger(__name__)

class SiteFieldsPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.settings = crawler.settings
        self.stats = crawler.stats
        self.learner = SiteFieldLearner(self.settings.getint("SITE_FIELDS_MIN_PAGES"),
                                        self.settings.getfloat("SITE_FIELDS_SHARE"))
        self.decided: dict[str, SiteFacts] = {}
        engine = existing_index(self.settings)
        if engine is not None:
            for site, facts in earlier_facts(engine).items():
                self.learner.seed(site, facts)
            engine.dispose()
        crawler.signals.connect(self.engine_stopped, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SiteFieldsPipeline:
        return cls(crawler)

    def process_item(self, item: Any, spider: Any = None) -> Any:
        adapter = ItemAdapter(item)
        site = adapter.get("site") or ""
        self.learner.observe(site, adapter.get("page_title"), adapter.get("author"))
        revision = self.learner.kept(site).revise(
            adapter.get("title"), adapter.get("author"), adapter.get("site_name"), adapter.get("confidence"),
            list(adapter.get("extraction_warnings") or []))
        for name, value in revision.items():
            if name in adapter.field_names():
                adapter[name] = value
        return item

    def close_spider(self, spider: Any = None) -> None:
        """Decide from all of the crawl's articles; keep it in the crawl's stats (written by
        the capture extension when the spider closes)."""
        self.decided = {site: facts for site in self.learner.sites if (facts := self.learner.facts(site))}
        if self.stats is not None and self.decided:
            self.stats.set_value(STATS_KEY, {site: facts.to_json() for site, facts in sorted(self.decided.items())})

    def engine_stopped(self) -> None:
        """Revise the index rows of the sites this crawl saw, now that every row of the
        crawl is committed."""
        seen = {site: facts for site, facts in self.decided.items() if self.learner.sites[site].pages}
        if not seen:
            return
        engine = existing_index(self.settings)
        if engine is None:
            return
        try:
            revised = revise_rows(engine, seen)
        except SQLAlchemyError as exc:  # a busy or broken index: the next crawl that finishes revises
            logger.error("per-site field learning could not revise the index rows: %s", exc)
            return
        finally:
            engine.dispose()
        if revised:
            logger.info("per-site field learning revised %d article rows of %d sites", revised, len(seen))
