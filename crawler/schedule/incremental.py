"""Incremental re-crawls: fetch only what is new, ask servers whether the rest changed.

On by default when the archive already holds an index (``INCREMENTAL``): known articles
and documents are not requested again (``-a refresh=1`` re-fetches articles), other known
pages go out as conditional GETs (If-None-Match / If-Modified-Since from their last
capture), and a 304 is answered from the archived copy so its links are still followed.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response

from archive.history import History
from crawler.discover.traps import url_shape


def pagination_key(url: str) -> str:
    """URLs of one paginated listing share it: /a/index.html, /a/index_3.html, /a/list?page=2."""
    return url_shape(url).replace("_#", "").replace("-#", "").replace("=#", "=")


def next_in_sequence(url: str, pages: list[str]) -> list[str]:
    """The script pager page after ``url`` in the pager's order, as a list of at most one; the
    first page when ``url`` is not among them (a channel's directory URL, ``/news/``)."""
    try:
        position = pages.index(url)
    except ValueError:
        return pages[:1]
    return pages[position + 1:position + 2]


class IncrementalMiddleware:
    """Downloader middleware: skip known articles, make conditional requests for known pages."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IncrementalMiddleware:
        return cls(crawler)

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        spider = self.crawler.spider
        # Each site of a multi-portal crawl has its own history (crawler/schedule/fleet.py).
        history_for = getattr(spider, "history_for", None)
        history: History | None = history_for(request) if history_for else getattr(spider, "history", None)
        if not history or urlsplit(request.url).path == "/robots.txt" or request.meta.get("incremental_checked"):
            return
        request.meta["incremental_checked"] = True
        url = request.url
        recheck = request.meta.get("revisit")  # a known article re-checked (crawler/schedule/revisit.py)
        # A page requisite (issue 9) is asked again, conditionally: unchanged, it becomes a revisit.
        requisite = request.meta.get("requisite") is not None
        # A listing endpoint's JSON/XML page is a listing, not a document: it is asked again.
        listing = "endpoint" in request.meta
        if not requisite and ((url in history.documents and not listing) or (
                url in history.known_articles and not getattr(spider, "refresh", False) and not recheck)):
            self.stats.inc_value("incremental/skipped_known")
            raise IgnoreRequest(f"already archived: {url}")
        if request.method != "GET" or request.meta.get("unconditional"):
            # Validators are kept per URL, and a POST's answer depends on its body too; a
            # re-check of an article found gone by a 404 asks in full (crawler/schedule/revisit.py).
            return
        etag, modified = history.validators.get(url, (None, None))
        if etag:
            request.headers.setdefault("If-None-Match", etag)
        if modified:
            request.headers.setdefault("If-Modified-Since", modified)
        if etag or modified:
            request.meta.setdefault("handle_httpstatus_list", [304])
            self.stats.inc_value("incremental/conditional_requests")


def archived_response(history: History, response: Response) -> HtmlResponse | None:
    """The page a 304 says is unchanged, rebuilt from its last archived payload."""
    payload = history.payload(response.url)
    if payload is None:
        return None
    headers = {"Content-Type": payload.content_type} if payload.content_type else None
    return HtmlResponse(response.url, body=payload.body, headers=headers, request=response.request)
