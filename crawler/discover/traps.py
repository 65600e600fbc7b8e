"""Bound the crawl against crawler traps, with limits set in settings (see settings.py).

Portals generate endless URL spaces: calendars that always link the next month, relative
links that nest a path forever (``more/more/more/``), session ids that make every URL new.
The rules follow Heritrix (PathologicalPath, max path depth, max URI length) and Zeno
(segment repetition), plus a shape rule: a chain of links between URLs that differ only in
their digits is cut after TRAP_MAX_SAME_SHAPE_HOPS hops.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response

logger = logging.getLogger(__name__)

_DIGITS = re.compile(r"\d+")


def url_shape(url: str) -> str:
    """The URL with every run of digits masked: /cal/2020-01.html -> /cal/#-#.html."""
    parts = urlsplit(url)
    return _DIGITS.sub("#", f"{parts.netloc}{parts.path}?{parts.query}")


def trap_reason(url: str, max_length: int, max_segments: int, max_repeats: int) -> str | None:
    """Why ``url`` looks like a trap by its form alone, or None."""
    if len(url) > max_length:
        return "url_too_long"
    segments = [segment for segment in urlsplit(url).path.split("/") if segment]
    if len(segments) > max_segments:
        return "path_too_deep"
    if segments and max(Counter(segments).values()) > max_repeats:
        return "repeated_segment"
    return None


class TrapGuardMiddleware:
    """Spider middleware that drops trap requests, counting each rule in the crawl stats."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.stats = crawler.stats
        self.max_length = settings.getint("TRAP_MAX_URL_LENGTH")
        self.max_segments = settings.getint("TRAP_MAX_PATH_SEGMENTS")
        self.max_repeats = settings.getint("TRAP_MAX_SEGMENT_REPEATS")
        self.max_shape_hops = settings.getint("TRAP_MAX_SAME_SHAPE_HOPS")
        self._logged: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> TrapGuardMiddleware:
        return cls(crawler)

    def process_spider_output(self, response: Response, result: Iterable) -> Iterator:
        shape = url_shape(response.url)
        for entry in result:
            if not isinstance(entry, Request) or self._allowed(response, shape, entry):
                yield entry
            elif (article := self._held(entry)) is not None:
                yield article

    async def process_spider_output_async(self, response: Response, result: AsyncIterator) -> AsyncIterator:
        shape = url_shape(response.url)
        async for entry in result:
            if not isinstance(entry, Request) or self._allowed(response, shape, entry):
                yield entry
            elif (article := self._held(entry)) is not None:
                yield article

    def _held(self, request: Request) -> object | None:
        """The article a dropped continuation page was to complete: it goes on as read so far
        (crawler/discover/spider.py), or it would be lost with the request."""
        article = request.meta.get("article")
        if article is not None and self.stats is not None:
            self.stats.inc_value("discover/continuation_dropped")
        return article

    def _allowed(self, response: Response, shape: str, request: Request) -> bool:
        """``shape`` is the response URL's, computed once for all the links of a page."""
        reason = trap_reason(request.url, self.max_length, self.max_segments, self.max_repeats)
        if reason is None:
            same_shape = url_shape(request.url) == shape
            hops = response.meta.get("shape_hops", 0) + 1 if same_shape else 0
            if hops > self.max_shape_hops:
                reason = "same_shape_chain"
            else:
                request.meta["shape_hops"] = hops
        if reason is None:
            return True
        if self.stats is not None:
            self.stats.inc_value(f"trap/{reason}")
        level = logging.INFO if reason not in self._logged else logging.DEBUG
        self._logged.add(reason)
        logger.log(level, "crawler trap (%s), not following %s (further drops logged at DEBUG)", reason, request.url)
        return False
