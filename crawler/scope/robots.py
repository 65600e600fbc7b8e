"""robots.txt that answers a server error means "disallow all" (RFC 9309, 2.3.1.4).

Scrapy's RobotsTxtMiddleware parses whatever body robots.txt returns, so a 503 page reads
as "no rules" and the whole site is crawled. This middleware sits after the retry
middleware: once the retries (with backoff) have not brought a good answer, it hands the
robots middleware a disallow-all file instead of the error page. The real 5xx exchange is
archived all the same (the capture hook saw it first). A later crawl asks again, so a
server that recovers is crawled then.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response

logger = logging.getLogger(__name__)

DISALLOW_ALL = b"User-agent: *\nDisallow: /\n"


def is_robots_request(request: Request) -> bool:
    """Scrapy's own robots.txt fetch (it marks it not to obey robots.txt itself); not the browser's
    fetch of a gated robots.txt, whose challenge page the browser must see (crawler/fetch/browser/)."""
    return (bool(request.meta.get("dont_obey_robotstxt")) and urlsplit(request.url).path == "/robots.txt"
            and not request.meta.get("browser_sub"))


class RobotsServerErrorMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RobotsServerErrorMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response, spider=None) -> Response:
        if not (500 <= response.status <= 599 and is_robots_request(request)):
            return response
        logger.warning("robots.txt of %s answered HTTP %d: the whole host is disallowed for this crawl "
                       "(RFC 9309: a server error means disallow all)", urlsplit(request.url).netloc, response.status)
        self.stats.inc_value("robotstxt/server_error")
        return Response(response.url, status=200, body=DISALLOW_ALL, request=request,
                        headers={"Content-Type": "text/plain"})
