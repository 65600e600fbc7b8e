"""Hand the archive to standard replay tools: a CDXJ index (pywb), a WACZ (ReplayWeb.page)
and a ready pywb collection.

Both come from the SQL index, not from re-reading the WARC files: the index already knows
every record's URL, time, digest, file and offset. What the replay indexes list, and why,
is in docs/replay.md; in short, every capture except those whose HTTP status is 304: a
replay tool serves a server-not-modified revisit as an empty 304, so leaving it out makes
the previous full capture (the content that was still current) the one replayed.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import surt
from sqlalchemy import select

from archive.index import Index
from archive.locations import WarcLocation
from archive.models import articles, captures

WACZ_VERSION = "1.1.1"
# WACZ/Frictionless resource names: lowercase letters, digits and ``-._/`` only.
_NAME_INVALID = re.compile(r"[^a-z0-9._/-]+")
# Lines sorted in memory at a time; longer indexes are merged from sorted runs on disk.
SORT_RUN_LINES = 50_000
_GZIP_MAGIC = b"\x1f\x8b"
# How a record starts: its gzip member, or "WARC/1.x" in an uncompressed file (another tool's).
_RECORD_STARTS = (_GZIP_MAGIC, b"WA")


class ReplayError(Exception):
    """The archive cannot be handed to a replay tool as it is (missing or truncated WARC files)."""


@dataclass
class RecordCheck:
    """What reading the listed records found: files that are missing, short or corrupt."""

    problems: dict[str, str] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def raise_if_bad(self) -> None:
        if self.problems:
            listed = "; ".join(f"{name}: {problem}" for name, problem in sorted(self.problems.items()))
            raise ReplayError(f"{len(self.problems)} WARC file(s) cannot be read: {listed}")


def _timestamp(warc_date: str | None, fetched_at: str) -> str:
    value = warc_date or fetched_at
    return "".join(ch for ch in value if ch.isdigit())[:14]


def replayable(row: Any) -> bool:
    """Whether a capture belongs in a replay index: anything but a 304 (an empty answer that
    pywb and ReplayWeb.page would serve as the page)."""
    return row.status != 304


def cdxj_line(row: Any) -> str:
    """One capture as a CDXJ line, field for field as cdxj-indexer writes it.

    The single place a line is built: new fields (method, requestBody for POST captures)
    belong here.
    """
    mime = "warc/revisit" if row.record_type == "revisit" else (row.content_type or "").split(";")[0].strip()
    fields = {"url": row.url, "mime": mime, "status": str(row.status), "digest": row.payload_digest,
              "length": str(row.warc_length), "offset": str(row.warc_offset), "filename": row.warc_file}
    fields = {key: value for key, value in fields.items() if value not in (None, "", "None")}
    key_url = row.url
    if row.request_body is not None:  # POST: keyed by its body, as cdxj-indexer --post-append does
        key_url, fields["method"], fields["requestBody"] = post_key(row.url, row.method, row.request_body)
    return f"{surt.surt(key_url)} {_timestamp(row.warc_date, row.fetched_at)} {json.dumps(fields)}"


_COLUMNS = (captures.c.url, captures.c.warc_date, captures.c.fetched_at, captures.c.content_type,
            captures.c.status, captures.c.payload_digest, captures.c.warc_length, captures.c.warc_offset,
            captures.c.warc_file, captures.c.record_type, captures.c.method, captures.c.request_body)


def _checked_rows(index: Index, check: RecordCheck) -> Iterator[Any]:
    """Every capture in (file, offset) order, each record's start checked on disk.

    A record counts as readable when its file exists, holds all of its bytes and a gzip
    member starts at its offset; ``verify`` is the full check of digests and contents.
    """
    stream: IO[bytes] | None = None
    try:
        with index.engine.connect() as conn:
            current, size = None, 0
            rows = conn.execution_options(stream_results=True, yield_per=5000).execute(
                select(*_COLUMNS).order_by(captures.c.warc_file, captures.c.warc_offset))
            for row in rows:
                if row.warc_file != current:
                    current = row.warc_file
                    check.files.append(current)
                    if stream is not None:
                        stream.close()
                    try:
                        location = index.locate(current)
                        stream = location.open()  # one file open at a time
                        size = location.length()
                    except OSError as exc:
                        stream = None
                        check.problems[current] = f"missing ({exc.strerror})"
                _check_record(row, stream, size, check)
                yield row
    finally:
        if stream is not None:
            stream.close()


def _check_record(row: Any, stream: IO[bytes] | None, size: int, check: RecordCheck) -> None:
    """Note a problem with the row's file when the record's bytes are not all there."""
    if stream is None or row.warc_file in check.problems:
        return
    end = row.warc_offset + row.warc_length
    if end > size:
        check.problems[row.warc_file] = f"truncated: record at offset {row.warc_offset} ends at {end}, " \
                                        f"file has {size} bytes"
        return
    stream.seek(row.warc_offset)
    if stream.read(2) not in _RECORD_STARTS:
        check.problems[row.warc_file] = f"no WARC record at offset {row.warc_offset}"


def _sorted_runs(lines: Iterable[str], workdir: Path, run_lines: int) -> list[Path]:
    runs: list[Path] = []
    chunk: list[str] = []

    def spill() -> None:
        chunk.sort()
        path = workdir / f"run-{len(runs):05d}.cdxj"
        with open(path, "w", encoding="utf-8") as out:
            out.writelines(line + "\n" for line in chunk)
        runs.append(path)
        chunk.clear()

    for line in lines:
        chunk.append(line)
        if len(chunk) >= run_lines:
            spill()
    if chunk or not runs:
        spill()
    return runs


def sorted_cdxj(index: Index, out: IO[str], run_lines: int = SORT_RUN_LINES) -> tuple[int, RecordCheck]:
    """Write the sorted CDXJ index to ``out`` in bounded memory (sorted runs on disk, merged).

    Raises ``ReplayError`` naming every WARC file that is missing or truncated, before
    writing anything.
    """
    check = RecordCheck()
    with tempfile.TemporaryDirectory(prefix="cdxj-sort-") as tmp:
        lines = (cdxj_line(row) for row in _checked_rows(index, check) if replayable(row))
        runs = _sorted_runs(lines, Path(tmp), run_lines)
        check.raise_if_bad()
        count = 0
        with ExitStack() as stack:
            streams = [stack.enter_context(open(path, encoding="utf-8")) for path in runs]
            for line in heapq.merge(*streams):
                out.write(line)
                count += 1
    return count, check


def post_key(url: str, method: str, body_query: str) -> tuple[str, str, str]:
    """(URL to key by, method, requestBody) of a POST capture: pywb looks a replayed POST up
    by ``url?__wb_method=post&<body query>``."""
    method = (method or "POST").upper()
    appended = ("&" if "?" in url else "?") + "__wb_method=" + method + ("&" + body_query if body_query else "")
    return url + appended, method, body_query


def write_cdxj(index: Index, out: IO[str]) -> int:
    """The CDXJ index for pywb; returns the number of lines."""
    return sorted_cdxj(index, out)[0]


def cdxj_lines(index: Index) -> Iterator[str]:
    """The sorted CDXJ lines, without newlines (read from a sorted file on disk)."""
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spool:
        sorted_cdxj(index, spool)
        spool.seek(0)
        for line in spool:
            yield line.rstrip("\n")


def _pages(index: Index) -> Iterator[dict]:
    """pages.jsonl entries: one per article version (each article row), at its capture's time."""
    with index.engine.connect() as conn:
        rows = conn.execute(
            select(articles.c.id, articles.c.url, articles.c.title, captures.c.warc_date, captures.c.fetched_at)
            .join(captures, captures.c.id == articles.c.capture_id).order_by(articles.c.id)
        )
        for row in rows:
            ts = (row.warc_date or row.fetched_at)[:19] + "Z"
            yield {"id": f"article-{row.id}", "url": row.url, "ts": ts, "title": row.title or ""}


