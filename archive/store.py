"""The archive writer: one background thread that writes WARC records, then index rows.

The crawl's reactor thread only enqueues; gzip, digests, disk and SQL happen here, so a
slow disk never stalls fetching. One thread owning both the files and the index gives the
ordering the index needs for free: a capture's row is inserted before any article that
points at it, and rows are committed only after their records are flushed to disk.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, insert, update

from archive import search
from archive.article_images import ArticleImageLinker
from archive.attachments import AttachmentIndexer, AttachmentRow
from archive.challenges import exchange_challenge
from archive.events import EventRow
from archive.lookup import ArchiveLookup, GoodCapture, is_good_capture
from archive.models import article_events, articles, capture_id_of, captures, crawls, open_index, utc_iso
from archive.presence import missing_warc_files
from archive.records import (
    HttpExchange,
    Original,
    RenderedPage,
    build_conversion,
    build_pair,
    payload_digest,
    request_body_query,
)
from archive.recovery import recover
from archive.warc_writer import RotatingWarcWriter

logger = logging.getLogger(__name__)

_STOP = object()


@dataclass
class ArticleRow:
    """An article to index, linked to its capture by the response record's WARC-Record-ID."""

    record_id: str
    fields: dict[str, Any]
    # URLs of the images inside the article body (archive/article_images.py links them).
    images: list[str] = field(default_factory=list)
    # (URL, link text) of the files it links (archive/attachments.py links them).
    attachments: list[tuple[str, str | None]] = field(default_factory=list)


