"""What a spider yields: one article per article page, readable in ``scrapy shell``."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ArticleItem:
    """An article and its metadata, extracted from one captured page.

    ``warc_record_id`` ties it to the response record the capture hook wrote, which is
    how the index writer finds its ``captures`` row.
    """

    url: str
    page_kind: str = "article"
    title: str | None = None
    site_name: str | None = None
    published_at: str | None = None
    source: str | None = None
    author: str | None = None
    views: int | None = None
    channel: str | None = None
    body: str = ""
    images: list[str] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)
    encoding: str | None = None
    site: str | None = None
    warc_record_id: str | None = None
    # Lines or elements each chrome rule removed (the pipeline adds them to the crawl stats).
    chrome_removed: dict[str, int] = field(default_factory=dict)
