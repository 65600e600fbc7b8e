"""The ``portal`` spider: breadth-first over one portal, yielding an item per article.

    scrapy crawl portal -a start_url=http://www.example.gov.cn/
    scrapy crawl portal -a site=demo -a start_url=http://127.0.0.1:8000/

Arguments (all optional but one of start_url / site): ``refresh=1`` fetches known articles
again; ``max_pages=N`` and ``max_articles=N`` stop the crawl early. Every response is
archived by the capture hook whatever happens here; the spider only decides what to follow
and which pages are articles.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from archive.history import History
from crawler.capture import existing_index, index_location
from crawler.discover.spider import DiscoveryMixin
from crawler.extract import extract_article
from crawler.extract.pagekind import LISTING
from crawler.incremental import archived_response, pagination_key
from crawler.items import ArticleItem
from crawler.limits import capped_links, decoded_too_large, too_large
from crawler.profiles import SiteProfile, generic_profile, load_profile
from crawler.workers import PageProcessor, PageResult, is_html

_TRUE = {"1", "true", "yes", "on"}


class PortalSpider(DiscoveryMixin, scrapy.Spider):
    name = "portal"

    def __init__(self, start_url: str | None = None, site: str | None = None, refresh: str = "0",
                 max_pages: str = "0", max_articles: str = "0", **kwargs: Any) -> None:
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
        self.refresh = str(refresh).lower() in _TRUE
        self.max_pages, self.max_articles = int(max_pages), int(max_articles)
        self.history: History | None = None
        self._pages_seen = self._articles_seen = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> PortalSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.pages = PageProcessor(settings.getint("PAGE_WORKERS"))
        spider.page_maxsize = settings.getint("PAGE_MAXSIZE")
        spider.page_max_links = settings.getint("PAGE_MAX_LINKS")
        engine = existing_index(settings) if settings.getbool("INCREMENTAL") else None
        if engine is not None:
            archive_dir, _, _ = index_location(settings)
            history = History.load(engine, archive_dir / "warc", spider.site_name)
            if history:
                spider.history = history
                spider.logger.info(
                    "incremental crawl: %d pages and %d articles already archived%s", len(history.captured),
                    len(history.known_articles), "" if history.complete else " (last crawl did not finish)",
                )
            else:
                engine.dispose()
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.start_urls:
            yield scrapy.Request(url, callback=self.parse, errback=self.failed)

    async def parse(self, response: Response) -> AsyncIterator[ArticleItem | scrapy.Request]:
        """Any page: its links, then an item if it is an article.

        Non-HTML responses (attachments) are archived by the capture hook and end here;
        challenge pages are archived and flagged, never followed or extracted.
        """
        stats = self.crawler.stats
        self._count_page()
        if response.status == 304 and self.history is not None:
            response = archived_response(self.history, response) or response
            stats.inc_value("incremental/not_modified")
        if not isinstance(response, TextResponse) or not is_html(response):
            return
        if too_large(response, self.page_maxsize, stats):
            return
        try:
            result = await self.pages.run(response, self.profile, recognise=self.recognising(response.url))
        except Exception:  # noqa: BLE001 - one odd page must not stop the crawl; it is archived anyway
            self.logger.exception("could not process %s (page archived, its links not followed)", response.url)
            stats.inc_value("extract/errors")
            return
        stats.inc_value(f"pages/{result.kind}")
        links = capped_links(self._links_to_follow(response.url, result), response.url, self.page_max_links, stats)
        for request in self.discovered_requests(response, result, links):
            yield request
        if result.item is not None:
            if {"dataloss", "download_stopped", "partial"} & set(response.flags):
                stats.inc_value("pages/truncated_article")
                return
            self._articles_seen += 1
            if self.max_articles and self._articles_seen > self.max_articles:
                raise CloseSpider("max_articles")
            if result.continuations:
                yield self.continue_article(result.item, response, result.continuations)
                return
            self.article_found(response)
            yield self._item(result.item, response)

    def failed(self, failure: Failure) -> None:
        """One log line per request given up on (Scrapy would log a traceback)."""
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        if failure.check(IgnoreRequest):
            decoded_too_large(failure, url, self.crawler.stats)
            return
        if failure.check(HttpError):
            self.logger.info("not followed: %s answered HTTP %d (archived)", url, failure.value.response.status)
            return
        kind = failure.type.__name__ if failure.type else "Error"
        self.crawler.stats.inc_value(f"failed/{kind}")
        self.logger.warning("gave up on %s: %s: %s", url, kind, failure.getErrorMessage())

    def _links_to_follow(self, url: str, result: PageResult) -> list[str]:
        """All links and script pager pages, except that an incremental crawl stops paging
        through a listing once a page of it links to nothing that was never archived."""
        links = [*result.links, *(page for page in result.found.pages if page not in result.links)]
        if self.history is None or not self.history.complete or result.kind != LISTING:
            return links
        if self.history.new_links(links):
            return links
        key = pagination_key(url)
        kept = [link for link in links if pagination_key(link) != key]
        if len(kept) < len(links):
            self.crawler.stats.inc_value("incremental/pagination_stopped")
        return kept

    def _count_page(self) -> None:
        self._pages_seen += 1
        if self.max_pages and self._pages_seen > self.max_pages:
            raise CloseSpider("max_pages")

    def parse_article(self, response: Response) -> Iterator[ArticleItem]:
        """Extract one page as an article, whatever its kind (for ``scrapy parse -c``)."""
        if isinstance(response, TextResponse):
            yield self._item(extract_article(response), response)

    def closed(self, reason: str) -> None:
        self.report_uncovered()
        self.pages.close()
        if self.history is not None:
            self.history.close()

    def _item(self, item: ArticleItem, response: Response | None) -> ArticleItem:
        item.site = self.site_name
        if response is not None:
            item.warc_record_id = response.meta.get("warc_record_id")
        return item
