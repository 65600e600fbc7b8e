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

from crawler.extract import extract_article, parse_page
from crawler.items import ArticleItem
from crawler.links import link_extractor, outgoing_urls
from crawler.pagekind import ARTICLE, page_kind
from crawler.profiles import SiteProfile, generic_profile, load_profile

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

    def parse(self, response: Response) -> Iterator[ArticleItem | scrapy.Request]:
        """Any page: archive-only for non-HTML, an item for articles, then follow links."""
        if not isinstance(response, TextResponse) or not is_html(response):
            return
        page = parse_page(response)
        kind = page_kind(page, self.profile)
        self.crawler.stats.inc_value(f"pages/{kind}")
        if kind == ARTICLE:
            yield self._item(extract_article(page), response)
        for url in outgoing_urls(response, self._links, self.profile.allowed_hosts):
            yield scrapy.Request(url, callback=self.parse)

    def parse_article(self, response: Response) -> Iterator[ArticleItem]:
        """Extract one page as an article, whatever its kind (for ``scrapy parse -c``)."""
        if isinstance(response, TextResponse):
            yield self._item(extract_article(response), response)

    def _item(self, item: ArticleItem, response: Response) -> ArticleItem:
        item.site = self.site_name
        item.warc_record_id = response.meta.get("warc_record_id")
        return item
