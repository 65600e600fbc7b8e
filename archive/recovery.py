"""Put an archive back in order after a crash: close what a killed writer left open, index
what it wrote but did not index, drop index rows that point at nothing.

Only files whose writer is gone are touched: a writer holds an exclusive ``flock`` on its
``.open`` file, and the kernel drops it when the process dies, however it died.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Engine, delete, insert, select, update

from archive.models import article_events, articles, capture_id_of, captures, crawls, utc_iso
from archive.warc_reader import INDEXED_TYPES, WarcReadError, next_record_start, scan_records
from archive.warc_writer import OPEN_SUFFIX

logger = logging.getLogger(__name__)


@dataclass
class RepairReport:
    closed: list[str] = field(default_factory=list)
    bytes_cut: int = 0
    reindexed: int = 0
    dropped: int = 0
    killed_crawls: list[int] = field(default_factory=list)
    cut_tails: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"closed {len(self.closed)} unfinished WARC file(s) ({self.bytes_cut} bytes of partial records cut)",
            f"cut the incomplete last record of {len(self.cut_tails)} closed WARC file(s)"
            + (f" (bytes kept in {', '.join(self.cut_tails)})" if self.cut_tails else ""),
            f"indexed {self.reindexed} record(s) that had no index row",
            f"dropped {self.dropped} index row(s) pointing at no record",
            f"marked {len(self.killed_crawls)} crawl(s) as killed",
        ]


def complete_length(path: Path, chunk_size: int = 1 << 20) -> int:
    """Bytes up to the end of the last complete gzip member (our writer writes one record
    per member in one go, so a complete member is a complete record).

    A damaged member in the middle does not end the count: the members after it are
    complete records with index rows, so only a partial member at the end is cut.
    """
    end = 0
    with open(path, "rb") as stream:
        position: int | None = 0
        while position is not None:
            member_end = _member_end(stream, position, chunk_size)
            if member_end is None:
                position = next_record_start(stream, position + 1, gzipped=True)
            else:
                end = position = member_end
    return end


def _member_end(stream: BinaryIO, position: int, chunk_size: int) -> int | None:
    """Where the complete gzip member starting at ``position`` ends; None if it is damaged
    or cut off (or nothing starts there)."""
    stream.seek(position)
    member = zlib.decompressobj(zlib.MAX_WBITS | 16)
    consumed = 0
    while data := stream.read(chunk_size):
        try:
            member.decompress(data)
        except zlib.error:
            return None
        if member.eof:
            return position + consumed + len(data) - len(member.unused_data)
        consumed += len(data)
    return None


def close_abandoned(warc_dir: Path, report: RepairReport) -> list[Path]:
    """Truncate every abandoned ``.open`` file to its last complete record and close it."""
    closed = []
    for path in sorted(warc_dir.glob(f"*{OPEN_SUFFIX}")):
        with open(path, "r+b") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live writer owns it
            size = path.stat().st_size
            end = complete_length(path)
            handle.truncate(end)
            handle.flush()
            os.fsync(handle.fileno())
            final = path.with_name(path.name[: -len(OPEN_SUFFIX)])
            os.replace(path, final)
        report.closed.append(final.name)
        report.bytes_cut += size - end
        closed.append(final)
        logger.warning("recovered %s: kept %d bytes, cut %d bytes of a partial record", final.name, end, size - end)
    return closed


def cut_incomplete_tails(warc_dir: Path, names: set[str], report: RepairReport) -> None:
    """Cut closed WARC files back to their last complete record (``verify``'s ``cut_off_files``:
    a full disk or a truncated copy left a record without its end). The cut bytes are no
    record, but they are kept, in ``warc/damaged/NAME.tail-OFFSET``, outside the archive's files."""
    for name in sorted(names):
        path = warc_dir / name
        end = complete_length(path)
        with open(path, "r+b") as handle:
            handle.seek(end)
            tail = handle.read()
            if not tail:
                continue
            kept = warc_dir / "damaged" / f"{name}.tail-{end}"
            kept.parent.mkdir(exist_ok=True)
            kept.write_bytes(tail)
            with open(kept, "rb+") as copy:
                os.fsync(copy.fileno())
            handle.truncate(end)
            handle.flush()
            os.fsync(handle.fileno())
        report.cut_tails.append(str(kept))
        logger.warning("cut %s back to its last complete record at %d: %d bytes kept in %s", name, end,
                       len(tail), kept)


