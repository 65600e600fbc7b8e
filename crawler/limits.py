"""Memory bounds per response: what one hostile page may cost the crawl.

A page is archived exactly as received whatever its size (up to DOWNLOAD_MAXSIZE); these
limits only decide how much of it the crawler *works on*: an HTML page over PAGE_MAXSIZE
is not parsed (a parse costs many times the body in memory), a compressed body stops
decoding at PAGE_MAXSIZE (a gzip bomb), and a page's links are capped at PAGE_MAX_LINKS.
Each limit hit is one log line and a ``limits/...`` stat.
"""

from __future__ import annotations

import logging

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.statscollectors import StatsCollector
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
