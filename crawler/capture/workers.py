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
import os
import re
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.utils.reactor import is_asyncio_reactor_installed

from archive.challenges import challenge_kind
from archive.processes import die_with_parent
from crawler import settings as defaults
from crawler.capture.requisites import Requisite, page_requisites
from crawler.discover.links import Discovery, discover_page, link_extractor
from crawler.extract import extract_article
from crawler.extract.items import ArticleItem
from crawler.extract.page import parse_page
from crawler.extract.pagekind import ARTICLE, page_kind
from crawler.fetch.browser.shell import is_script_shell
from crawler.spiders.profiles import SiteProfile

logger = logging.getLogger(__name__)


@dataclass
class PageResult:
    """What the spider needs from one HTML page."""

    links: list[str]
    kind: str
    item: ArticleItem | None
    # What the page embeds (stylesheets, scripts, images; article images marked).
    requisites: list[Requisite] = field(default_factory=list)
    # What the CMS family mechanisms found (crawler/discover/): script pager pages of a
    # listing (none on an article), endpoints to page through, the family ...
    found: Discovery = field(default_factory=Discovery)
    # ... and an article's continuation pages (t20200115_123_1.html).
    continuations: list[str] = field(default_factory=list)
    # A script shell: scripts, not markup, hold its content (crawler/fetch/browser/shell.py).
    shell: bool = False


# A page named like a listing (index.html, list_2.shtml) is never an article's first page:
# its script pager pages are more listing pages, not continuations.
_LISTING_NAME = re.compile(r"/(?:index|list|default)(?:_\d+)?\.\w+$|/$", re.I)


@cache
def _extractor(deny: tuple[str, ...]) -> LinkExtractor:
    return link_extractor(list(deny))


def process_page(response: TextResponse, profile: SiteProfile, as_article: bool = False,
                 recognise: bool = True, max_pager_pages: int = defaults.DISCOVER_MAX_PAGER_PAGES) -> PageResult:
    """Links, page kind and (for articles) the item, from one parse of the page.

    Challenge pages (archived and flagged by the writer) are neither followed nor extracted.
    ``as_article`` extracts the page whatever its kind (an article's continuation page).
    """
    if challenge_kind(response.status, response.body, response.headers.getlist(b"Set-Cookie")):
        return PageResult([], "challenge", None)
    found = discover_page(response, _extractor(tuple(profile.deny_patterns)), profile.allowed_hosts,
                          recognise_family=recognise, max_pager_pages=max_pager_pages)
    page = parse_page(response)
    kind = page_kind(page, profile.article_patterns, profile.listing_patterns)
    article = kind == ARTICLE and not _LISTING_NAME.search(response.url)
    continuations = [url for url in found.pages if url != response.url] if article else []
    links = [url for url in found.links if url not in continuations]
    item = extract_article(page, kind=kind) if kind == ARTICLE or as_article else None
    if article:
        found.pages = []
    requisites = page_requisites(page.root, response.url, item.images if item else ())
    followable = len(links) + len(found.pages) + len(found.endpoints) + found.records
    shell = kind != ARTICLE and is_script_shell(page.text, page.root, followable)
    return PageResult(links, kind, item, requisites, found, continuations, shell)


def process_bytes(url: str, body: bytes, content_type: bytes, profile: SiteProfile, status: int = 200,
                  as_article: bool = False, set_cookies: list[bytes] | None = None,
                  recognise: bool = True, max_pager_pages: int = defaults.DISCOVER_MAX_PAGER_PAGES) -> PageResult:
    """``process_page`` for a worker process, which gets bytes rather than a Response."""
    headers: dict[str, Any] = {"Content-Type": content_type} if content_type else {}
    if set_cookies:
        headers["Set-Cookie"] = set_cookies
    response = HtmlResponse(url, status=status, body=body, headers=headers or None)
    return process_page(response, profile, as_article, recognise, max_pager_pages)


class PageProcessor:
    """A lazily started process pool, with an inline path when there is none."""

    def __init__(self, workers: int, max_pager_pages: int = defaults.DISCOVER_MAX_PAGER_PAGES) -> None:
        self.workers = workers
        self.max_pager_pages = max_pager_pages
        self._pool: ProcessPoolExecutor | None = None

    async def run(self, response: TextResponse, profile: SiteProfile, as_article: bool = False,
                  recognise: bool = True) -> PageResult:
        if self.workers > 0 and not is_asyncio_reactor_installed():
            # Awaiting a worker needs the asyncio reactor (Scrapy's default); else run inline.
            self.workers = 0
        if self.workers <= 0:
            return process_page(response, profile, as_article, recognise, self.max_pager_pages)
        if self._pool is None:
            # spawn, not fork: the crawl process already runs the reactor and writer threads.
            # Started from the reactor thread, which lives as long as the crawl process: the
            # death signal follows the thread that started the worker.
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=die_with_parent, initargs=(os.getpid(),))
        content_type = response.headers.get("Content-Type", b"")
        try:
            future = self._pool.submit(process_bytes, response.url, response.body, content_type, profile,
                                       response.status, as_article, response.headers.getlist(b"Set-Cookie"),
                                       recognise, self.max_pager_pages)
            return await asyncio.wrap_future(future)
        except BrokenProcessPool:
            logger.error("a page worker died (on %s?); restarting the pool", response.url)
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            return process_page(response, profile, as_article, recognise, self.max_pager_pages)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def is_html(response: Response) -> bool:
    content_type = response.headers.get("Content-Type", b"").lower()
    if content_type:
        return content_type.startswith((b"text/html", b"application/xhtml"))
    return isinstance(response, TextResponse) and b"<html" in response.body[:2048].lower()
