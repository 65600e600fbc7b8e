"""Stopping a crawl promptly, and saying so: Ctrl-C, SIGTERM (scrapyd's cancel), max_articles.

Scrapy's graceful stop waits for every request the engine has already handed to the
downloader. The engine hands over up to ``CONCURRENT_REQUESTS`` (256) of them, and with one
polite host they wait in its download slot to be sent a ``DOWNLOAD_DELAY`` apart: after
Ctrl-C the crawl went on fetching for minutes, without a word, then exited 0.

When the crawl is asked to stop, ``PromptStop`` says how many requests are on the wire and
how many wait, and takes the waiting ones out of the download slots. They were never sent,
so nothing of them is lost: with ``JOBDIR`` they go back into the saved queue for the
resumed run, without it the next (incremental) crawl finds them again. Requests on the wire
finish (within ``DOWNLOAD_TIMEOUT``) and are archived. The signal is kept in the stats
(``crawl/signal``) for the exit status: 128 + its number (130 for Ctrl-C, 143 for SIGTERM),
as a shell reports a process a signal ended (crawler/commands/crawl.py).

The download slots (``engine.downloader.slots``, each with its ``queue`` and ``transferring``)
are the ones Scrapy's own AutoThrottle adjusts.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from typing import Any

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.job import job_dir
from scrapy.utils.reactor import is_reactor_installed
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from crawler.schedule.fleet import as_new_unit

logger = logging.getLogger(__name__)

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequested(IgnoreRequest):
    """A request taken out of its download slot, unsent, because the crawl is stopping."""


def in_flight(crawler: Crawler) -> tuple[int, int]:
    """(requests on the wire, requests waiting in the download slots)."""
    slots = list(crawler.engine.downloader.slots.values()) if crawler.engine else []
    return sum(len(slot.transferring) for slot in slots), sum(len(slot.queue) for slot in slots)


def drop_waiting(crawler: Crawler, reason: str) -> int:
    """Take every request waiting in a download slot out, unsent; with JOBDIR, put it back
    into the saved queue first. Call once the engine is closing (it pulls no more)."""
    keep = bool(job_dir(crawler.settings))
    fleet = getattr(crawler.spider, "fleet", None)
    if fleet is not None:
        fleet.stopping(reason)  # a site whose last requests are dropped here did not finish
    dropped = 0
    for slot in list(crawler.engine.downloader.slots.values()):
        while slot.queue:
            entry = slot.queue.popleft()
            request, waiting = entry if isinstance(entry, tuple) and len(entry) == 2 else (None, None)
            if not isinstance(request, Request) or not isinstance(waiting, Deferred):
                slot.queue.appendleft(entry)  # not what this Scrapy version queues: leave it be
                break
            if keep:
                crawler.engine.crawl(as_new_unit(request.replace(dont_filter=True)))
            waiting.errback(Failure(StopRequested(f"not sent, the crawl is stopping: {request.url}")))
            dropped += 1
    if dropped:
        crawler.stats.inc_value("stop/unsent", dropped)
    return dropped


def stop(crawler: Crawler, reason: str) -> None:
    """Close the spider with ``reason``, without sending what still waits to be sent."""
    deferred_from_coro(crawler.engine.close_spider_async(reason=reason))  # the engine stops pulling requests
    drop_waiting(crawler, reason)


class PromptStop:
    """Wraps the process's SIGINT/SIGTERM handlers (Scrapy's graceful shutdown) once the
    engine runs: a word on what is in flight, and the waiting requests dropped."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.previous: dict[int, Callable[..., Any]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PromptStop:
        extension = cls(crawler)
        crawler.signals.connect(extension.engine_started, signal=signals.engine_started)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def engine_started(self) -> None:
        for signum in SIGNALS:
            handler = signal.getsignal(signum)
            if callable(handler) and handler is not signal.default_int_handler:  # Scrapy's shutdown handler
                self.previous[signum] = handler
                signal.signal(signum, self._received)

    def spider_closed(self, spider: Spider) -> None:
        for signum, handler in self.previous.items():
            if signal.getsignal(signum) == self._received:
                signal.signal(signum, handler)

    def _received(self, signum: int, frame: Any) -> None:
        previous = self.previous[signum]
        # Scrapy's handler asks the event loop to stop the crawl and puts its own handler for
        # a second signal in place (stop at once); the words and the drop come right after.
        previous(signum, frame)
        if is_reactor_installed():
            from twisted.internet import reactor

            reactor.callFromThread(self._stopping, signum)
        else:
            asyncio.get_event_loop().call_soon_threadsafe(self._stopping, signum)

    def _stopping(self, signum: int) -> None:
        stats = self.crawler.stats
        if stats.get_value("crawl/signal") is None:
            stats.set_value("crawl/signal", signum)
        if self.crawler.engine is None:
            return
        wire, waiting = in_flight(self.crawler)
        name = signal.Signals(signum).name
        kept = "kept in JOBDIR for the resumed run" if job_dir(self.crawler.settings) else "left for the next crawl"
        logger.warning("%s: stopping; %d request(s) on the wire finish and are archived, %d waiting are not sent "
                       "(%s). %s again stops at once.", name, wire, waiting, kept, name)
        # Scrapy's own stop may not have begun closing yet: begin it here, so that nothing
        # put back into the queue (JOBDIR) is pulled into the downloader again.
        stop(self.crawler, "shutdown")
