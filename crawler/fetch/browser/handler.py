"""The http/https download handler: a request marked for the browser is opened in it (see
crawler/fetch/browser/router.py); every other request goes to Scrapy's own HTTP/1.1 handler, behind
the last check of host health (crawler/fetch/hosts.py: ``HostCheckedHandler``).

A browser page waits in the download slot ``<browser>``, not in its host's, so the page's own
requests (made through the downloader while it renders) never wait for a connection the page
itself holds. Without a usable browser a marked request is downloaded plain.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.core.downloader.handlers.base import BaseDownloadHandler
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.utils.misc import build_from_crawler

from crawler.fetch.browser.router import PAGE, BrowserUnavailable, browser_router
from crawler.fetch.hosts import HostCheckedHandler


class BrowserDownloadHandler(BaseDownloadHandler):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.http = build_from_crawler(HostCheckedHandler, crawler)
        self.router = browser_router(crawler)

    async def download_request(self, request: Request) -> Response:
        if request.meta.get(PAGE) and self.router.usable:
            try:
                return await self.router.render(request)
            except BrowserUnavailable:
                pass  # said once by the router; this page goes out plain
        return await self.http.download_request(request)

    async def close(self) -> None:
        await self.router.close()
        await self.http.close()