class ArchiveWriter:
    """Queue exchanges and articles; a worker thread writes and indexes them in batches."""

    def __init__(
        self,
        warc_dir: Path,
        index_url: str,
        warcinfo: dict[str, str],
        *,
        prefix: str = "portal",
        max_size: int = 1_000_000_000,
        queue_size: int = 2000,
        batch_size: int = 200,
        fsync: bool = True,
    ) -> None:
        self.engine: Engine = open_index(index_url)
        self.recovered = recover(self.engine, Path(warc_dir))
        self.warcs = RotatingWarcWriter(warc_dir, prefix=prefix, max_size=max_size, warcinfo=warcinfo)
        self.batch_size = batch_size
        self.fsync = fsync
        self.counts: Counter[str] = Counter()
        self.crawl_id: int | None = None
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._thread = threading.Thread(target=self._run, name="archive-writer", daemon=True)
        self._error: BaseException | None = None
        self._stopped = False
        # What earlier captures a new one may be a revisit of: asked of the index per URL,
        # never one whose WARC file is gone (a revisit of it would replay nothing).
        with self.engine.connect() as conn:
            lost = missing_warc_files(conn, Path(warc_dir))
        self.lookup = ArchiveLookup(self.engine, missing_files=lost)

    def start_crawl(self, spider: str, site: str | None, hostname: str) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(crawls).values(
                    spider=spider, site=site, started_at=utc_iso(), status="running", hostname=hostname,
                    pid=os.getpid(),
                )
            )
            self.crawl_id = int(result.inserted_primary_key[0])
            self._images = ArticleImageLinker(conn)
            self._attachments = AttachmentIndexer(conn)
        self._thread.start()
        return self.crawl_id

    def add_exchange(self, exchange: HttpExchange) -> None:
        """Queue one exchange; blocks only when the writer is far behind (back-pressure)."""
        self._put(exchange)

    def add_article(self, article: ArticleRow) -> None:
        self._put(article)

    def _put(self, item: Any) -> None:
        """Queue an item, waiting while the queue is full, but never for a writer that died:
        a plain ``put`` on a full queue would block the reactor thread forever."""
        while True:
            self._check_alive()
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def add_attachment(self, attachment: AttachmentRow) -> None:
        """Queue an attachment's text (archive/attachments.py); indexed after its capture."""
        self._put(attachment)

    def add_event(self, event: EventRow) -> None:
        """Queue an article event (archive/events.py); indexed after its capture."""
        self._check_alive()
        self._queue.put(event)

    def drain(self) -> None:
        """Write everything queued so far, then close the current WARC file."""
        while self._thread.is_alive():
            try:
                self._queue.put(_STOP, timeout=0.2)
                break
            except queue.Full:  # a writer that dies now must not leave us waiting
                continue
        if self._thread.ident is not None:
            self._thread.join()
        self.warcs.close()
        self.counts["files"] = self.warcs.files_written

    def finish_crawl(self, status: str, stats: dict[str, Any]) -> None:
        """Record how the crawl ended; call after ``drain``."""
        self.lookup.close()
        if self.crawl_id is not None:
            with self.engine.begin() as conn:
                conn.execute(
                    update(crawls)
                    .where(crawls.c.id == self.crawl_id)
                    .values(finished_at=utc_iso(), status=status, stats=stats)
                )
        self.engine.dispose()
        if self._error is not None:
            raise RuntimeError(f"archive failed: {self._error}") from self._error

    @property
    def error(self) -> BaseException | None:
        """Why the writer thread stopped, if it failed."""
        if self._error is None and self._thread.ident is not None and not self._thread.is_alive() \
                and not self._stopped:
            return RuntimeError("the archive writer thread is gone")
        return self._error

    def _check_alive(self) -> None:
        if self.error is not None:
            raise RuntimeError(f"archive failed: {self.error}") from self.error

    def _run(self) -> None:
        try:
            while True:
                batch = [self._queue.get()]
                while len(batch) < self.batch_size:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                stop = any(item is _STOP for item in batch)
                self._write_batch([item for item in batch if item is not _STOP])
                if stop:
                    self._stopped = True
                    return
        except BaseException as exc:  # noqa: BLE001 - reported to the reactor thread
            # One clear line; the traceback only at DEBUG (the reactor thread stops the crawl).
            logger.error("archive failed: the writer stopped: %s: %s", type(exc).__name__, exc)
            logger.debug("archive writer failure", exc_info=True)
            self._error = exc

    def _write_batch(self, batch: list[Any]) -> None:
        capture_rows: list[dict[str, Any]] = []
        article_rows: list[dict[str, Any]] = []
        event_rows: list[dict[str, Any]] = []
        image_rows: list[tuple[str, list[str]]] = []
        link_rows: list[tuple[str, list[tuple[str, str | None]]]] = []
        attachment_rows: list[AttachmentRow] = []
        for item in batch:
            if isinstance(item, HttpExchange):
                capture_rows.append(self._write_exchange(item))
            elif isinstance(item, EventRow):
                event_rows.append({"rid": item.record_id, **item.fields})
            elif isinstance(item, RenderedPage):
                self._write_rendered(item)
            elif isinstance(item, AttachmentRow):
                attachment_rows.append(item)
            else:
                article_rows.append({"rid": item.record_id, **item.fields})
                if item.images:
                    image_rows.append((item.record_id, item.images))
                if item.attachments:
                    link_rows.append((item.record_id, item.attachments))
        self.warcs.flush(self.fsync)
        with self.engine.begin() as conn:
            added = index_rows(conn, capture_rows, article_rows)
            if event_rows:
                conn.execute(insert(article_events).values(capture_id=capture_id_of("rid")), event_rows)
            self._images.link(conn, capture_rows, image_rows)
            self._attachments.link(conn, link_rows)
            attachments_added = self._attachments.write(conn, attachment_rows, self.crawl_id)
        self.warcs.rotate_if_full()
        self.counts["captures"] += len(capture_rows)
        self.counts["articles"] += added
        self.counts["articles_already_indexed"] += len(article_rows) - added
        self.counts["events"] += len(event_rows)
        self.counts["attachments"] += attachments_added

    def add_rendered(self, page: RenderedPage) -> None:
        """Queue the DOM a browser rendered (a conversion record; not a row of the index)."""
        self._put(page)

    def _write_rendered(self, page: RenderedPage) -> None:
        (where,) = self.warcs.write(build_conversion(self.warcs.builder, page))
        self.counts["records"] += 1
        self.counts["conversions"] += 1
        self.counts["bytes"] += where.length

    def _write_exchange(self, exchange: HttpExchange) -> dict[str, Any]:
        digest = payload_digest(exchange.body)
        flags = []
        if kind := exchange_challenge(exchange.status, exchange.body, exchange.response_headers):
            flags.append(f"challenge:{kind}")
            self.counts["challenges"] += 1
        if exchange.truncated:
            flags.append("truncated")
            self.counts["truncated"] += 1
        good = self.lookup.last_good(exchange.url)
        revisit_of = None
        if good is not None and good.payload_digest and not exchange.truncated and not flags and (
            exchange.status == 304 or (exchange.status == 200 and good.payload_digest == digest)
        ):
            revisit_of = Original(good.url, good.warc_date, good.payload_digest, good.record_id)
        request, response = build_pair(self.warcs.builder, exchange, revisit_of)
        where, request_where = self.warcs.write(response, request)
        date = response.rec_headers.get_header("WARC-Date")
        if is_good_capture(exchange.status, response.rec_type, exchange.truncated, ",".join(flags)):
            self.lookup.remember_good(GoodCapture(
                None, exchange.url, date, response.rec_headers.get_header("WARC-Payload-Digest"), exchange.record_id,
                where.filename, where.offset, exchange.content_type, exchange.header("ETag"),
                exchange.header("Last-Modified")))
        self.counts["records"] += 2
        self.counts["revisits" if revisit_of else "responses"] += 1
        self.counts["bytes"] += where.length + request_where.length
        return {
            "crawl_id": self.crawl_id,
            "url": exchange.url,
            "status": exchange.status,
            "content_type": exchange.content_type,
            "fetched_at": utc_iso(exchange.fetched_at),
            "warc_date": date,
            "payload_digest": response.rec_headers.get_header("WARC-Payload-Digest"),
            "record_type": response.rec_type,
            "warc_file": where.filename,
            "warc_offset": where.offset,
            "warc_length": where.length,
            "warc_record_id": exchange.record_id,
            "method": exchange.method,
            "request_body": request_body_query(exchange.method, _request_header(exchange, b"content-type"),
                                               exchange.request_body),
            "payload_length": len(exchange.body),
            "ip_address": exchange.ip_address,
            "truncated": exchange.truncated,
            "request_offset": request_where.offset,
            "request_length": request_where.length,
            "etag": exchange.header("ETag"),
            "last_modified": exchange.header("Last-Modified"),
            "flags": ",".join(flags) or None,
            "ref": revisit_of.record_id if revisit_of else None,
            "browser": exchange.browser,
        }


def _request_header(exchange: HttpExchange, name: bytes) -> str | None:
    for key, value in exchange.request_headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def index_rows(conn: Connection, capture_rows: list[dict[str, Any]], article_rows: list[dict[str, Any]]) -> int:
    """Insert one batch of index rows in the caller's transaction; returns the articles added.

    Captures go in with one executemany. An article whose text (URL and body digest) is
    already indexed, by this writer or another one sharing the index, is skipped by the
    unique index (``ON CONFLICT DO NOTHING``); the ones added go into the search table.
    """
    if capture_rows:
        conn.execute(insert(captures).values(refers_to_id=capture_id_of("ref")), capture_rows)
    if not article_rows:
        return 0
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert

        # Writers sharing the index take turns at adding articles: the unique rule and the
        # article_counts rows would otherwise let two batches lock each other (a deadlock).
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7202611281)")
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    statement = (dialect_insert(articles).values(capture_id=capture_id_of("rid"))
                 .on_conflict_do_nothing().returning(articles.c.id))
    added = []
    for row in article_rows:
        article_id = conn.execute(statement, row).scalar()
        if article_id is not None:
            added.append({**row, "id": article_id})
    search.index_articles(conn, added)
    return len(added)
