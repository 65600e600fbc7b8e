"""Read WARC records back: one by offset (what the index points at) or a whole file, checked.

Any file, ours or another tool's, either reads cleanly or raises ``WarcReadError`` saying
which file, which offset and what is wrong; callers print that instead of a traceback.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.recordloader import ArcWarcRecord

READ_ERRORS = (ArchiveLoadFailed, zlib.error, EOFError, ValueError, OSError, IndexError, KeyError)


class WarcReadError(Exception):
    """A WARC file (or one record in it) cannot be read or fails its digests."""

    def __init__(self, path: str | Path, offset: int | None, problem: str) -> None:
        self.path, self.offset, self.problem = str(path), offset, problem
        where = f"{self.path}" + (f" at offset {offset}" if offset is not None else "")
        super().__init__(f"{where}: {problem}")


@dataclass
class RecordInfo:
    """A record's headers and where it sits; the body is read separately when wanted."""

    offset: int
    length: int
    record_type: str
    record_id: str | None
    url: str | None
    date: str | None
    payload_digest: str | None
    status: int | None


def read_record(path: str | Path, offset: int) -> tuple[ArcWarcRecord, bytes]:
    """The record at ``offset`` with its payload, content-decoded (gzip/deflate/chunked undone)."""
    try:
        with open(path, "rb") as stream:
            stream.seek(offset)
            record = next(iter(ArchiveIterator(stream)))
            payload = record.content_stream().read()
            return record, payload
    except StopIteration:
        raise WarcReadError(path, offset, "no record at this offset") from None
    except READ_ERRORS as exc:
        raise WarcReadError(path, offset, _describe(exc)) from None


def iter_records(path: str | Path, check_digests: bool = True) -> Iterator[RecordInfo]:
    """Every record of a file, each read to its end and its digests checked."""
    offset: int | None = 0
    try:
        with open(path, "rb") as stream:
            records = ArchiveIterator(stream, check_digests=check_digests)
            for record in records:
                offset = records.get_record_offset()
                record.content_stream().read()
                checker = getattr(record, "digest_checker", None)
                if check_digests and checker is not None and checker.passed is False:
                    raise WarcReadError(path, offset, "; ".join(map(str, checker.problems)))
                headers = record.rec_headers
                status = record.http_headers.get_statuscode() if record.http_headers else None
                info = RecordInfo(
                    offset=offset,
                    length=0,
                    record_type=record.rec_type,
                    record_id=headers.get_header("WARC-Record-ID"),
                    url=headers.get_header("WARC-Target-URI"),
                    date=headers.get_header("WARC-Date"),
                    payload_digest=headers.get_header("WARC-Payload-Digest"),
                    status=int(status) if status and str(status).isdigit() else None,
                )
                records.read_to_end(record)
                info.length = records.get_record_length()
                yield info
    except WarcReadError:
        raise
    except READ_ERRORS as exc:
        raise WarcReadError(path, offset, _describe(exc)) from None


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