def rows_from_file(path: Path, crawl_id: int | None) -> list[dict[str, Any]]:
    """Capture rows for every complete, intact response and revisit record of a WARC file.

    A damaged or cut-off record gets no row (it is logged): a record is either complete and
    indexed, or absent from the index.
    """
    rows = []
    for item in scan_records(path):
        if isinstance(item, WarcReadError):
            logger.error("not indexed: %s", item)
            continue
        if item.record_type not in INDEXED_TYPES:
            continue
        date = item.date or ""
        rows.append({
            "crawl_id": crawl_id,
            "url": item.url,
            "status": item.status,
            "content_type": item.content_type,
            "fetched_at": date[:19] + "Z" if date else utc_iso(),
            "warc_date": date,
            "payload_digest": item.payload_digest,
            "record_type": item.record_type,
            "warc_file": path.name,
            "warc_record_id": item.record_id,
            "ip_address": item.ip_address,
            "truncated": item.truncated,
            "etag": item.etag,
            "last_modified": item.last_modified,
            "ref": item.refers_to,
            "browser": item.browser,
            "warc_offset": item.offset,
            "warc_length": item.length,
        })
    return rows


def reindex(engine: Engine, paths: list[Path], report: RepairReport, crawl_id: int | None = None) -> None:
    """Insert capture rows for records in ``paths`` that have none."""
    for path in paths:
        rows = rows_from_file(path, crawl_id)
        with engine.begin() as conn:
            indexed = conn.execute(
                select(captures.c.warc_record_id, captures.c.crawl_id).where(captures.c.warc_file == path.name)
            ).all()
            known = {rid for rid, _ in indexed}
            missing = [row for row in rows if row["warc_record_id"] not in known]
            owner = indexed[-1][1] if indexed else crawl_id
            if owner is None and missing:  # another tool's file: its rows belong to this repair
                owner = conn.execute(insert(crawls).values(
                    spider="repair", started_at=utc_iso(), finished_at=utc_iso(), status="finished",
                    hostname=socket.gethostname(), pid=os.getpid())).inserted_primary_key[0]
                crawl_id = owner
            for row in missing:
                row["crawl_id"] = owner
            if missing:
                conn.execute(captures.insert().values(refers_to_id=capture_id_of("ref")), missing)
        report.reindexed += len(missing)


def live_writers(engine: Engine, warc_dir: Path) -> list[str]:
    """Writers of this archive that are alive, said in words (empty when there are none).

    A writer holds an exclusive ``flock`` on its ``.open`` file; a crawl between two files
    holds none, so crawls of this host still ``running`` with a live process count too.
    """
    alive = []
    for path in sorted(warc_dir.glob(f"*{OPEN_SUFFIX}")):
        try:
            handle = open(path, "rb")
        except FileNotFoundError:
            continue  # closed meanwhile
        with handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                alive.append(f"{path.name} is being written")
                continue
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    with engine.connect() as conn:
        running = conn.execute(select(crawls.c.id, crawls.c.pid).where(
            crawls.c.status == "running", crawls.c.hostname == socket.gethostname())).all()
    alive += [f"crawl {crawl_id} (pid {pid}) is running" for crawl_id, pid in running
              if pid and pid != os.getpid() and _alive(pid)]
    return alive


def drop_dangling(engine: Engine, dangling_ids: list[int], report: RepairReport) -> None:
    if dangling_ids:
        with engine.begin() as conn:
            conn.execute(update(captures).where(captures.c.refers_to_id.in_(dangling_ids)).values(refers_to_id=None))
            conn.execute(update(articles).where(articles.c.capture_id.in_(dangling_ids)).values(capture_id=None))
            for column in (article_events.c.capture_id, article_events.c.previous_capture_id):
                conn.execute(update(article_events).where(column.in_(dangling_ids)).values({column.name: None}))
            conn.execute(delete(captures).where(captures.c.id.in_(dangling_ids)))
    report.dropped += len(dangling_ids)


def mark_killed_crawls(engine: Engine, report: RepairReport) -> None:
    """Crawls still 'running' whose process on this host is gone were killed."""
    host = socket.gethostname()
    with engine.begin() as conn:
        for crawl_id, pid in conn.execute(
            select(crawls.c.id, crawls.c.pid).where(crawls.c.status == "running", crawls.c.hostname == host)
        ):
            if pid and _alive(pid):
                continue
            conn.execute(update(crawls).where(crawls.c.id == crawl_id).values(status="killed", finished_at=utc_iso()))
            report.killed_crawls.append(crawl_id)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover(engine: Engine, warc_dir: Path) -> RepairReport:
    """What every writer runs at start-up: close abandoned files, index their orphans."""
    report = RepairReport()
    if warc_dir.is_dir():
        closed = close_abandoned(warc_dir, report)
        if closed:
            with engine.connect() as conn:
                last = conn.execute(select(crawls.c.id).order_by(crawls.c.id.desc()).limit(1)).scalar()
            reindex(engine, closed, report, last)
    mark_killed_crawls(engine, report)
    return report
