"""The index writer: one ``articles`` row per article item, linked to its capture."""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter
from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured

from archive.store import ArticleRow
from crawler.capture import archive_writer
from pipelines.dedup import body_digest

ARTICLE_COLUMNS = ("url", "site", "channel", "title", "published_at", "source", "author", "views", "body",
                   "site_name", "encoding")


class ArticleIndexPipeline:
    def __init__(self, crawler: Crawler) -> None:
        if archive_writer(crawler) is None:
            raise NotConfigured
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArticleIndexPipeline:
        return cls(crawler)

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        adapter = ItemAdapter(item)
        writer = archive_writer(self.crawler)
        record_id = adapter.get("warc_record_id")
        if writer is not None and record_id:
            fields = {column: adapter.get(column) for column in ARTICLE_COLUMNS}
            fields["body_digest"] = body_digest(fields["body"])
            try:
                writer.add_article(ArticleRow(record_id, fields))
            except RuntimeError as exc:  # the writer died; the capture hook is stopping the crawl
                raise DropItem(str(exc)) from None
        return item
