"""The capture hook: hand every HTTP exchange, exactly as downloaded, to the archive writer.

It listens on ``response_downloaded``, which fires for every network response (redirect
hops, robots.txt, 404s and retried attempts included) before HttpCompressionMiddleware
decodes the body and deletes ``Content-Encoding``; cache hits never fire it, so nothing is
archived twice.
"""

from __future__ import annotations

import logging
import pprint
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, NotConfigured
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from sqlalchemy import Engine
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThread

import crawler
from archive.locks import SiteLocks
from archive.models import has_schema, index_url_for, open_index
from archive.records import BROWSER_NOTE, NORMALISATIONS, HttpExchange, RenderedPage
from archive.store import ArchiveWriter
from crawler.schedule import report

logger = logging.getLogger(__name__)

BUSY_POLL = 2.0  # seconds between looks at another crawl's locks (ARCHIVE_BUSY=wait)
BUSY_POLICIES = ("wait", "refuse", "share")


def index_location(settings: BaseSettings) -> tuple[Path, str, bool]:
    """(ARCHIVE_DIR, index URL, whether an index may already exist) for a crawl's settings."""
    archive_dir = Path(settings.get("ARCHIVE_DIR"))
    if settings.get("INDEX_URL"):
        return archive_dir, settings.get("INDEX_URL"), True
    return archive_dir, index_url_for(archive_dir), (archive_dir / "index.sqlite").exists()


def existing_index(settings: BaseSettings) -> Engine | None:
    """An engine on the crawl's index when it already holds the tables, else None.

    Readers (history, dedup, templates) never create the schema: the archive writer does.
    """
    if not settings.getbool("CAPTURE_ENABLED"):
        return None
    _, url, exists = index_location(settings)
    if not exists:
        return None
    engine = open_index(url, create=False)
    if has_schema(engine):
        return engine
    engine.dispose()
    return None


def archive_writer(crawler_: Crawler) -> ArchiveWriter | None:
    """The running crawl's archive writer, for pipelines that index what it archived: the one
    its capture extension owns, found through the crawler (None when capture is off, as in
    ``scrapy shell``)."""
    capture = crawler_.get_extension(CaptureExtension)
    return capture.writer if capture is not None else None


def exchange_from(response: Response, request: Request) -> HttpExchange:
    """Snapshot a downloaded response and the request that fetched it."""
    truncated = None
    if "dataloss" in response.flags or "partial" in response.flags:
        truncated = "disconnect"
    elif "download_stopped" in response.flags:
        truncated = request.meta.get("truncated", "unspecified")
    return HttpExchange(
        url=response.url,
        status=response.status,
        response_headers=[(k, v) for k, values in response.headers.items() for v in values],
        body=response.body,
        method=request.method,
        request_headers=[(k, v) for k, values in request.headers.items() for v in values],
        request_body=request.body,
        protocol=response.protocol or "HTTP/1.1",
        ip_address=str(response.ip_address) if response.ip_address else None,
        fetched_at=datetime.now(UTC),
        truncated=truncated,
        browser=request.meta.get("browser_sub"),
        resource_type=request.meta.get("resource_type"),
    )


