"""The browser's network is the crawl's downloader: every request a page makes is routed
(Playwright's ``route``, the DevTools Fetch domain) to a Scrapy request, and the browser gets
Scrapy's answer.

Why not let Chromium fetch and record what it saw? Because then its requests would skip
everything the crawl promises: the archive would hold browser-decoded bodies (Browsertrix's
compromise) instead of the bytes as sent, and robots.txt, DOWNLOAD_DELAY, the per-host
connection limit, retries with backoff, hit-counter blocking and the request counts would not
apply. Routed through the downloader, a browser's request is one more crawl request: the
capture hook archives it like any other (content-encoding kept), marked as the browser's
(``meta["browser_sub"]``).

What a page may fetch: any URL in its portal's scope, and static resources (scripts,
stylesheets, images, fonts) also from ``REQUISITES_HOSTS`` (CDN and static hosts); image and
stylesheet fetching follows the ``REQUISITES_IMAGES`` / ``REQUISITES_STYLESHEETS`` switches.
Hit counters and anything else are refused (the page sees a network error), so no tracker
delays a page. A static resource already fetched in this crawl is answered from a small
memory cache, as a browser's cache would (routing turns Chromium's own cache off).

Redirects: Chromium does not route the request a fulfilled redirect leads to, so the main
frame's redirects are handed to the browser as a tiny page that navigates on (routed again),
and a sub-resource's redirects are followed by Scrapy (each hop archived).
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from scrapy.http import Response

logger = logging.getLogger(__name__)

# Playwright resource types -> the requisite kind whose switch governs them.
STATIC_KINDS = {"stylesheet": "stylesheet", "font": "stylesheet", "image": "image", "media": "image",
                "script": "script"}
# Headers the browser gets without: the body it gets is decoded and whole.
_DROPPED = {"content-encoding", "content-length", "transfer-encoding", "connection", "keep-alive"}
CACHE_BYTES = 32 * 1024 * 1024  # the static-resource cache, for the whole crawl
CACHE_MAX_ENTRY = 4 * 1024 * 1024
MAX_REQUESTS_PER_PAGE = 500  # a page polling forever is cut off here (and by the page timeout)


@dataclass(frozen=True)
class SubRequest:
    """A request the browser made, as the route handler saw it."""

    url: str
    method: str
    headers: list[tuple[str, str]]
    body: bytes
    resource_type: str
    main_frame: bool  # a navigation of the page's main frame (a document the page *is*)


@dataclass
class Document:
    """A main-frame document the page received: the Scrapy response, as archived."""

    response: Response
    record_id: str | None
    html: bool


class StaticCache:
    """Static resources already fetched this crawl, least recently used first out."""

    def __init__(self, limit: int = CACHE_BYTES) -> None:
        self.limit = limit
        self.size = 0
        self._entries: OrderedDict[str, tuple[int, dict[str, str], bytes]] = OrderedDict()

    def get(self, url: str) -> tuple[int, dict[str, str], bytes] | None:
        entry = self._entries.get(url)
        if entry is not None:
            self._entries.move_to_end(url)
        return entry

    def put(self, url: str, status: int, headers: dict[str, str], body: bytes) -> None:
        if len(body) > CACHE_MAX_ENTRY or url in self._entries:
            return
        self._entries[url] = (status, headers, body)
        self.size += len(body)
        while self.size > self.limit and self._entries:
            _, (_, _, old) = self._entries.popitem(last=False)
            self.size -= len(old)


def browser_headers(response: Response) -> dict[str, str]:
    """Scrapy's response headers as ``route.fulfill`` takes them (Set-Cookie lines joined by
    newlines, which Playwright splits again; other repeated headers by commas)."""
    out: dict[str, str] = {}
    for key, values in response.headers.items():
        name = key.decode("latin-1")
        if name.lower() in _DROPPED:
            continue
        texts = [value.decode("latin-1") for value in values]
        out[name] = ("\n" if name.lower() == "set-cookie" else ", ").join(texts)
    return out


def redirect_page(target: str) -> bytes:
    """A page that sends the browser on to ``target`` (a routed navigation, unlike a redirect)."""
    return (f"<!DOCTYPE html><script>location.replace({json.dumps(target)})</script>").encode()


Fetch = Callable[[SubRequest], Awaitable[Response]]
Allow = Callable[[SubRequest], str | None]


@dataclass
class PageTraffic:
    """One page's requests: routed to ``fetch``, counted, and watched for quiet.

    ``allow`` says why a request may not go out (None: it may); ``fetch`` downloads it with
    Scrapy. ``documents`` are the main-frame documents in order; the last is what the page is.
    """

    fetch: Fetch
    allow: Allow
    cache: StaticCache
    is_html: Callable[[Response], bool]
    documents: list[Document] = field(default_factory=list)
    in_flight: int = 0
    last_activity: float = field(default_factory=time.monotonic)
    requests: int = 0
    cached: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    # A main-frame answer that is not HTML (a PDF, robots.txt, JSON): the page ends there.
    final: bool = False
    # Why the main document could not be fetched (a network error, robots.txt ...).
    failure: str | None = None

    def quiet_for(self, seconds: float) -> bool:
        return self.in_flight == 0 and time.monotonic() - self.last_activity >= seconds

    async def handle(self, route: Any) -> None:
        """Playwright route handler: every request is fulfilled or aborted, whatever happens."""
        self.in_flight += 1
        self.last_activity = time.monotonic()
        try:
            await self._answer(route)
        except Exception as exc:  # noqa: BLE001 - a closed page, a dead browser: the route is moot
            logger.debug("browser request %s not answered: %s", route.request.url, exc)
            await _quietly(route.abort("failed"))
        finally:
            self.in_flight -= 1
            self.last_activity = time.monotonic()

    async def _answer(self, route: Any) -> None:
        request = route.request
        sub = SubRequest(request.url, request.method, [(h["name"], h["value"]) for h in await request.headers_array()],
                         request.post_data_buffer or b"", request.resource_type, _main_frame(request))
        main = sub.main_frame
        why = "too many requests" if self.requests >= MAX_REQUESTS_PER_PAGE else self.allow(sub)
        if why is not None:
            self.refused[why] = self.refused.get(why, 0) + 1
            if main:
                self.failure = f"not requested: {why}"
            await route.abort("blockedbyclient")
            return
        static = sub.method == "GET" and sub.resource_type in STATIC_KINDS
        if static and (hit := self.cache.get(sub.url)) is not None:
            self.cached += 1
            status, headers, body = hit
            await route.fulfill(status=status, headers=headers, body=body)
            return
        self.requests += 1
        try:
            response = await self.fetch(sub)
        except Exception as exc:
            if main:
                self.failure = f"{type(exc).__name__}: {exc}"
            raise
        headers = browser_headers(response)
        if main:
            document = Document(response, response.meta.get("warc_record_id"), self.is_html(response))
            self.documents.append(document)
            location = response.headers.get("Location")
            if 300 <= response.status < 400 and location:
                target = urljoin(response.url, location.decode("latin-1"))
                await route.fulfill(status=200, headers={"Content-Type": "text/html"}, body=redirect_page(target))
                return
            if not document.html:
                self.final = True
                await route.abort("aborted")
                return
        elif static and response.status == 200:
            self.cache.put(sub.url, response.status, headers, response.body)
        await route.fulfill(status=response.status, headers=headers, body=response.body)


def _main_frame(request: Any) -> bool:
    """Is this request a navigation of its page's main frame (not an iframe, not a worker)?"""
    if not request.is_navigation_request():
        return False
    try:
        return request.frame.parent_frame is None
    except Exception:  # noqa: BLE001 - a worker's request has no frame
        return False


async def _quietly(awaitable: Awaitable[Any]) -> None:
    try:
        await awaitable
    except Exception:  # noqa: BLE001 - the route was already handled, or its page is gone
        pass
