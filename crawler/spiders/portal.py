"""The ``portal`` spider: breadth-first over one portal, yielding an item per article.

    scrapy crawl portal -a start_url=http://www.example.gov.cn/
    scrapy crawl portal -a site=demo -a start_url=http://127.0.0.1:8000/

Every response is archived by the capture hook whatever happens here; the spider only
decides what to follow and which pages are articles.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.http import Response, TextResponse

from crawler.extract import extract_article
from crawler.items import ArticleItem
from crawler.links import link_extractor, outgoing_urls
from crawler.profiles import SiteProfile, generic_profile, load_profile
from crawler.workers import Extractor

_HTML_TYPES = (b"text/html", b"application/xhtml")


def is_html(response: Response) -> bool:
    content_type = response.headers.get("Content-Type", b"").lower()
    if content_type:
        return content_type.startswith(_HTML_TYPES)
    return isinstance(response, TextResponse) and b"<html" in response.body[:2048].lower()


class PortalSpider(scrapy.Spider):
    name = "portal"

    def __init__(self, start_url: str | None = None, site: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if site:
            self.profile: SiteProfile = load_profile(site, start_url)
        elif start_url:
            self.profile = generic_profile(start_url)
        else:
            raise ValueError("give -a start_url=URL or -a site=NAME")
        self.site_name = self.profile.name
        self.start_urls = self.profile.start_urls
        self.allowed_domains = self.profile.allowed_hosts
        self._links = link_extractor(self.profile.deny_patterns)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.start_urls:
            yield scrapy.Request(url, callback=self.parse)

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any) -> PortalSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.extractor = Extractor(crawler.settings.getint("EXTRACT_WORKERS", 1))
        return spider

    async def parse(self, response: Response) -> AsyncIterator[ArticleItem | scrapy.Request]:
        """Any page: links first (the scheduler need not wait), then an item if it is an article.

        Non-HTML responses (attachments) are archived by the capture hook and end here.
        """
        if not isinstance(response, TextResponse) or not is_html(response):
            return
        for url in outgoing_urls(response, self._links, self.profile.allowed_hosts):
            yield scrapy.Request(url, callback=self.parse)
        try:
            kind, item = await self.extractor.run(response, self.profile)
        except Exception:  # noqa: BLE001 - one odd page must not stop the crawl; it is archived anyway
            self.logger.exception("extraction failed on %s (page archived, links still followed)", response.url)
            self.crawler.stats.inc_value("extract/errors")
            kind, item = "error", None
        self.crawler.stats.inc_value(f"pages/{kind}")
        if item is not None:
            yield self._item(item, response)

    def parse_article(self, response: Response) -> Iterator[ArticleItem]:
        """Extract one page as an article, whatever its kind (for ``scrapy parse -c``)."""
        if isinstance(response, TextResponse):
            yield self._item(extract_article(response), response)

    def closed(self, reason: str) -> None:
        self.extractor.close()

    def _item(self, item: ArticleItem, response: Response) -> ArticleItem:
        item.site = self.site_name
        item.warc_record_id = response.meta.get("warc_record_id")
        return item
