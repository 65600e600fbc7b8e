"""Where every request and response passes the browser's rules (crawler/fetch/browser/router.py).

At 545: on the way out after robots.txt, the incremental middleware and the user agent are
settled (a handed-off host's cookies and browser user agent replace what those set); on the
way back after decoding (590) and retries (550), and before robots.txt's server-error rule
(540) and the challenge guard (105), so that a gated robots.txt or page is taken to the
browser before either calls the host blocked.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response

from crawler.fetch.browser.router import BrowserRouter, browser_router


class BrowserMiddleware:
    def __init__(self, router: BrowserRouter) -> None:
        self.router = router

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BrowserMiddleware:
        return cls(browser_router(crawler))

    def process_request(self, request: Request, spider=None) -> None:
        self.router.on_request(request)

    def process_response(self, request: Request, response: Response, spider=None) -> Response | Request:
        return self.router.on_response(request, response)
