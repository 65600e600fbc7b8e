"""All the CPU work one page needs (parse, links, classification, extraction), in one place
that can run in worker processes so the reactor thread only fetches and archives.

On loopback a crawl is CPU-bound in the reactor thread. Handing a worker the page bytes
and getting back its links and article moves every HTML parse off that thread, which the
2-core benchmark shows pays off only when *all* of it moves: a worker that re-parses
a page the reactor already parsed for its links only adds work. ``PAGE_WORKERS``
sets the number of worker processes; 0 runs everything inline.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import cache

from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.utils.reactor import is_asyncio_reactor_installed

from archive.challenges import challenge_kind
from crawler.extract import extract_article
from crawler.items import ArticleItem
from crawler.discover.links import link_extractor, outgoing_urls
from crawler.page import parse_page
from crawler.pagekind import ARTICLE, page_kind
from crawler.profiles import SiteProfile

logger = logging.getLogger(__name__)


@dataclass
class PageResult:
    """What the spider needs from one HTML page."""

    links: list[str]
    kind: str
    item: ArticleItem | None


@cache
def _extractor(deny: tuple[str, ...]) -> LinkExtractor:
    return link_extractor(list(deny))


def process_page(response: TextResponse, profile: SiteProfile) -> PageResult:
    """Links, page kind and (for articles) the item, from one parse of the page.

    Challenge pages (archived and flagged by the writer) are neither followed nor extracted.
    """
    if challenge_kind(response.status, response.body):
        return PageResult([], "challenge", None)
    links = outgoing_urls(response, _extractor(tuple(profile.deny_patterns)), profile.allowed_hosts)
    page = parse_page(response)
    kind = page_kind(page, profile)
    return PageResult(links, kind, extract_article(page, profile=profile, kind=kind) if kind == ARTICLE else None)


def process_bytes(url: str, body: bytes, content_type: bytes, profile: SiteProfile, status: int = 200) -> PageResult:
    """``process_page`` for a worker process, which gets bytes rather than a Response."""
    response = HtmlResponse(url, status=status, body=body,
                            headers={"Content-Type": content_type} if content_type else None)
    return process_page(response, profile)


class PageProcessor:
    """A lazily started process pool, with an inline path when there is none."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    async def run(self, response: TextResponse, profile: SiteProfile) -> PageResult:
        if self.workers > 0 and not is_asyncio_reactor_installed():
            # Awaiting a worker needs the asyncio reactor (Scrapy's default); else run inline.
            self.workers = 0
        if self.workers <= 0:
            return process_page(response, profile)
        if self._pool is None:
            # spawn, not fork: the crawl process already runs the reactor and writer threads.
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
        content_type = response.headers.get("Content-Type", b"")
        try:
            future = self._pool.submit(process_bytes, response.url, response.body, content_type, profile,
                                       response.status)
            return await asyncio.wrap_future(future)
        except BrokenProcessPool:
            logger.error("a page worker died (on %s?); restarting the pool", response.url)
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            return process_page(response, profile)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def is_html(response: Response) -> bool:
    content_type = response.headers.get("Content-Type", b"").lower()
    if content_type:
        return content_type.startswith((b"text/html", b"application/xhtml"))
    return isinstance(response, TextResponse) and b"<html" in response.body[:2048].lower()
