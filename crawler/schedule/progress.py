"""Where a long crawl is: pages, articles, errors, sites done and left, and the rate.

Every ``PROGRESS_INTERVAL`` seconds one log line; when stderr is a terminal (and
``PROGRESS_LIVE`` is on), also a live status line at the bottom of the screen, drawn with
``rich`` when it is installed (imported only then) or a plain carriage-return line
otherwise. Log lines keep scrolling above the live line.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import create_looping_call

logger = logging.getLogger(__name__)


@dataclass
class Snapshot:
    pages: int
    articles: int
    errors: int
    sites_done: int
    sites: int
    elapsed: float
    rate: float  # pages/s since the previous snapshot
    rss_mib: float | None = None  # this process (the crawl's own memory, workers apart)

    def line(self) -> str:
        sites = f"; sites {self.sites_done} done, {self.sites - self.sites_done} left" if self.sites > 1 else ""
        minutes, seconds = divmod(int(self.elapsed), 60)
        rss = f"; RSS {self.rss_mib:.0f} MiB" if self.rss_mib is not None else ""
        return (f"{self.pages} pages ({self.rate:.1f}/s), {self.articles} articles, {self.errors} errors"
                f"{sites}; {minutes // 60}:{minutes % 60:02d}:{seconds:02d} elapsed{rss}")


def snapshot(stats: dict[str, Any], spider: Spider | None, elapsed: float, rate: float) -> Snapshot:
    fleet = getattr(spider, "fleet", None)
    sites = list(fleet.sites.values()) if fleet is not None else []
    errors = sum(state.errors for state in sites) if sites else stats.get("retry/max_reached", 0)
    return Snapshot(
        pages=stats.get("response_received_count", 0),
        articles=stats.get("item_scraped_count", 0),
        errors=errors,
        sites_done=sum(1 for state in sites if state.stopped is not None),
        sites=len(sites),
        elapsed=elapsed,
        rate=rate,
        rss_mib=rss_mib(),
    )


def rss_mib() -> float | None:
    """Resident memory of this process now (Linux), to see whether a long crawl stays flat."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return None


class _PlainLine:
    """A status line redrawn in place with a carriage return (no rich installed)."""

    def __init__(self) -> None:
        self.stream = sys.stderr

    def update(self, text: str) -> None:
        self.stream.write("\r\x1b[2K" + text)
        self.stream.flush()

    def stop(self) -> None:
        self.stream.write("\r\x1b[2K")
        self.stream.flush()


class _RichLine:
    """rich's Live display; log handlers writing to stderr are pointed at its console so
    their lines scroll above the status line."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.live import Live
        from rich.text import Text

        self._text = Text
        self._original = sys.stderr
        self.live = Live(Text(""), console=Console(stderr=True), redirect_stderr=True, transient=True,
                         auto_refresh=False)
        self.live.start()
        self._handlers = [handler for handler in logging.getLogger().handlers
                          if isinstance(handler, logging.StreamHandler) and handler.stream is self._original]
        for handler in self._handlers:
            handler.setStream(sys.stderr)

    def update(self, text: str) -> None:
        self.live.update(self._text(text, style="bold"), refresh=True)

    def stop(self) -> None:
        self.live.stop()
        for handler in self._handlers:
            handler.setStream(self._original)


def live_line() -> _PlainLine | _RichLine:
    try:
        return _RichLine()
    except ImportError:
        return _PlainLine()


class ProgressExtension:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.interval = settings.getfloat("PROGRESS_INTERVAL")
        self.live_enabled = settings.getbool("PROGRESS_LIVE") and sys.stderr.isatty()
        if self.interval <= 0 and not self.live_enabled:
            raise NotConfigured
        self.crawler = crawler
        self.started = time.monotonic()
        self._last = (self.started, 0)
        self._log_due = self.started + self.interval
        self._loop = None
        self._line: _PlainLine | _RichLine | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProgressExtension:
        extension = cls(crawler)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self, spider: Spider) -> None:
        self.started = time.monotonic()
        self._last = (self.started, 0)
        self._log_due = self.started + self.interval
        if self.live_enabled:
            self._line = live_line()
        tick = 1.0 if self.live_enabled else self.interval
        if self.interval > 0:
            tick = min(tick, self.interval)
        self._loop = create_looping_call(self.tick)
        self._loop.start(tick, now=False)

    def tick(self) -> None:
        now = time.monotonic()
        stats = self.crawler.stats.get_stats()
        pages = stats.get("response_received_count", 0)
        if self._line is not None:
            last_time, last_pages = self._last
            rate = (pages - last_pages) / (now - last_time) if now > last_time else 0.0
            self._line.update(snapshot(stats, self.crawler.spider, now - self.started, rate).line())
        if self.interval > 0 and now >= self._log_due:
            last_time, last_pages = self._last
            rate = (pages - last_pages) / (now - last_time) if now > last_time else 0.0
            logger.info("progress: %s", snapshot(stats, self.crawler.spider, now - self.started, rate).line())
            self._last = (now, pages)
            self._log_due = now + self.interval

    def spider_closed(self, spider: Spider) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        if self._line is not None:
            self._line.stop()
            self._line = None
