"""Memory bounds per response: what one hostile page may cost the crawl; and how many pages
a crawl asked for ``max_pages`` fetches (``PageBudgetMiddleware``).

A page is archived exactly as received whatever its size (up to DOWNLOAD_MAXSIZE); these
limits only decide how much of it the crawler *works on*: an HTML page over PAGE_MAXSIZE
is not parsed (a parse costs many times the body in memory), a compressed body stops
decoding at PAGE_MAXSIZE (a gzip bomb), and a page's links are capped at PAGE_MAX_LINKS.
Each limit hit is one log line and a ``limits/...`` stat.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.statscollectors import StatsCollector
from scrapy.utils.defer import deferred_from_coro
from twisted.protocols.basic import LineReceiver
from twisted.python.failure import Failure

logger = logging.getLogger(__name__)


def too_large(response: Response, maxsize: int, stats: StatsCollector) -> bool:
    """Is this page too large to parse? Logs and counts it if so."""
    if not maxsize or len(response.body) <= maxsize:
        return False
    stats.inc_value("limits/page_too_large")
    logger.warning("not parsed: %s is %d bytes, over PAGE_MAXSIZE=%d (archived as received, links not followed)",
                   response.url, len(response.body), maxsize)
    return True


def decoded_too_large(failure: Failure, url: str, stats: StatsCollector) -> bool:
    """Was this request dropped because its body decoded past PAGE_MAXSIZE? Logs it if so.

    HttpCompressionMiddleware stops decoding at the limit and drops the response with
    IgnoreRequest; the compressed exchange is in the archive already.
    """
    if "during decompression" not in failure.getErrorMessage():
        return False
    stats.inc_value("limits/decoded_too_large")
    logger.warning("not parsed: %s decodes to more than PAGE_MAXSIZE (a compression bomb?); "
                   "archived as received", url)
    return True


def capped_links(links: list[str], url: str, limit: int, stats: StatsCollector) -> list[str]:
    """The first ``limit`` links of a page (0 = no limit)."""
    if not limit or len(links) <= limit:
        return links
    stats.inc_value("limits/links_dropped", len(links) - limit)
    logger.warning("%s has %d links; following the first %d (PAGE_MAX_LINKS)", url, len(links), limit)
    return links[:limit]


class DecodeLimitMiddleware:
    """Bound the *decoded* size of a compressed body to PAGE_MAXSIZE.

    SizeLimitMiddleware sets ``download_maxsize`` to 0 on every request (it cuts oversized
    downloads itself, to archive their start), which would also let HttpCompressionMiddleware
    decode without limit. On the way back, before decoding (590), this puts a limit back.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.maxsize = crawler.settings.getint("PAGE_MAXSIZE")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DecodeLimitMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response, spider=None) -> Response:
        if self.maxsize and response.headers.get("Content-Encoding"):
            request.meta["download_maxsize"] = self.maxsize
        return response


class HeaderLineLimit:
    """Raise the longest response header line the HTTP client accepts to HTTP_MAX_HEADER_LINE.

    Twisted's HTTP client parser is a ``LineReceiver`` whose documented ``MAX_LENGTH`` (16 kB)
    makes it drop the connection on a longer header line (a huge Set-Cookie, say): the page
    was retried and lost. The crawler runs no other line protocol, so the class limit is
    the HTTP client's. A line longer still fails as "connection closed" and is logged so.
    """

    def __init__(self, crawler: Crawler) -> None:
        LineReceiver.MAX_LENGTH = crawler.settings.getint("HTTP_MAX_HEADER_LINE")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HeaderLineLimit:
        return cls(crawler)


def is_page(request: Request) -> bool:
    """Does ``request`` fetch a page of the crawl: anything but a page requisite (stylesheet,
    script, image: crawler/capture/requisites.py), an article's attachment (fetched in its page
    visit) and robots.txt? Listings, articles, endpoint pages and re-checks are pages."""
    if request.meta.get("requisite") is not None:
        return False
    return not (request.meta.get("dont_obey_robotstxt") and urlsplit(request.url).path == "/robots.txt")


class PageBudgetMiddleware:
    """``-a max_pages=N``: the crawl fetches at most N pages (``is_page``), counted when a
    request is about to be sent, after the incremental crawl has skipped what it knows; a
    retry or a redirect is the same page. The N-th page starts the close (reason
    ``max_pages``): the pages already on their way are fetched and archived, no other."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.count = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PageBudgetMiddleware:
        return cls(crawler)

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        limit = getattr(self.crawler.spider, "max_pages", 0)
        if not limit or "page_counted" in request.meta or not is_page(request):
            return
        if self.count >= limit:
            self.crawler.stats.inc_value("limits/max_pages_not_fetched")
            raise IgnoreRequest(f"max_pages={limit} reached: {request.url}")
        self.count += 1
        request.meta["page_counted"] = True
        self.crawler.stats.set_value("limits/pages_fetched", self.count)
        if self.count == limit:
            logger.info("max_pages=%d reached: the crawl stops once the pages on their way are archived", limit)
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="max_pages"))
