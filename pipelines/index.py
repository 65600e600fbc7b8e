"""The index writer: one ``articles`` row per article item, linked to its capture."""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter
from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured

from archive.articles import ARTICLE_COLUMNS, QUALITY_COLUMNS, body_digest
from archive.store import ArticleRow
from crawler.capture.hook import archive_writer

# Below this confidence an article counts as doubtful in the crawl stats.
LOW_CONFIDENCE = 0.5


class ArticleIndexPipeline:
    def __init__(self, crawler: Crawler) -> None:
        if archive_writer(crawler) is None:
            raise NotConfigured
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArticleIndexPipeline:
        return cls(crawler)

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        """Queue the article's row for the writer. An item that cannot be indexed is counted
        by reason (``articles/dropped/REASON``, or ``articles/not_indexed/no_capture`` for an
        item with no capture to point at, which goes on to the feed), never lost in silence."""
        adapter = ItemAdapter(item)
        writer = archive_writer(self.crawler)
        record_id = adapter.get("warc_record_id")
        if writer is None:
            return item
        if not record_id:
            # Not indexed, counted; but passed on: a developer's own spider (runspider, feeds)
            # yields items of its own, and they still belong in its feed.
            self.crawler.stats.inc_value("articles/not_indexed/no_capture")
            return item
        fields = {column: adapter.get(column) for column in ARTICLE_COLUMNS}
        fields["body_digest"] = adapter.get("body_digest") or body_digest(fields["body"])
        fields.update(quality_fields(adapter))
        try:
            writer.add_article(ArticleRow(record_id, fields, list(adapter.get("images") or []),
                                          attachment_links(adapter)))
        except RuntimeError as exc:  # the writer died; the capture hook is stopping the crawl
            self.crawler.stats.inc_value("articles/dropped/writer_failed")
            raise DropItem(str(exc)) from None
        count_quality(self.crawler.stats, adapter)
        return item


def attachment_links(adapter: ItemAdapter) -> list[tuple[str, str | None]]:
    """(URL, link text) of the item's attachments (archive/attachments.py links them)."""
    if "attachments" not in adapter.field_names():
        return []
    titles = adapter.get("attachment_titles") if "attachment_titles" in adapter.field_names() else None
    return [(url, (titles or {}).get(url)) for url in adapter.get("attachments") or ()]


def quality_fields(adapter: ItemAdapter) -> dict[str, Any]:
    """The extraction-quality and disclosure columns of an item (absent ones are NULL)."""
    fields = {column: adapter.get(column) if column in adapter.field_names() else None for column in QUALITY_COLUMNS}
    warnings = adapter.get("extraction_warnings") if "extraction_warnings" in adapter.field_names() else None
    fields["extraction_warnings"] = ",".join(warnings) if warnings else None
    return fields


def count_quality(stats: Any, adapter: ItemAdapter) -> None:
    """Crawl stats: extraction/warning/<name> per warning, extraction/low_confidence."""
    if stats is None or "extraction_warnings" not in adapter.field_names():
        return
    for warning in adapter.get("extraction_warnings") or ():
        stats.inc_value(f"extraction/warning/{warning}")
    confidence = adapter.get("confidence")
    if confidence is not None and confidence < LOW_CONFIDENCE:
        stats.inc_value("extraction/low_confidence")
