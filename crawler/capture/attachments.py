"""Attachments in the crawl: an article's files requested, their text read off the reactor.

- **Requests.** The files an article links (``ArticleItem.attachments``) are requested with
  ``meta["attachment"]``: on any host (they are the article's content, like its body
  images: ``meta["requisite"]`` lets them through the scope gate), as part of the article's
  page visit (crawler/capture/page_visits.py): on their host's requisite slot, ahead of any
  requisite there, so a file never takes a page's politeness turn; best effort, as a
  requisite is (crawler/schedule/fleet.py). On a re-crawl, files are asked for as
  conditional GETs (crawler/schedule/incremental.py asks a known URL again instead of skipping it).
  A re-checked article (crawler/schedule/revisit.py) has its files checked again the same way: an
  unchanged file is a 304 (nothing downloaded) or a revisit record, a changed one a new
  version, reported by archive/attachments.py as an ``attachment-changed`` event.
- **Reading.** Every non-HTML response the spider gets is handed to ``AttachmentReader``: a
  process pool (``ATTACHMENT_WORKERS``, at ``ATTACHMENT_NICENESS``) apart from the page workers, so a long
  PDF never holds up a page. A worker (crawler/capture/attachment_worker.py) skips a file whose
  bytes the archive already holds (same digest), else reads it in a forked child under the time
  and memory caps (crawler/extract/documents/capped.py); the result goes to the archive writer as an
  ``AttachmentRow``. The spider's callback does not wait for it (see ``AttachmentReader``).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from scrapy import Request
from scrapy.http import Response
from scrapy.utils.reactor import is_asyncio_reactor_installed

from archive.attachments import AttachmentRow
from crawler.capture.attachment_worker import read_attachment, start
from crawler.capture.page_visits import requisite_slot
from crawler.capture.requisites import ATTACHMENT
from crawler.extract.documents.result import FAILED, TOO_LARGE, TRUNCATED, DocumentText, Limits
from crawler.extract.documents.sniff import sniff

logger = logging.getLogger(__name__)

def attachment_requests(urls: Iterable[str], site: str | None, callback, errback, history=None,
                        recheck: bool = False) -> Iterator[Request]:
    """Requests for an article's files. ``meta["known_digest"]``: the payload the archive holds,
    taken now (the writer may archive the new one before the file is read)."""
    for url in urls:
        meta: dict[str, Any] = {"attachment": True, "requisite": ATTACHMENT, "allow_offsite": True,
                                "download_slot": requisite_slot(url), "autothrottle_dont_adjust_delay": True}
        if site is not None:
            meta["site"] = site
        good = history.lookup.last_good(url) if history is not None else None
        if good is not None and good.payload_digest:
            meta["known_digest"] = good.payload_digest
        yield Request(url, callback=callback, errback=errback, meta=meta, dont_filter=recheck)


class AttachmentReader:
    """The crawl's attachment workers: a lazily started pool; results go to the archive writer
    from the pool's own thread, so the spider's callback returns at once.

    Awaiting the text in the callback would keep the response in Scrapy's scraper slot, and a
    few megabytes of PDFs there stop the engine from downloading anything. Only when the
    files waiting for a worker pass ``ATTACHMENT_QUEUE_BYTES`` does the callback wait: the
    crawl slows to the readers' pace instead of holding every file in memory. At the end of
    a crawl, ``close`` waits for the files still being read (the writer drains after it).
    """

    def __init__(self, settings: Any, crawler: Any) -> None:
        self.crawler = crawler
        self.workers = max(1, settings.getint("ATTACHMENT_WORKERS"))
        self.seconds = settings.getfloat("ATTACHMENT_TIMEOUT")
        self.memory = settings.getint("ATTACHMENT_MAX_MEMORY")
        self.max_size = settings.getint("ATTACHMENT_MAX_SIZE")
        self.queue_bytes = settings.getint("ATTACHMENT_QUEUE_BYTES")
        self.niceness = settings.getint("ATTACHMENT_NICENESS")
        self.limits = Limits.from_settings(settings)
        self._pool: ProcessPoolExecutor | None = None
        self._pending: dict[Future, int] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_crawler(cls, crawler: Any) -> AttachmentReader | None:
        settings = crawler.settings
        return cls(settings, crawler) if settings.getbool("ATTACHMENTS_ENABLED") else None

    @property
    def stats(self) -> Any:
        return self.crawler.stats  # set once the crawl starts, after the spider is made

    async def read(self, response: Response, writer) -> None:
        """Have one fetched file read and its row queued (nothing when it is unchanged)."""
        record_id = response.meta.get("warc_record_id")
        if writer is None or not record_id or response.status != 200 or not response.body:
            return
        row = {"url": response.url, "content_type": response.headers.get("Content-Type", b"").decode("latin-1") or None,
               "size": len(response.body)}
        if {"dataloss", "download_stopped", "partial"} & set(response.flags):
            self._queue(writer, record_id, row, DocumentText(sniff(response.body[:65536]), TRUNCATED,
                                                             error="the download was cut off; not read"))
            return
        if len(response.body) > self.max_size:
            why = f"over ATTACHMENT_MAX_SIZE ({self.max_size} bytes); not read"
            self._queue(writer, record_id, row, DocumentText(sniff(response.body[:65536]), TOO_LARGE, error=why))
            return
        await self._room()
        if self._pool is None:
            # spawn, not fork: the crawl process runs the reactor and writer threads.
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=start, initargs=(os.getpid(), self.niceness))
        try:
            future = self._pool.submit(read_attachment, response.body, response.meta.get("known_digest"),
                                       self.limits, self.seconds, self.memory)
        except BrokenProcessPool:
            self._restart(response.url)
            self._queue(writer, record_id, row, DocumentText(sniff(response.body[:65536]), FAILED,
                                                             error="the attachment worker died"))
            return
        with self._lock:
            self._pending[future] = len(response.body)
        future.add_done_callback(lambda done: self._done(done, writer, record_id, row, response.body[:65536]))

    async def _room(self) -> None:
        """Wait while the files not yet read hold more than ATTACHMENT_QUEUE_BYTES."""
        while True:
            with self._lock:
                waiting = list(self._pending)
                full = waiting and sum(self._pending.values()) > self.queue_bytes
            if not full:
                return
            self.stats.inc_value("attachments/waited_for_readers")
            if is_asyncio_reactor_installed():
                await asyncio.wait([asyncio.wrap_future(future) for future in waiting],
                                   return_when=asyncio.FIRST_COMPLETED)
            else:
                from scrapy.utils.defer import maybe_deferred_to_future
                from twisted.internet.threads import deferToThread

                await maybe_deferred_to_future(deferToThread(wait, waiting, return_when=FIRST_COMPLETED))

    def _done(self, future: Future, writer, record_id: str, row: dict[str, Any], head: bytes) -> None:
        """In the pool's thread: the file's row to the writer (a thread-safe queue)."""
        with self._lock:
            self._pending.pop(future, None)
        if future.cancelled():
            return
        try:
            result = future.result()
        except BrokenProcessPool:
            logger.error("an attachment worker died (on %s?)", row["url"])
            result = DocumentText(sniff(head), FAILED, error="the attachment worker died")
        except Exception as exc:  # noqa: BLE001 - one file must not stop the crawl
            result = DocumentText(sniff(head), FAILED, error=f"{type(exc).__name__}: {exc}"[:500])
        if result is None:
            self.stats.inc_value("attachments/unchanged")
            return
        try:
            self._queue(writer, record_id, row, result)
        except RuntimeError:
            pass  # the writer died: the capture hook is stopping the crawl

    def _queue(self, writer, record_id: str, row: dict[str, Any], result: DocumentText) -> None:
        self.stats.inc_value(f"attachments/{result.status}")
        if result.status not in ("ok", "no_text", "unsupported"):
            logger.info("attachment %s: %s (%s)", row["url"], result.status, result.error)
        writer.add_attachment(AttachmentRow(record_id, {
            **row, "kind": result.kind or None, "pages": result.pages, "text": result.text or None,
            "status": result.status, "error": result.error, "members": result.members or None}))

    def _restart(self, url: str) -> None:
        logger.error("an attachment worker died (on %s?); restarting the pool", url)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = None

    def close(self, finished: bool = True) -> None:
        """Wait for the files being read (a finished crawl) or drop the queue (an interrupted one)."""
        if self._pool is not None:
            if self._pending:
                logger.info("waiting for %d attachment(s) being read", len(self._pending))
            started = time.monotonic()
            self._pool.shutdown(wait=True, cancel_futures=not finished)
            self._pool = None
            self.stats.set_value("attachments/wait_at_close_s", round(time.monotonic() - started, 2))
