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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from archive.challenges import exchange_challenge
from archive.models import articles, capture_id_of, captures, crawls, open_index, utc_iso
from archive.records import HttpExchange, Original, build_pair, payload_digest, request_body_query
from archive.recovery import recover
from archive.warc_writer import RotatingWarcWriter

logger = logging.getLogger(__name__)

_STOP = object()


@dataclass
class ArticleRow:
    """An article to index, linked to its capture by the response record's WARC-Record-ID."""

    record_id: str
    fields: dict[str, Any]


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
        self._originals: dict[str, Original] = {}

    def start_crawl(self, spider: str, site: str | None, hostname: str) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(crawls).values(
                    spider=spider, site=site, started_at=utc_iso(), status="running", hostname=hostname,
                    pid=os.getpid(),
                )
            )
            self.crawl_id = int(result.inserted_primary_key[0])
            self._originals = load_originals(conn)
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
        for item in batch:
            if isinstance(item, HttpExchange):
                capture_rows.append(self._write_exchange(item))
            else:
                article_rows.append({"rid": item.record_id, **item.fields})
        self.warcs.flush(self.fsync)
        with self.engine.begin() as conn:
            if capture_rows:
                conn.execute(insert(captures).values(refers_to_id=capture_id_of("ref")), capture_rows)
            if article_rows:
                conn.execute(insert(articles).values(capture_id=capture_id_of("rid")), article_rows)
        self.warcs.rotate_if_full()
        self.counts["captures"] += len(capture_rows)
        self.counts["articles"] += len(article_rows)

    def _write_exchange(self, exchange: HttpExchange) -> dict[str, Any]:
        digest = payload_digest(exchange.body)
        original = self._originals.get(exchange.url)
        revisit_of = None
        if original is not None and not exchange.truncated and (
            exchange.status == 304 or (exchange.status == 200 and original.payload_digest == digest)
        ):
            revisit_of = original
        request, response = build_pair(self.warcs.builder, exchange, revisit_of)
        where, request_where = self.warcs.write(response, request)
        date = response.rec_headers.get_header("WARC-Date")
        if revisit_of is None and exchange.status == 200 and not exchange.truncated:
            self._originals[exchange.url] = Original(exchange.url, date, digest, exchange.record_id)
        self.counts["records"] += 2
        self.counts["revisits" if revisit_of else "responses"] += 1
        self.counts["bytes"] += where.length + request_where.length
        flags = []
        if kind := exchange_challenge(exchange.status, exchange.body, exchange.response_headers):
            flags.append(f"challenge:{kind}")
            self.counts["challenges"] += 1
        if exchange.truncated:
            flags.append("truncated")
            self.counts["truncated"] += 1
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
        }


def _request_header(exchange: HttpExchange, name: bytes) -> str | None:
    for key, value in exchange.request_headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def load_originals(conn: Connection) -> dict[str, Original]:
    """The latest full 200 response per URL: what a new capture may be a revisit of."""
    latest = (
        select(captures.c.url, func.max(captures.c.id).label("id"))
        .where(captures.c.record_type == "response", captures.c.status == 200, captures.c.truncated.is_(None))
        .group_by(captures.c.url)
        .subquery()
    )
    rows = conn.execute(
        select(captures.c.url, captures.c.warc_date, captures.c.fetched_at, captures.c.payload_digest,
               captures.c.warc_record_id).join(latest, latest.c.id == captures.c.id)
    )
    return {
        row.url: Original(row.url, row.warc_date or row.fetched_at, row.payload_digest, row.warc_record_id)
        for row in rows
        if row.payload_digest
    }
