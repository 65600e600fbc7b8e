"""Retries that back off, as government servers under load need.

Scrapy's RetryMiddleware retries 5xx, 429 and timeouts at once; a struggling server then
gets hit again within milliseconds. This one waits ``RETRY_BACKOFF_BASE * 2**(n-1)``
seconds before the n-th retry (at most ``RETRY_BACKOFF_MAX``), or what ``Retry-After``
asks for. Every attempt is archived all the same: the capture hook sees each response.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.utils.reactor import is_asyncio_reactor_installed


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
    def __init__(self, settings: BaseSettings) -> None:
        super().__init__(settings)
        self.base = settings.getfloat("RETRY_BACKOFF_BASE")
        self.ceiling = settings.getfloat("RETRY_BACKOFF_MAX")

    def delay(self, retry: Request, response: Response | None = None) -> float:
        wanted = retry_after(response)
        if wanted is None:
            wanted = self.base * 2 ** (retry.meta.get("retry_times", 1) - 1)
        return min(wanted, self.ceiling)

    async def _wait(self, outcome, response: Response | None = None):
        if isinstance(outcome, Request) and is_asyncio_reactor_installed():
            seconds = self.delay(outcome, response)
            self.crawler.stats.inc_value("retry/backoff_seconds", round(seconds, 3))
            await asyncio.sleep(seconds)
        return outcome

    async def process_response(self, request: Request, response: Response, spider=None):
        return await self._wait(super().process_response(request, response), response)

    async def process_exception(self, request: Request, exception: Exception, spider=None):
        return await self._wait(super().process_exception(request, exception))