def resource_name(path: str, taken: set[str]) -> str:
    """A valid, unique data-package resource name for a zip entry path (WARC names hold ``~``)."""
    base = _NAME_INVALID.sub("-", Path(path).name.lower()).strip("-") or "resource"
    name, serial = base, 1
    while name in taken:
        serial += 1
        name = f"{base}-{serial}"
    taken.add(name)
    return name


class _HashingWriter:
    """Counts and sha256-hashes what passes into a zip entry, for datapackage.json."""

    def __init__(self, target: IO[bytes]) -> None:
        self.target, self.digest, self.size = target, hashlib.sha256(), 0

    def write(self, data: bytes) -> None:
        self.target.write(data)
        self.digest.update(data)
        self.size += len(data)


def _add_entry(wacz: zipfile.ZipFile, name: str, source: Path | WarcLocation, compress: bool) -> tuple[str, int]:
    """Stream one file into the zip; returns (sha256 hex, bytes).

    zip64 only where an entry needs it, and then in both headers: a stored entry of known
    size gets the local zip64 extra exactly when its size passes the zip limit (the central
    directory adds one then too). Deflating is kept for entries far below that limit, since
    zipfile would otherwise decide zip64 from a guess (size x 1.05) in the local header only.
    ReplayWeb.page finds entry data from the central directory alone, so a local-only extra
    shifts every read.
    """
    if isinstance(source, Path):
        source = WarcLocation(source.name, source)
    size = source.length()
    info = zipfile.ZipInfo(name, date_time=datetime.now(UTC).timetuple()[:6])
    deflate = compress and size * 1.05 < zipfile.ZIP64_LIMIT
    info.compress_type = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with wacz.open(info, "w", force_zip64=size > zipfile.ZIP64_LIMIT) as entry, source.open() as stream:
        writer = _HashingWriter(entry)
        while chunk := stream.read(1 << 20):
            writer.write(chunk)
    return writer.digest.hexdigest(), writer.size


