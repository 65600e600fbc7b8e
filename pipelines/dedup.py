"""Drop an article whose text is already in the index for the same URL.

A refresh (``-a refresh=1``), a resumed crawl or a redirect can bring the same article
twice; the archive keeps every capture (revisit records cost little), but the ``articles``
table gets a new row only when the text differs, so "all versions of a page" means versions.
Known texts are asked of the index per article (archive/lookup.py), not loaded at start;
the index's unique (url, body_digest) rule catches what another writer adds meanwhile.
"""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured

from archive.articles import body_digest
from archive.lookup import LRU, ArchiveLookup
from crawler.capture.hook import existing_index


class ArticleDedupPipeline:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        if not settings.getbool("CAPTURE_ENABLED"):
            raise NotConfigured
        self.stats = crawler.stats
        self.settings = settings
        self.lookup: ArchiveLookup | None = None
        self.seen: LRU[tuple[str, str], bool] = LRU()  # this crawl's texts, before the index has them

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArticleDedupPipeline:
        return cls(crawler)

    def open_spider(self, spider: Any = None) -> None:
        engine = existing_index(self.settings)
        self.lookup = ArchiveLookup(engine) if engine is not None else None

    def close_spider(self, spider: Any = None) -> None:
        if self.lookup is not None:
            self.lookup.close()
            self.lookup.engine.dispose()

    def process_item(self, item: Any, spider: Any = None) -> Any:
        adapter = ItemAdapter(item)
        digest = adapter.get("body_digest") or body_digest(adapter.get("body"))
        url = adapter.get("url")
        # Rows indexed before digests were taken ahead of template stripping hold the
        # digest of the stripped text: that matches too.
        site = adapter.get("site")
        if any(self._known(url, d, site) for d in {digest, body_digest(adapter.get("body"))}):
            self.stats.inc_value("articles/unchanged")
            self.stats.inc_value("articles/dropped/unchanged")
            raise DropItem(f"unchanged article {url}", log_level="DEBUG")
        self.seen.put((url, digest), True)
        return item

    def _known(self, url: str, digest: str, site: str | None) -> bool:
        """Is this version of the article indexed already, by this crawl or any other?"""
        return bool(self.seen.get((url, digest), False)) or (
            self.lookup is not None and self.lookup.has_text(url, digest, site))
