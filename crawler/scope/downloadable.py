"""Requests for a scheme with no download handler fail at once, with one log line.

DOWNLOAD_HANDLERS (crawler/settings.py) turns Scrapy's file, ftp, s3 and data handlers off,
so the crawler can never read its own disk or hang on a silent FTP server. Without this
middleware such a request would still reach robots.txt handling first, which fetches
``ftp://HOST/robots.txt`` and logs a traceback when that is refused. Scope rules should
drop such links before they are scheduled; this is the guard behind them.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotSupported
from scrapy.utils.httpobj import urlparse_cached


class DownloadableSchemeMiddleware:
    """Runs first (before robots.txt, 100): refuse a URL whose scheme has no handler."""

    def __init__(self, crawler: Crawler) -> None:
        handlers = crawler.settings.getwithbase("DOWNLOAD_HANDLERS")
        self.schemes = {scheme for scheme, handler in handlers.items() if handler}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DownloadableSchemeMiddleware:
        return cls(crawler)

    def process_request(self, request: Request, spider=None) -> None:
        scheme = urlparse_cached(request).scheme
        if scheme not in self.schemes:
            raise NotSupported(f"Unsupported URL scheme '{scheme}': only {', '.join(sorted(self.schemes))} "
                               f"are downloaded (DOWNLOAD_HANDLERS)")