class CaptureExtension:
    """Owns the crawl's ArchiveWriter: opens it with the spider, closes it cleanly."""

    def __init__(self, crawler_: Crawler) -> None:
        settings = crawler_.settings
        if not settings.getbool("CAPTURE_ENABLED"):
            raise NotConfigured("capture is off (interactive command or CAPTURE_ENABLED=0)")
        self.crawler = crawler_
        archive_dir, index_url, _ = index_location(settings)
        self.writer = ArchiveWriter(
            archive_dir / "warc",
            index_url,
            warcinfo=self._warcinfo(crawler_),
            prefix=settings.get("WARC_PREFIX"),
            max_size=settings.getint("WARC_MAX_SIZE"),
            queue_size=settings.getint("ARCHIVE_QUEUE_SIZE"),
            fsync=settings.getbool("WARC_FSYNC"),
        )
        self._stopping = False
        self.archive_dir = archive_dir.resolve()
        self.locks: SiteLocks | None = None
        self.busy: str | None = None  # why this crawl did not start: another one writes its portal here
        self.started = time.monotonic()

    @classmethod
    def from_crawler(cls, crawler_: Crawler) -> CaptureExtension:
        extension = cls(crawler_)
        crawler_.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler_.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        crawler_.signals.connect(extension.response_downloaded, signal=signals.response_downloaded)
        return extension

    @staticmethod
    def _warcinfo(crawler_: Crawler) -> dict[str, str]:
        settings = crawler_.settings
        return {
            "software": f"portal-archiver/{crawler.__version__} (Scrapy)",
            "hostname": socket.gethostname(),
            "format": "WARC File Format 1.1",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
            "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
            "http-header-user-agent": settings.get("USER_AGENT"),
            "normalisations": NORMALISATIONS,
            "browser": BROWSER_NOTE,
        }

    async def spider_opened(self, spider: Spider) -> None:
        if not await self._claim(spider):
            raise CloseSpider("archive_busy")
        if self.writer.recovered.closed or self.writer.recovered.killed_crawls:
            for line in self.writer.recovered.lines():
                logger.warning("recovery after an unclean stop: %s", line)
        site = getattr(spider, "site_name", None)
        crawl_id = self.writer.start_crawl(spider.name, site, socket.gethostname())
        spider.crawl_id = crawl_id
        self.started = time.monotonic()
        stats = self.crawler.stats
        stats.set_value("crawl/id", crawl_id)
        stats.set_value("crawl/archive", str(self.writer.warcs.directory.parent.resolve()))
        logger.info("archiving into %s (crawl %d)", self.writer.warcs.directory, crawl_id)

    async def _claim(self, spider: Spider) -> bool:
        """Is no other crawl writing this crawl's portals into this archive? If one is, wait
        for it to end or refuse to start, as ``ARCHIVE_BUSY`` says (archive/locks.py)."""
        settings = self.crawler.settings
        policy = str(settings.get("ARCHIVE_BUSY")).lower()
        if policy == "share" or "scrapy_redis" in str(settings.get("SCHEDULER")):
            return True  # workers sharing one frontier write one archive by design
        from twisted.internet import reactor  # the one Scrapy installed
        fleet = getattr(spider, "fleet", None)
        self.locks = SiteLocks(self.archive_dir, list(fleet.sites) if fleet is not None and fleet.sites else
                               [spider.name])
        waited = False
        while busy := self.locks.acquire():
            who = "; ".join(str(holder) for holder in busy[:3]) + (" …" if len(busy) > 3 else "")
            if policy == "refuse" or self.crawler.stats.get_value("crawl/signal") is not None:
                reason = "ARCHIVE_BUSY=refuse" if policy == "refuse" else "interrupted while waiting"
                self.busy = f"{who} into {self.archive_dir} ({reason})"
                logger.error("not crawling: %s", self.busy)
                return False
            if not waited:
                logger.warning("%s into %s; waiting for it to end (ARCHIVE_BUSY=wait; =refuse stops instead)",
                               who, self.archive_dir)
                waited = True
            await maybe_deferred_to_future(deferLater(reactor, BUSY_POLL, lambda: None))
        if waited:
            logger.info("the other crawl has ended: starting")
        return True

    def response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        if "browser" in response.flags:
            # A page the browser opened (crawler/fetch/browser/): its exchanges were archived as they
            # arrived; what is left is the DOM it rendered, kept beside its document.
            if "rendered" in response.flags:
                self._add(response, lambda: self.writer.add_rendered(RenderedPage(
                    response.url, response.body, request.meta.get("warc_record_id"),
                    request.meta.get("browser_version"))))
            return
        exchange = exchange_from(response, request)
        request.meta["warc_record_id"] = exchange.record_id
        self._add(response, lambda: self.writer.add_exchange(exchange))

    def _add(self, response: Response, add: Callable[[], None]) -> None:
        try:
            add()
        except RuntimeError as exc:
            # Crawling on would fetch pages that are never archived: stop instead.
            if not self._stopping:
                self._stopping = True
                logger.error("%s; stopping the crawl (%s not archived)", exc, response.url)
                deferred_from_coro(self.crawler.engine.close_spider_async(reason="archive_failed"))

    async def spider_closed(self, spider: Spider, reason: str) -> None:
        await maybe_deferred_to_future(deferToThread(self._finish, reason))

    def _finish(self, reason: str) -> None:
        stats = self.crawler.stats
        assert stats is not None
        if self.writer.crawl_id is None:  # never started (another crawl was writing here)
            self.writer.drain()
            self.writer.finish_crawl("", {})
            if self.busy:
                stats.set_value("crawl/busy", self.busy)
            return
        lost = None
        try:
            self.writer.drain()
        except OSError as exc:  # e.g. the WARC file deleted, or its directory removed
            logger.error("archive failed: could not close the WARC file: %s", exc)
            lost = f"the last WARC file could not be closed ({exc})"
        warcs = self.writer.warcs
        gone = [name for name in warcs.closed_names if not (warcs.directory / name).exists()]
        if gone and not lost:
            lost = f"{len(gone)} WARC file(s) of this crawl are missing ({', '.join(gone[:3])})"
        if self.writer.error is not None:
            stats.set_value("archive/error", f"{type(self.writer.error).__name__}: {self.writer.error}")
        for key, value in self.writer.counts.items():
            stats.set_value(f"warc/{key}", value)
        stats.set_value("crawl/elapsed", round(time.monotonic() - self.started, 1))
        if stats.get_value("finish_reason") is None:
            stats.set_value("finish_reason", reason)  # Scrapy's own handler may run after this one
        values = stats.get_stats()
        stats.set_value("summary", report.summary(values, reason))
        settings = self.crawler.settings
        shared = "scrapy_redis" in str(settings.get("SCHEDULER"))
        failed = report.failure(values, settings.getfloat("CRAWL_MAX_ERROR_RATE"), shared_frontier=shared)
        if lost:
            # Its rows point at records that are not on disk: the crawl must not pass for
            # complete (an incremental crawl would trust them), and it exits non-zero. A dead
            # writer stays the first thing said ("archive failed: ...").
            incomplete = f"archive incomplete: {lost}"
            failed = f"{failed}; {incomplete}" if failed and self.writer.error is not None else incomplete
        if failed:
            stats.set_value("crawl/failed", failed)
            logger.error("crawl failed: %s", failed)
        # A few lines for people; every number, and the rest, in crawls.stats and at DEBUG
        # (STATS_DUMP is off: Scrapy's dump of some 60 lines at INFO buried the summary).
        for line in report.human_summary(stats.get_stats()):
            logger.info("%s", line)
        logger.debug("crawl summary: %s", stats.get_value("summary"))
        logger.debug("crawl stats:\n%s", pprint.pformat(stats.get_stats()))
        row = {key: _jsonable(value) for key, value in stats.get_stats().items()}
        status = "failed" if lost else ("finished" if reason == "finished" else "interrupted")
        try:
            self.writer.finish_crawl(status, row)
        except RuntimeError:
            pass  # the writer's failure: logged, and in crawl/failed (non-zero exit)
        finally:
            if self.locks is not None:
                self.locks.release()


def _jsonable(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return str(value)
