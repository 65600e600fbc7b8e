"""WARC files on disk: naming, warcinfo headers, per-record gzip, rotation, safe close.

A file is written as ``NAME.warc.gz.open`` and renamed when closed, so a reader (or a
recovery pass after a crash) can tell finished files from the one being written. Each
record is its own gzip member (WARC Annex D): its offset and length in the file are all a
reader needs to fetch it back.
"""

from __future__ import annotations

import fcntl
import io
import logging
import os
import socket
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from warcio.recordbuilder import RecordBuilder
from warcio.recordloader import ArcWarcRecord
from warcio.warcwriter import WARCWriter

logger = logging.getLogger(__name__)

OPEN_SUFFIX = ".open"


@dataclass(frozen=True)
class RecordLocation:
    """Where a record landed: what the SQL index stores to find it again."""

    filename: str
    offset: int
    length: int


class GzipMember(io.RawIOBase):
    """A write-only stream that compresses what it is given into one gzip member of ``out``.

    warcio writes a record in chunks; compressing them straight into the WARC file means a
    large body is never held a second time (serialised, then compressed) in memory. Level 6
    is zlib's speed/size sweet spot (warcio uses 9).
    """

    def __init__(self, out: io.BufferedWriter, level: int = 6) -> None:
        super().__init__()
        self.target = out
        self._compressor = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS | 16)

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.target.write(self._compressor.compress(data))
        return len(data)

    def flush(self) -> None:
        """warcio flushes after each record; the member ends only in ``finish``."""

    def finish(self) -> None:
        """Write the end of the gzip member."""
        self.target.write(self._compressor.flush())


def warc_filename(prefix: str, serial: int, moment: datetime | None = None, host: str | None = None) -> str:
    """``PREFIX-TIMESTAMP-SERIAL-PID~HOST.warc.gz``: the WARC spec's Annex C, with the
    process id in the crawl-host part (as Heritrix does) so crawlers sharing a directory
    never pick the same name."""
    moment = moment or datetime.now(UTC)
    stamp = moment.strftime("%Y%m%d%H%M%S") + f"{moment.microsecond // 1000:03d}"
    host = (host or socket.gethostname()).replace("-", "_")
    return f"{prefix}-{stamp}-{serial:05d}-{os.getpid()}~{host}.warc.gz"


class RotatingWarcWriter:
    """Append records to the current WARC file, starting a new one past ``max_size`` bytes.

    Not thread-safe: one writer thread owns it (see ``archive.store``).
    """

    def __init__(
        self,
        directory: Path,
        prefix: str = "portal",
        max_size: int = 1_000_000_000,
        warcinfo: dict[str, str] | None = None,
        gzip_level: int = 6,
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.prefix = prefix
        self.max_size = max_size
        self.warcinfo = dict(warcinfo or {})
        self.gzip_level = gzip_level
        self.serial = 0
        self.files_written = 0
        self._file: io.BufferedWriter | None = None
        self._name = ""
        # Bytes of the current file known to hold only complete records (the end of the last
        # successful flush): what is kept if a later write fails (a full disk).
        self._durable = 0
        self._failed = False
        self.closed_names: list[str] = []
        self._builder = RecordBuilder(warc_version="1.1")

    @property
    def builder(self) -> RecordBuilder:
        """The warcio record builder, set to WARC/1.1 and sha1 digests."""
        return self._builder

    def write(self, *records: ArcWarcRecord) -> list[RecordLocation]:
        """Write records (each its own gzip member) into the current file; say where each went.

        The file never changes inside a call, so a request/response pair stays together;
        rotation waits for ``rotate_if_full``, which the caller runs once the index rows for
        everything written so far are committed. A closed (renamed) file therefore never
        holds a record without its index row.
        """
        locations = []
        try:
            if self._file is None:
                self._open_next()
            assert self._file is not None
            for record in records:
                start = self._file.tell()
                self._write_member(record)
                locations.append(RecordLocation(self._name, start, self._file.tell() - start))
        except OSError:
            self._failed = True  # part of a member may be in the file: close() cuts it
            raise
        return locations

    def rotate_if_full(self) -> None:
        """Close the current file once it has reached ``max_size``; the next write opens another."""
        if self._file is not None and self._file.tell() >= self.max_size:
            self.close()

    def flush(self, fsync: bool = True) -> None:
        """Push written records to disk; the index must not commit rows before this."""
        if self._file is not None:
            try:
                self._file.flush()
                if fsync:
                    os.fsync(self._file.fileno())
            except OSError:
                self._failed = True
                raise
            self._durable = self._file.tell()

    def close(self) -> None:
        """Flush, close and drop the ``.open`` suffix of the current file.

        If a write failed (a full disk), the file is first cut back to its last complete
        record, so a closed file never holds a cut-off record; the index has rows only for
        records flushed before the failure. A file that cannot be closed (deleted under the
        writer) raises ``OSError``: the crawl must not pass for complete.
        """
        if self._file is None:
            return
        try:
            self.flush()
        except OSError as exc:
            logger.error("cannot write WARC file %s: %s", self._name, exc)
        handle, self._file = self._file, None
        try:
            handle.close()
        except OSError:
            self._failed = True  # the buffered tail never reached the disk: cut below
        opened = self.directory / (self._name + OPEN_SUFFIX)
        final = self.directory / self._name
        if self._failed:
            self._failed = False
            os.truncate(opened, self._durable)
            logger.error("WARC file %s cut back to its last complete record (%d bytes)", final.name, self._durable)
            if self._durable == 0:
                opened.unlink()
                return
        os.replace(opened, final)
        self.closed_names.append(final.name)
        logger.info("closed WARC file %s", final)

    def _write_member(self, record: ArcWarcRecord) -> None:
        """One record as one gzip member at the end of the current file."""
        assert self._file is not None
        member = GzipMember(self._file, self.gzip_level)
        WARCWriter(member, gzip=False, warc_version="1.1").write_record(record)
        member.finish()

    def _open_next(self) -> None:
        while True:
            self.serial += 1
            name = warc_filename(self.prefix, self.serial)
            path = self.directory / (name + OPEN_SUFFIX)
            if (self.directory / name).exists():
                continue
            try:
                self._file = open(path, "xb")
                break
            except FileExistsError:
                continue
        # Held while the file is being written: recovery after a crash takes only files
        # whose writer is gone (the lock dies with the process).
        fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._name = name
        self._durable = 0
        self._failed = False
        self.files_written += 1
        logger.info("writing WARC file %s", path)
        info = self._builder.create_warcinfo_record(name, self.warcinfo)
        self._write_member(info)
