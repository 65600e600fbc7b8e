"""Drop an article whose text is already in the index for the same URL.

A refresh (``-a refresh=1``), a resumed crawl or a redirect can bring the same article
twice; the archive keeps every capture (revisit records cost little), but the ``articles``
table gets a new row only when the text differs, so "all versions of a page" means versions.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured
from sqlalchemy import select

from archive.models import articles
from crawler.capture import existing_index


def body_digest(body: str | None) -> str:
    return hashlib.sha1((body or "").encode("utf-8")).hexdigest()


class ArticleDedupPipeline:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        if not settings.getbool("CAPTURE_ENABLED"):
            raise NotConfigured
        self.stats = crawler.stats
        self.seen: defaultdict[str, set[str]] = defaultdict(set)
        engine = existing_index(settings)
        if engine is not None:
            with engine.connect() as conn:
                for url, digest in conn.execute(select(articles.c.url, articles.c.body_digest)):
                    if digest:
                        self.seen[url].add(digest)
            engine.dispose()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArticleDedupPipeline:
        return cls(crawler)

    def process_item(self, item: Any, spider: Any = None) -> Any:
        adapter = ItemAdapter(item)
        digest = body_digest(adapter.get("body"))
        url = adapter.get("url")
        if digest in self.seen[url]:
            self.stats.inc_value("articles/unchanged")
            raise DropItem(f"unchanged article {url}", log_level="DEBUG")
        self.seen[url].add(digest)
        return item
