"""Retries that back off per host, as government servers under load need.

Scrapy's RetryMiddleware retries 5xx, 429 and timeouts at once; a struggling server then
gets hit again within milliseconds. This one waits ``RETRY_BACKOFF_BASE * 2**(n-1)``
seconds before the n-th retry (at most ``RETRY_BACKOFF_MAX``), or what ``Retry-After``
asks for, without holding anything while it waits:

- the retry is handed back to the scheduler only when its time has come (a reactor timer),
  so no global concurrency slot is held meanwhile and the other hosts go on (requests a
  component fetches directly, such as robots.txt, wait in the slowed slot instead);
- the host's download slot is slowed to the same delay, so the struggling host gets no
  other request in between either; each good answer from it halves that delay again,
  down to where it was (AutoThrottle, when on, keeps adjusting it as usual).

Two kinds of request get their own rules (flags set by crawler/schedule/fleet.py and crawler/fetch/hosts.py
in the request's meta before this middleware sees the failure):

- a portal's page while the portal is in an outage (``UNTIL_ANSWERED``) is retried, with the
  same growing backoff, however many times it takes, until the portal answers again or is
  given up (``SITE_GIVE_UP_AFTER``): an outage loses no page;
- a best-effort request (``BEST_EFFORT``: page requisites, third-party robots.txt) has its
  own budget (``max_retry_times`` in its meta), and its retries and failures are counted
  under ``requisite_retry/*``, not ``retry/*``: they are never part of the crawl's error rate.

Every attempt is archived all the same: the capture hook sees each response.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from time import monotonic

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware, get_retry_request
from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.http import Response
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.asyncio import CallLaterResult, call_later
from scrapy.utils.response import response_status_message

from crawler.fetch.hosts import BEST_EFFORT, UNTIL_ANSWERED

logger = logging.getLogger(__name__)


class RetryLater(IgnoreRequest):
    """The request's retry was put off; its callback and errback will see the retry instead."""


def retry_after(response: Response | None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date)."""
    if response is None:
        return None
    value = (response.headers.get("Retry-After") or b"").decode("latin-1").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


class BackoffRetryMiddleware(RetryMiddleware):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler.settings)
        self.crawler = crawler
        self.base = crawler.settings.getfloat("RETRY_BACKOFF_BASE")
        self.ceiling = crawler.settings.getfloat("RETRY_BACKOFF_MAX")
        # retries waiting for their time, by a counter
        self._timers: dict[int, CallLaterResult] = {}
        self._next = 0
        # download slot -> its delay before this middleware slowed it
        self._slowed: dict[str, float] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetryMiddleware:
        middleware = cls(crawler)
        crawler.signals.connect(middleware.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def delay(self, retry: Request, response: Response | None = None) -> float:
        wanted = retry_after(response)
        if wanted is None:
            wanted = self.base * 2 ** (retry.meta.get("retry_times", 1) - 1)
        return min(wanted, self.ceiling)

    def process_response(self, request: Request, response: Response, spider: Spider | None = None):
        retry = None
        if response.status in self.retry_http_codes and not request.meta.get("dont_retry", False):
            retry = self._retry_request(request, response_status_message(response.status))
        if retry is None:
            self._recover(request)
            return response
        return self._later(retry, request, response)

    def process_exception(self, request: Request, exception: Exception, spider: Spider | None = None):
        if not isinstance(exception, self.exceptions_to_retry) or request.meta.get("dont_retry", False):
            return None
        retry = self._retry_request(request, exception)
        return self._later(retry, request) if retry is not None else None

    def _retry_request(self, request: Request, reason: str | Exception) -> Request | None:
        """The retry (Scrapy's ``get_retry_request``), or None when the budget is spent."""
        limit = request.meta.get("max_retry_times", self.max_retry_times)
        if request.meta.get(UNTIL_ANSWERED):
            limit = max(limit, request.meta.get("retry_times", 0) + 1)
            self.crawler.stats.inc_value("retry/outage")
        best_effort = bool(request.meta.get(BEST_EFFORT))
        quiet = logging.DEBUG if best_effort else self.give_up_log_level  # its failure is logged by its host
        return get_retry_request(
            request, spider=self.crawler.spider, reason=reason, max_retry_times=limit,
            priority_adjust=request.meta.get("priority_adjust", self.priority_adjust),
            give_up_log_level=request.meta.get("give_up_log_level", quiet),
            stats_base_key="requisite_retry" if best_effort else "retry",
        )

    def _later(self, outcome: Request, request: Request, response: Response | None = None):
        seconds = self.delay(outcome, response)
        self._slow_down(request, seconds)
        if seconds <= 0 or outcome.callback is NO_CALLBACK:
            # Fetched directly by a component (robots.txt), not through the scheduler: the
            # retry goes back at once and waits in the host's slowed slot.
            return outcome
        self.crawler.stats.inc_value("retry/backoff_seconds", round(seconds, 3))
        self.crawler.stats.inc_value("retry/deferred")
        self._next += 1
        self._timers[self._next] = call_later(seconds, self._resume, self._next, outcome)
        raise RetryLater(f"retrying {request.url} in {seconds:.1f} s")

    def _resume(self, number: int, request: Request) -> None:
        self._timers.pop(number, None)
        engine = self.crawler.engine
        if engine is not None and engine.spider is not None and engine.running:
            engine.crawl(request)

    def _slot(self, request: Request):
        downloader = getattr(self.crawler.engine, "downloader", None)
        key = request.meta.get("download_slot")
        if downloader is None or key is None:
            return None, None
        return key, downloader.slots.get(key)

    def _slow_down(self, request: Request, seconds: float) -> None:
        """The host's slot waits ``seconds`` between requests until it answers well again.

        The wait counts from this failure, not from the last request sent: a struggling host
        answers slowly, and a slot delay counted from the send would let the next request go
        out before ``Retry-After`` has passed since the answer that asked for it."""
        key, slot = self._slot(request)
        if slot is None or seconds <= 0:
            return
        slot.lastseen = max(slot.lastseen, monotonic())
        if seconds <= slot.delay:
            return
        self._slowed.setdefault(key, slot.delay)
        slot.delay = seconds
        self.crawler.stats.inc_value("retry/slot_slowed")

    def _recover(self, request: Request) -> None:
        key, slot = self._slot(request)
        if key not in self._slowed:
            return
        if slot is None:
            self._slowed.pop(key)
            return
        slot.delay = max(self._slowed[key], slot.delay / 2)
        if slot.delay <= self._slowed[key]:
            self._slowed.pop(key)

    def spider_idle(self, spider: Spider) -> None:
        if self._timers:
            raise DontCloseSpider

    def spider_closed(self, spider: Spider) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
