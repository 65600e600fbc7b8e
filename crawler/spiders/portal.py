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
from crawler.profiles import SiteProfile, generic_profile, load_profile
from crawler.workers import PageProcessor, is_html


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

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.start_urls:
            yield scrapy.Request(url, callback=self.parse)

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any) -> PortalSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.pages = PageProcessor(crawler.settings.getint("PAGE_WORKERS", 1))
        return spider

    async def parse(self, response: Response) -> AsyncIterator[ArticleItem | scrapy.Request]:
        """Any page: its links, then an item if it is an article.

        Non-HTML responses (attachments) are archived by the capture hook and end here.
        """
        if not isinstance(response, TextResponse) or not is_html(response):
            return
        try:
            result = await self.pages.run(response, self.profile)
        except Exception:  # noqa: BLE001 - one odd page must not stop the crawl; it is archived anyway
            self.logger.exception("could not process %s (page archived, its links not followed)", response.url)
            self.crawler.stats.inc_value("extract/errors")
            return
        self.crawler.stats.inc_value(f"pages/{result.kind}")
        for url in result.links:
            yield scrapy.Request(url, callback=self.parse)
        if result.item is not None:
            yield self._item(result.item, response)

    def parse_article(self, response: Response) -> Iterator[ArticleItem]:
        """Extract one page as an article, whatever its kind (for ``scrapy parse -c``)."""
        if isinstance(response, TextResponse):
            yield self._item(extract_article(response), response)

    def closed(self, reason: str) -> None:
        self.pages.close()

    def _item(self, item: ArticleItem, response: Response) -> ArticleItem:
        item.site = self.site_name
        item.warc_record_id = response.meta.get("warc_record_id")
        return item