WACZ_INDEX = "indexes/index.cdx"


def write_wacz(index: Index, path: Path, title: str = "portal-archiver collection") -> dict:
    """Write a WACZ 1.1.1 file, streaming every part to disk; return its datapackage.

    The index entry is ``indexes/index.cdx`` (CDXJ lines, as py-wacz writes them), the name
    both ReplayWeb.page and ``wb-manager add --unpack-wacz`` look for. Every record the
    index lists is checked first; a missing or truncated WARC file raises ``ReplayError``
    and no WACZ is written.
    """
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="wacz-", dir=path.parent) as tmp:
        cdx_path, pages_path = Path(tmp) / "index.cdx", Path(tmp) / "pages.jsonl"
        with open(cdx_path, "w", encoding="utf-8") as out:
            _, check = sorted_cdxj(index, out)
        with open(pages_path, "wb") as out:
            header = {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}
            for entry in [header, *_pages(index)]:
                out.write(json.dumps(entry, ensure_ascii=False).encode("utf-8") + b"\n")
        partial = Path(tmp) / "out.wacz"
        resources: list[dict] = []
        taken: set[str] = set()
        with zipfile.ZipFile(partial, "w", allowZip64=True) as wacz:
            entries = [(f"archive/{name}", index.locate(name), False) for name in sorted(check.files)]
            entries += [(WACZ_INDEX, cdx_path, True), ("pages/pages.jsonl", pages_path, True)]
            for name, source, compress in entries:
                digest, size = _add_entry(wacz, name, source, compress)
                resources.append({"name": resource_name(name, taken), "path": name, "hash": f"sha256:{digest}",
                                  "bytes": size})
            package = {
                "profile": "data-package",
                "wacz_version": WACZ_VERSION,
                "title": title,
                "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "software": "portal-archiver",
                "resources": resources,
            }
            package_bytes = json.dumps(package, ensure_ascii=False, indent=2).encode("utf-8")
            wacz.writestr("datapackage.json", package_bytes)
            digest = {"path": "datapackage.json", "hash": f"sha256:{hashlib.sha256(package_bytes).hexdigest()}"}
            wacz.writestr("datapackage-digest.json", json.dumps(digest))
        os.replace(partial, path)
    return package


def write_pywb_collection(index: Index, collection: Path, copy: bool = False) -> tuple[int, list[str]]:
    """Lay out a pywb collection directory: ``archive/`` (WARC files linked, or copied) and
    ``indexes/index.cdxj``. Serve it with ``wayback`` from the directory holding
    ``collections/``. Returns (index lines, WARC file names).
    """
    collection = Path(collection)
    (collection / "archive").mkdir(parents=True, exist_ok=True)
    (collection / "indexes").mkdir(parents=True, exist_ok=True)
    target = collection / "indexes" / "index.cdxj"
    partial = target.with_name("index.cdxj.partial")
    with open(partial, "w", encoding="utf-8") as out:
        count, check = sorted_cdxj(index, out)
    for name in check.files:
        location, link = index.locate(name), collection / "archive" / name
        if link.is_symlink() or link.exists():
            link.unlink()
        if location.whole_file and not copy:
            link.symlink_to(location.path.resolve())
        elif location.whole_file:
            shutil.copy2(location.path.resolve(), link)
        else:  # a WARC inside a WACZ: its bytes written out
            with location.open() as stream, open(link, "wb") as out:
                shutil.copyfileobj(stream, out, 1 << 20)
    os.replace(partial, target)
    return count, check.files
