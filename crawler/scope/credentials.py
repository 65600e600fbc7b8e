"""Links that carry credentials (``http://user:pass@host/``) are fetched without them.

A public portal never needs them; requesting them made Scrapy's robots.txt lookup fail on
the host ``user:pass@host`` with a traceback that printed the password, and a URL with them
would keep the password in the WARC and the index. The request goes out with the
credentials removed (``scrapy.utils.url.strip_url``), counted as ``links/credentials_stripped``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.utils.url import strip_url


class StripCredentialsMiddleware:
    """Downloader middleware, ahead of robots.txt: re-issue a request without its userinfo."""

    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StripCredentialsMiddleware:
        return cls(crawler)

    def process_request(self, request: Request, spider: Spider | None = None) -> Request | None:
        if "@" not in request.url or urlsplit(request.url).username is None:
            return None
        clean = strip_url(request.url, strip_credentials=True, strip_default_port=False, origin_only=False,
                          strip_fragment=False)
        if self.stats is not None:
            self.stats.inc_value("links/credentials_stripped")
        return request.replace(url=clean)
