"""Read WARC records back: one by offset (what the index points at) or a whole file, checked.

Any file, ours or another tool's, either reads cleanly or raises ``WarcReadError`` saying
which file, which offset and what is wrong; callers print that instead of a traceback.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.recordloader import ArcWarcRecord

from archive.warc_writer import OPEN_SUFFIX

# The record types the index lists as captures (verify and recovery count and re-index them).
INDEXED_TYPES = {"response", "revisit"}

READ_ERRORS = (ArchiveLoadFailed, zlib.error, EOFError, ValueError, OSError, IndexError, KeyError)


class WarcReadError(Exception):
    """A WARC file (or one record in it) cannot be read or fails its digests."""

    def __init__(self, path: str | Path, offset: int | None, problem: str) -> None:
        self.path, self.offset, self.problem = str(path), offset, problem
        where = f"{self.path}" + (f" at offset {offset}" if offset is not None else "")
        super().__init__(f"{where}: {problem}")


@dataclass(slots=True)
class RecordInfo:
    """A record's headers and where it sits; the body is read separately when wanted.
    (Slots: ``verify`` keeps one per record of the archive.)"""

    offset: int
    length: int
    record_type: str
    record_id: str | None
    url: str | None
    date: str | None
    payload_digest: str | None
    status: int | None
    # What an index row needs besides (repair re-indexes from these).
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    ip_address: str | None = None
    truncated: str | None = None
    refers_to: str | None = None
    browser: str | None = None


def read_record(path: str | Path, offset: int) -> tuple[ArcWarcRecord, bytes]:
    """The record at ``offset`` with its payload, content-decoded (gzip/deflate/chunked undone).

    A file still being written (``NAME.open``) is read when ``NAME`` is not there yet.
    """
    try:
        stream = open_warc(path)
    except OSError as exc:
        raise WarcReadError(path, offset, _describe(exc)) from None
    try:
        with stream:
            stream.seek(offset)
            record = next(iter(ArchiveIterator(stream)))
            payload = record.content_stream().read()
            _drain(record)
            if _missing(record) != 0:
                raise WarcReadError(path, offset, "record cut off before its end")
            return record, payload
    except StopIteration:
        raise WarcReadError(path, offset, "no record at this offset") from None
    except READ_ERRORS as exc:
        raise WarcReadError(path, offset, _describe(exc)) from None


def open_warc(path: str | Path) -> BinaryIO:
    """Open a WARC file by its closed name, falling back to the ``.open`` file a live writer
    is still appending to (the name an index row holds is the closed one)."""
    path = Path(path)
    try:
        return open(path, "rb")
    except FileNotFoundError:
        try:
            return open(path.with_name(path.name + OPEN_SUFFIX), "rb")
        except FileNotFoundError:
            pass
        # Renamed between the two attempts: the closed name exists now.
        return open(path, "rb")


def iter_records(path: str | Path, check_digests: bool = True) -> Iterator[RecordInfo]:
    """Every record of a file, each read to its end and its digests checked; the first
    problem raises ``WarcReadError`` (``scan_records`` reads on past it)."""
    for found in scan_records(path, check_digests):
        if isinstance(found, WarcReadError):
            raise found
        yield found


def scan_records(path: str | Path, check_digests: bool = True) -> Iterator[RecordInfo | WarcReadError]:
    """Every record of a file, complete and checked, or a ``WarcReadError`` for each bad one.

    A bad record does not end the reading: records are separate gzip members (WARC Annex D),
    so reading resumes at the next member that starts a WARC record (in an uncompressed
    file, at the next ``WARC/1.`` line). A record cut off before its ``Content-Length`` (a
    full disk, a truncated copy) is an error, never a record.
    """
    try:
        stream = open(path, "rb")
    except OSError as exc:
        yield WarcReadError(path, None, _describe(exc))
        return
    with stream:
        gzipped = stream.read(2) == GZIP_MAGIC[:2]
        start: int | None = 0
        while start is not None:
            stream.seek(start)
            records = ArchiveIterator(stream, check_digests=check_digests)
            next_at = start
            try:
                for record in records:
                    offset = records.get_record_offset()
                    next_at = offset
                    record.content_stream().read()
                    _drain(record)
                    problem = _problem(record, check_digests)
                    info = None if problem else _info(record, offset)
                    records.read_to_end(record)
                    next_at = offset + records.get_record_length()
                    if info is None:
                        yield WarcReadError(path, offset, problem or "")
                    else:
                        info.length = records.get_record_length()
                        yield info
                start = None
                stream.seek(next_at)
                tail = stream.read(_RESYNC_CHUNK)
                if tail.strip(b"\r\n\0 "):  # a record cut inside its headers reads as nothing at all
                    size = os.fstat(stream.fileno()).st_size
                    yield WarcReadError(path, next_at,
                                        f"record cut off: the last {size - next_at} bytes are not a complete record")
            except READ_ERRORS as exc:
                yield WarcReadError(path, next_at, _describe(exc))
                start = next_record_start(stream, next_at + 1, gzipped)


def _drain(record: ArcWarcRecord) -> None:
    """Read what the payload decoder left of the block (a bad chunked encoding stops it early),
    so a block shorter than its Content-Length is told from a payload that decodes short."""
    while record.raw_stream.read(1 << 16):
        pass


def _missing(record: ArcWarcRecord) -> int | None:
    """Bytes of the record's block that never came (its stream read to the end); None when
    the record has no Content-Length: it was cut inside its headers."""
    return getattr(record.raw_stream, "limit", None)  # warcio limits the block by Content-Length


def _problem(record: ArcWarcRecord, check_digests: bool) -> str | None:
    """Why a fully read record cannot be trusted, or None."""
    missing = _missing(record)
    if missing is None:
        return "record cut off inside its headers (no Content-Length)"
    if missing > 0:
        return f"record cut off: {missing} of its {record.length} bytes missing"
    checker = getattr(record, "digest_checker", None)
    if check_digests and checker is not None and checker.passed is False:
        return "; ".join(map(str, checker.problems))
    return None


def _info(record: ArcWarcRecord, offset: int) -> RecordInfo:
    headers = record.rec_headers
    http = record.http_headers
    status = http.get_statuscode() if http else None
    return RecordInfo(
        offset=offset,
        length=0,
        record_type=record.rec_type,
        record_id=headers.get_header("WARC-Record-ID"),
        url=headers.get_header("WARC-Target-URI"),
        date=headers.get_header("WARC-Date"),
        payload_digest=headers.get_header("WARC-Payload-Digest"),
        status=int(status) if status and str(status).isdigit() else None,
        content_type=http.get_header("Content-Type") if http else None,
        etag=http.get_header("ETag") if http else None,
        last_modified=http.get_header("Last-Modified") if http else None,
        ip_address=headers.get_header("WARC-IP-Address"),
        truncated=headers.get_header("WARC-Truncated"),
        refers_to=headers.get_header("WARC-Refers-To"),
        browser=headers.get_header("WARC-Browser"),
    )


GZIP_MAGIC = b"\x1f\x8b\x08"
_RESYNC_CHUNK = 1 << 20


def next_record_start(stream: BinaryIO, position: int, gzipped: bool) -> int | None:
    """The offset of the next record start at or after ``position``, or None: in a gzipped
    file, a gzip member whose data begins ``WARC/``."""
    marker = GZIP_MAGIC if gzipped else b"WARC/1."
    while True:
        stream.seek(position)
        data = stream.read(_RESYNC_CHUNK)
        if len(data) < len(marker):
            return None
        at = data.find(marker)
        while at >= 0:
            if _starts_record(stream, position + at, gzipped):
                return position + at
            at = data.find(marker, at + 1)
        if len(data) < _RESYNC_CHUNK:
            return None
        position += len(data) - len(marker) + 1


def _starts_record(stream: BinaryIO, offset: int, gzipped: bool) -> bool:
    """Does a WARC record begin at ``offset`` (inside a gzip member that starts there)?"""
    stream.seek(offset)
    if not gzipped:
        if offset == 0:
            return True
        stream.seek(offset - 1)
        return stream.read(1) == b"\n"
    head = stream.read(4096)
    try:
        return zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(head, 16).startswith(b"WARC/")
    except zlib.error:
        return False


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
