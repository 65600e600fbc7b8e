"""Classify and extract pages in worker processes, so the reactor thread only fetches.

A crawl on loopback is CPU-bound in the reactor thread (parsing, link extraction, capture);
article extraction is the largest piece of CPU work left, and it needs nothing from the
crawl but the page bytes. ``EXTRACT_WORKERS`` processes take it; the default 0 runs it
inline, which is faster on a 2-core machine (the worker re-parses each page and competes
with the reactor and the archive writer for the same two cores).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from scrapy.http import Response
from scrapy.utils.reactor import is_asyncio_reactor_installed

from crawler.extract import extract_article
from crawler.items import ArticleItem
from crawler.page import parse_page
from crawler.pagekind import ARTICLE, page_kind
from crawler.profiles import SiteProfile

logger = logging.getLogger(__name__)

Outcome = tuple[str, ArticleItem | None]


def classify_and_extract(page: Response | bytes, url: str, content_type: str | None,
                         profile: SiteProfile | None) -> Outcome:
    """(page kind, article item or None) for one page; runs in a worker or inline."""
    parsed = parse_page(page, url, {"Content-Type": content_type} if content_type else None)
    kind = page_kind(parsed, profile)
    return kind, (extract_article(parsed, profile=profile, kind=kind) if kind == ARTICLE else None)


class Extractor:
    """A lazily started process pool, with an inline fallback when there is none."""

    def __init__(self, workers: int) -> None:
        # Awaiting a worker needs the asyncio reactor (Scrapy's default); otherwise run inline.
        self.workers = workers if is_asyncio_reactor_installed() else 0
        self._pool: ProcessPoolExecutor | None = None

    async def run(self, response: Response, profile: SiteProfile | None) -> Outcome:
        content_type = response.headers.get("Content-Type", b"").decode("latin-1") or None
        if self.workers <= 0:
            return classify_and_extract(response, response.url, content_type, profile)
        if self._pool is None:
            # spawn, not fork: the crawl process already runs the reactor and writer threads.
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
        try:
            future = self._pool.submit(classify_and_extract, response.body, response.url, content_type, profile)
            return await asyncio.wrap_future(future)
        except BrokenProcessPool:
            logger.error("an extraction worker died (on %s?); restarting the pool", response.url)
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            return classify_and_extract(response, response.url, content_type, profile)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
