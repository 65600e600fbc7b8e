"""``portal-archive import``: index WARC collections other tools wrote (wget, Heritrix,
warcprox, Browsertrix WACZ, Archive-It exports), so search, history, change tracking and the
exports work on them as on the project's own crawls.

For each WARC (plain, gzipped per record, or an entry of a WACZ) every record is read once,
its digests checked (``archive.warc_reader.scan_records``, which reads past a damaged
record): request, response, revisit and resource records become ``captures`` rows, each
pointing at the record where it is (``warc_files`` says where that is: archive/locations.py),
or at a copy in the archive's ``warc/`` with ``--copy``. Every HTML page fetched with a 200
goes through the crawl's own extraction (crawler/extract: page kind, article, 信息公开 fields,
images), in worker processes with ``-j N``; articles are grouped into sites by host, or all
into ``--site``; each site's template lines are learned and stripped as in the crawl
(archive/site_templates.py).

Rows go in by batches, each batch in one transaction with the file's resume point, so a
killed import resumes where its last batch ended, and adds no row twice: a record is known
by its WARC-Record-ID and an article text by (url, body_digest). A file already imported (its
sha256) is skipped. Revisits whose original is in a file read later, or in another run,
are resolved when every file has been read.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import socket
import struct
import time
import zipfile
import zlib
from collections import Counter, OrderedDict, deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from archive.articles import body_digest, item_fields
from archive.attachments import AttachmentIndexer, AttachmentRow
from archive.bulk import (
    capture_ids,
    capture_row,
    finish_bulk,
    insert_articles,
    insert_captures,
    insert_images,
    link_images,
)
from archive.locations import WarcLocation, WarcLocator
from archive.lookup import good_capture_condition
from archive.models import articles, captures, crawls, utc_iso, warc_files
from archive.progress import Progress, progress
from archive.records import request_body_query
from archive.recovery import recover
from archive.reextract import DocumentResult, Page, PageResult, extract_batch, may_be_document, worker_pool
from archive.site_templates import SiteTemplates, known_templates, save_learned
from archive.warc_reader import INDEXED_TYPES, RecordInfo, WarcReadError, read_record, scan_records

logger = logging.getLogger(__name__)

WARC_NAMES = (".warc", ".warc.gz", ".wacz")
_HTML = ("text/html", "application/xhtml")
# Pairing a response with its request: they are written next to each other (request first
# by wget and Heritrix, after by warcprox and pywb); one not met within this many records
# has none.
PAIR_WINDOW = 8
# Magic numbers of compressions a WARC file cannot be read through (gzip per record or
# nothing is what the standard allows).
FOREIGN = ((b"\x28\xb5\x2f\xfd", "zstd"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"), (b"PK\x03\x04", "zip"))
_GZIP = b"\x1f\x8b"


class SourceProblem(Exception):
    """A file that cannot be imported; the message says why, in one line."""


@dataclass
class Source:
    """One WARC to import: where its bytes are and the name it is indexed under."""

    given: Path  # the file named (the .wacz for an entry of one)
    location: WarcLocation
    mtime_ns: int

    @property
    def label(self) -> str:
        return str(self.location)


@dataclass
class ImportReport:
    files: int = 0
    skipped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        c = self.counts
        return [
            f"imported {c['files_done']} file(s), {len(self.skipped)} already imported, "
            f"{len(self.errors)} with errors: "
            f"{c['records']} records, {c['captures']} new captures, {c['articles']} new articles "
            f"({c['articles_known']} already indexed), {c['sites']} site(s), {c['revisits_resolved']} revisits "
            f"resolved ({c['revisits_unresolved']} without their original), in {self.seconds:.1f} s",
        ]


# --- finding the WARCs ------------------------------------------------------------------


def find_sources(paths: list[Path]) -> tuple[list[Source], list[str]]:
    """The WARCs named, directories searched for ``*.warc``, ``*.warc.gz`` and ``*.wacz``;
    (sources, one error line per file that cannot be read)."""
    sources, errors = [], []
    for given in paths:
        if given.is_dir():
            found = sorted(path for path in given.rglob("*") if path.is_file() and path.name.endswith(WARC_NAMES))
            if not found:
                errors.append(f"{given}: no WARC or WACZ file in this directory")
        else:
            found = [given]
        for path in found:
            try:
                sources += wacz_sources(path) if path.name.endswith(".wacz") else [_file_source(path)]
            except SourceProblem as exc:
                errors.append(f"{path}: {exc}")
    return sources, errors


def _file_source(path: Path) -> Source:
    try:
        stat = path.resolve().stat()
    except OSError as exc:
        raise SourceProblem(exc.strerror or str(exc)) from None
    return Source(path, WarcLocation(path.name, path.resolve(), imported=True), stat.st_mtime_ns)


def wacz_sources(path: Path) -> list[Source]:
    """The WARC entries of a WACZ (``archive/*.warc*``), each read in place inside the zip.

    WACZ stores its WARCs uncompressed in the zip (WACZ 1.1.1, "store"), so a record's offset
    in the WARC plus where the entry's bytes begin is its offset in the zip.
    """
    resolved = path.resolve()
    try:
        stat = resolved.stat()
        with zipfile.ZipFile(resolved) as package, open(resolved, "rb") as raw:
            entries = [info for info in package.infolist()
                       if info.filename.startswith("archive/") and ".warc" in info.filename and not info.is_dir()]
            if not entries:
                raise SourceProblem("a WACZ with no WARC under archive/")
            sources = []
            for info in entries:
                if info.compress_type != zipfile.ZIP_STORED:
                    raise SourceProblem(f"{info.filename} is stored compressed in the zip (WACZ stores WARCs "
                                        "uncompressed); its records have no offsets: unzip it and import the WARC")
                base = _entry_data_offset(raw, info)
                location = WarcLocation(Path(info.filename).name, resolved, base, info.file_size, True, info.filename)
                sources.append(Source(path, location, stat.st_mtime_ns))
            return sources
    except (zipfile.BadZipFile, zlib.error, struct.error) as exc:
        raise SourceProblem(f"not a readable WACZ (zip): {exc}") from None
    except OSError as exc:
        raise SourceProblem(exc.strerror or str(exc)) from None


def _entry_data_offset(raw, info: zipfile.ZipInfo) -> int:
    """Where a zip entry's bytes begin: after its local file header (APPNOTE 4.3.7), whose
    name and extra field lengths may differ from the central directory's."""
    raw.seek(info.header_offset)
    header = raw.read(30)
    signature, name_length, extra_length = header[:4], *struct.unpack("<HH", header[26:30])
    if signature != b"PK\x03\x04":
        raise SourceProblem(f"{info.filename}: no local zip header at {info.header_offset}")
    return info.header_offset + 30 + name_length + extra_length


def sniff(location: WarcLocation) -> None:
    """Raise ``SourceProblem`` unless the file starts like a WARC: a gzip member holding a
    WARC record, or a record in the clear."""
    with location.open() as stream:
        head = stream.read(4096)
    if not head:
        raise SourceProblem("empty file")
    if head.startswith(_GZIP):
        try:
            start = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(head, 64)
        except zlib.error as exc:
            raise SourceProblem(f"a damaged gzip stream ({exc})") from None
        if not start.startswith(b"WARC/"):
            raise SourceProblem("gzip, but not of a WARC record")
        return
    for magic, name in FOREIGN:
        if head.startswith(magic):
            raise SourceProblem(f"compressed with {name}: WARC files are read gzipped per record or uncompressed "
                                "(decompress it, or recompress it with gzip per record)")
    if head.lstrip(b"\r\n").startswith(b"filedesc://"):
        raise SourceProblem("an ARC file, not WARC (convert it with warcio or jwarc first)")
    if not head.startswith(b"WARC/"):
        raise SourceProblem(f"not a WARC file (it begins {head[:16]!r})")


def _whole_gzip(location: WarcLocation) -> bool:
    """A gzipped WARC compressed as one stream (not one member per record) has no record
    offsets a reader can seek to: is this one? (Its first member holds more than one record.)"""
    with location.open() as stream:
        if stream.read(2) != _GZIP:
            return False
        stream.seek(0)
        member = zlib.decompressobj(zlib.MAX_WBITS | 16)
        data = b""
        while not member.eof and len(data) < 1 << 22:
            chunk = stream.read(1 << 16)
            if not chunk:
                break
            data += member.decompress(chunk)
        return not member.eof and data.count(b"\r\nWARC/1.") > 0


def fingerprint(location: WarcLocation) -> tuple[str, int]:
    """(sha256 of the WARC's bytes, their size)."""
    digest, size = hashlib.sha256(), 0
    with location.open() as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


# --- reading a file into batches ----------------------------------------------------------


@dataclass
class FileState:
    source: Source
    row_id: int
    name: str
    problems: list[WarcReadError] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)


@dataclass
class Batch:
    """Rows of consecutive records of one file; ``end``: where the next batch starts.
    ``pages``: (row index, page) of the HTML pages to extract; ``documents``: (row index,
    offset) of the other 200 responses, whose text is read if they are documents."""

    state: FileState
    rows: list[dict[str, Any]]
    pages: list[tuple[int, Page]]
    end: int
    records: int
    last: bool = False
    software: str | None = None
    documents: list[tuple[int, int]] = field(default_factory=list)


def _is_html(content_type: str | None, payload: bytes) -> bool:
    if content_type:
        return content_type.lower().startswith(_HTML)
    return b"<html" in payload[:2048].lower()


def _keep(record) -> bool:
    """Records whose payload the import needs: pages fetched with a 200 (to extract), the
    bodies of POST/PUT requests (how pywb keys them), warcinfo (the writer's software)."""
    if record.rec_type == "response":
        http = record.http_headers
        return http is not None and http.get_statuscode() == "200" and (
            (http.get_header("Content-Type") or "text/html").lower().startswith(_HTML))
    if record.rec_type == "request":
        return record.http_headers is not None and record.http_headers.protocol.upper() in ("POST", "PUT")
    return record.rec_type == "warcinfo"


class _Pairs:
    """Matches response/revisit/resource rows with their request records (either order)."""

    def __init__(self) -> None:
        self.rows: OrderedDict[str, tuple[dict[str, Any], str | None, int]] = OrderedDict()
        self.requests: OrderedDict[str, tuple[RecordInfo, int]] = OrderedDict()
        self.seen = 0

    def response(self, info: RecordInfo, row: dict[str, Any]) -> None:
        self.seen += 1
        for key, (request, _) in list(self.requests.items()):
            if key == info.concurrent_to or request.concurrent_to == info.record_id:
                del self.requests[key]
                _attach(row, request)
                return
        self.rows[info.record_id or ""] = (row, info.concurrent_to, self.seen)
        self._expire()

    def request(self, info: RecordInfo) -> None:
        self.seen += 1
        for key, (row, partner, _) in list(self.rows.items()):
            if key == info.concurrent_to or partner == info.record_id:
                del self.rows[key]
                _attach(row, info)
                return
        self.requests[info.record_id or ""] = (info, self.seen)
        self._expire()

    def _expire(self) -> None:
        for waiting in (self.rows, self.requests):
            while waiting and self.seen - next(iter(waiting.values()))[-1] > PAIR_WINDOW:
                waiting.popitem(last=False)

    def settled(self) -> bool:
        """Nothing still waiting for its partner (a batch may end here)."""
        self._expire()
        return not self.rows and not self.requests


def _attach(row: dict[str, Any], request: RecordInfo) -> None:
    row["request_offset"], row["request_length"] = request.offset, request.length
    row["method"] = (request.method or "GET").upper()
    row["request_body"] = request_body_query(row["method"], request.content_type, request.payload or b"")


def read_batches(state: FileState, start: int, crawl_id: int, batch_size: int, meter: Progress,
                 page_maxsize: int, documents: bool = True) -> Iterator[Batch]:
    """The file's records from ``start`` as batches of at least ``batch_size`` capture rows,
    ended only where no record waits for its partner."""
    rows: list[dict[str, Any]] = []
    pages: list[tuple[int, Page]] = []
    files: list[tuple[int, int]] = []
    pairs, records, position, software = _Pairs(), 0, start, None
    for item in scan_records(state.source.location, start=start, keep=_keep):
        if isinstance(item, WarcReadError):
            state.problems.append(item)
            continue
        records += 1
        position = item.offset + item.length
        meter.record(item.length)
        if item.record_type == "warcinfo" and item.payload and software is None:
            software = _software(item.payload)
        elif item.record_type == "request":
            pairs.request(item)
        elif item.record_type in INDEXED_TYPES:
            row = capture_row(item, state.name, crawl_id)
            rows.append(row)
            pairs.response(item, row)
            if item.payload is not None and _is_html(item.content_type, item.payload) and not item.truncated:
                if len(item.payload) > page_maxsize:
                    state.counts["pages_too_large"] += 1
                else:
                    http = item.record.http_headers
                    cookies = [value for key, value in http.headers if key.lower() == "set-cookie"] if http else []
                    pages.append((len(rows) - 1, (item.url, item.payload, item.content_type, cookies)))
            elif (documents and item.record_type == "response" and item.status == 200 and not item.truncated
                  and may_be_document(item.content_type)):
                files.append((len(rows) - 1, item.offset))
        if len(rows) >= batch_size and pairs.settled():
            yield Batch(state, rows, pages, position, records, software=software, documents=files)
            rows, pages, files, records = [], [], [], 0
    yield Batch(state, rows, pages, position, records, last=True, software=software, documents=files)


def _software(payload: bytes) -> str | None:
    for line in payload.decode("utf-8", "replace").splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() == "software":
            return value.strip()[:200] or None
    return None


# --- the import ---------------------------------------------------------------------------


class Importer:
    """One ``portal-archive import`` run into one archive (index + WARC directory)."""

    def __init__(self, engine: Engine, warc_dir: Path, *, site: str | None = None, copy: bool = False,
                 jobs: int = 1, batch_size: int = 500, progress_every: float = 10.0, attachments: bool = True) -> None:
        from crawler import settings as defaults  # the crawl's limits and learning, read from their one home
        from crawler.extract.site_fields import SiteFieldLearner

        self.engine, self.warc_dir, self.site, self.copy = engine, Path(warc_dir), site, copy
        self.jobs, self.batch_size, self.progress_every = max(1, jobs), batch_size, progress_every
        self.attachments = attachments
        self.page_maxsize = defaults.PAGE_MAXSIZE
        self.report = ImportReport()
        # What the crawl's pipelines learn per site, learned here the same way: template lines
        # (pipelines/chrome.py) and title endings and non-authors (pipelines/site_fields.py).
        self.templates = SiteTemplates(defaults.CHROME_TEMPLATE_MIN_PAGES, defaults.CHROME_TEMPLATE_SHARE)
        self.learner = SiteFieldLearner(defaults.SITE_FIELDS_MIN_PAGES, defaults.SITE_FIELDS_SHARE)
        self.sites: set[str] = set()
        self.crawl_id: int | None = None
        self.decided: dict[str, Any] = {}
        self._pool: ProcessPoolExecutor | None = None

    # The run ---------------------------------------------------------------------------

    def run(self, sources: list[Source]) -> ImportReport:
        started = time.monotonic()
        self.warc_dir.mkdir(parents=True, exist_ok=True)  # the archive's own, even when it holds no copy
        recover(self.engine, self.warc_dir)  # a killed earlier run (or crawl) is marked as such
        from crawler.extract.site_fields import earlier_facts

        with self.engine.connect() as conn:
            self.floor = conn.execute(select(func.coalesce(func.max(articles.c.id), 0))).scalar_one()
            self.templates.known.update(known_templates(conn))
            self.attachment_index = AttachmentIndexer(conn)
        for site, facts in earlier_facts(self.engine).items():
            self.learner.seed(site, facts)
        status = "failed"
        try:
            total = sum(_size(source.location) for source in sources)
            with progress("import", len(sources), total, self.progress_every) as meter:
                self._pipeline(self._all_batches(sources, meter), meter)
            if self.crawl_id is not None:
                self._finish_links()
            status = "finished"
        finally:
            self._close_pool()
            self.report.seconds = time.monotonic() - started
            self.report.counts["sites"] = len(self.sites)
            if self.crawl_id is not None:
                stats: dict[str, Any] = {"summary": dict(self.report.counts), "errors": self.report.errors[:100]}
                if self.decided:  # what the next crawls and imports start from (crawler/extract/site_fields.py)
                    from crawler.extract.site_fields import STATS_KEY

                    stats[STATS_KEY] = {site: facts.to_json() for site, facts in sorted(self.decided.items())}
                with self.engine.begin() as conn:
                    conn.execute(update(crawls).where(crawls.c.id == self.crawl_id).values(
                        finished_at=utc_iso(), status=status, stats=stats))
        return self.report

    def _crawl(self, conn) -> int:
        """This run's ``crawls`` row (spider ``import``), made when a first file is imported:
        a run that finds everything imported already adds no row at all."""
        if self.crawl_id is None:
            self.crawl_id = conn.execute(insert(crawls).values(
                spider="import", site=self.site, started_at=utc_iso(), status="running",
                hostname=socket.gethostname(), pid=os.getpid())).inserted_primary_key[0]
        return self.crawl_id

    def _all_batches(self, sources: list[Source], meter: Progress) -> Iterator[Batch]:
        """Every file's batches in turn; a file that cannot be read is one error line."""
        for source in sources:
            try:
                state, start = self._open_file(source)
            except SourceProblem as exc:
                self.report.errors.append(f"{source.label}: {exc}")
                meter.file_done(_size(source.location))
                continue
            if state is None:
                meter.file_done(_size(source.location))
                continue
            self.report.files += 1
            meter.skip(start)  # indexed by an earlier run
            yield from read_batches(state, start, self.crawl_id or 0, self.batch_size, meter, self.page_maxsize,
                                    self.attachments)

    def _pipeline(self, batches: Iterator[Batch], meter: Progress) -> None:
        """Three stages at once: this thread reads the files, the workers extract pages (``-j``),
        one writer thread writes the batches in order. A database busy with one batch (the
        server's own CPU: search index, unique rules) then holds up neither the reading nor
        the extraction of the next ones."""
        counts = self.report.counts
        meter.detail = lambda: f"{counts['articles']} new articles"
        with ThreadPoolExecutor(1, thread_name_prefix="import-writer") as writer:
            writes: deque[Future] = deque()
            try:
                for batch in batches:
                    writes.append(writer.submit(self._write, batch, self._extract(batch), meter))
                    while writes and (writes[0].done() or len(writes) > self.jobs + 1):
                        writes.popleft().result()  # a write that failed stops the import here
                while writes:
                    writes.popleft().result()
            finally:
                for pending in writes:
                    pending.cancel()

    def _extract(self, batch: Batch) -> Future | tuple[list[PageResult], list[DocumentResult]]:
        """The batch's pages and documents read, in a worker (``-j`` above 1) or here."""
        pages = [page for _, page in batch.pages]
        location = batch.state.source.location
        offsets = [offset for _, offset in batch.documents]
        if self.jobs <= 1 or not (pages or offsets):
            return extract_batch(pages, location, offsets)
        if self._pool is None:
            self._pool = worker_pool(self.jobs)
        return self._pool.submit(extract_batch, pages, location, offsets)

    def _close_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    # One file --------------------------------------------------------------------------

    def _open_file(self, source: Source) -> tuple[FileState | None, int]:
        """The file's row (made now, or left by a killed run) and where to start reading; no
        state when it was imported before."""
        location = source.location
        if not location.exists():
            raise SourceProblem("no such file")
        with self.engine.connect() as conn:
            quick = conn.execute(select(warc_files.c.name).where(
                warc_files.c.path == str(location.path), _member_is(location.member),
                warc_files.c.mtime_ns == source.mtime_ns, warc_files.c.status == "done")).first()
        if quick is not None:
            self.report.skipped.append(f"{source.label}: already imported as {quick.name}")
            return None, 0
        sniff(location)
        if location.member is None and location.path.name.endswith(".gz") and _whole_gzip(location):
            raise SourceProblem("gzipped as one stream, not one gzip member per record, so its records cannot be "
                                "read by offset (recompress it per record: warcio recompress IN OUT)")
        sha256, size = fingerprint(location)
        with self.engine.begin() as conn:
            row = conn.execute(select(warc_files).where(warc_files.c.sha256 == sha256)).first()
            if row is not None and row.status == "done":
                self._relocate(conn, row, source)
                self.report.skipped.append(f"{source.label}: already imported as {row.name}")
                return None, 0
            if row is not None:  # a run that was killed: go on from its last batch
                conn.execute(update(warc_files).where(warc_files.c.id == row.id).values(crawl_id=self._crawl(conn)))
                logger.info("%s: resuming at offset %d (an earlier import stopped there)", source.label,
                            row.resume_offset)
                placed = self._copy_in(source, row.name) if row.path is None else source.location
                return FileState(Source(source.given, placed, source.mtime_ns), row.id, row.name), row.resume_offset
            name = self._free_name(conn, location.name)
            # The row first, then the copy: a copy cut short by a kill is made again on resume.
            values = {"name": name, "path": None if self.copy else str(location.path), "member": location.member,
                      "base_offset": 0 if self.copy else location.base, "size": size, "sha256": sha256,
                      "mtime_ns": source.mtime_ns, "status": "importing", "resume_offset": 0,
                      "records": 0, "captures": 0, "articles": 0}
        try:
            with self.engine.begin() as conn:
                values["crawl_id"] = self._crawl(conn)
                row_id = conn.execute(insert(warc_files).values(**values)).inserted_primary_key[0]
        except IntegrityError:
            raise SourceProblem("being imported by another process at the same time (or named twice)") from None
        placed = self._copy_in(source, name) if self.copy else location
        return FileState(Source(source.given, placed, source.mtime_ns), row_id, name), 0

    def _relocate(self, conn, row: Any, source: Source) -> None:
        """A file imported in place that has moved since: its row follows it."""
        if row.path is None or Path(row.path).exists() or source.location.path == Path(row.path):
            return
        conn.execute(update(warc_files).where(warc_files.c.id == row.id).values(
            path=str(source.location.path), member=source.location.member, base_offset=source.location.base,
            mtime_ns=source.mtime_ns))
        logger.info("%s: imported before from %s, which is gone; its records are read here now",
                    source.label, row.path)

    def _free_name(self, conn, wanted: str) -> str:
        """A file name no other WARC of the archive has (captures.warc_file, the directory)."""
        stem, suffix = _split_suffix(wanted)
        name, serial = wanted, 1
        while (self.warc_dir / name).exists() or conn.execute(
                select(warc_files.c.id).where(warc_files.c.name == name)).first() or conn.execute(
                select(captures.c.id).where(captures.c.warc_file == name).limit(1)).first():
            serial += 1
            name = f"{stem}-{serial}{suffix}"
        return name

    def _copy_in(self, source: Source, name: str) -> WarcLocation:
        """``--copy``: the WARC's bytes into the archive's WARC directory, complete or not at all
        (a copy made before is kept)."""
        target = self.warc_dir / name
        if target.exists():
            return WarcLocation(name, target)
        self.warc_dir.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{name}.importing")
        with source.location.open() as stream, open(partial, "wb") as out:
            shutil.copyfileobj(stream, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
        return WarcLocation(name, target)

    # Writing -----------------------------------------------------------------------------

    def _write(self, batch: Batch, extracted: Future | tuple[list[PageResult], list[DocumentResult]],
               meter: Progress) -> None:
        results, documents = extracted.result() if isinstance(extracted, Future) else extracted
        counts, state = self.report.counts, batch.state
        article_rows: list[dict[str, Any]] = []
        images: dict[str, list[str]] = {}
        links: list[tuple[str, list[tuple[str, str | None]]]] = []
        for (index, (url, _, _, _)), result in zip(batch.pages, results, strict=True):
            row = batch.rows[index]
            if result.error:
                counts["pages_unreadable"] += 1
                logger.warning("could not read %s (%s @ %s): %s", url, state.name, row["warc_offset"], result.error)
            elif result.challenge:
                row["flags"] = ",".join(filter(None, [row["flags"], f"challenge:{result.challenge}"]))
                counts["challenges"] += 1
            elif result.item is not None:
                article_rows.append(self._article(result.item, row))
                if result.item.images:
                    images[row["warc_record_id"]] = list(result.item.images)
                if result.item.attachments:
                    titles = result.item.attachment_titles or {}
                    links.append((row["warc_record_id"], [(url, titles.get(url)) for url in result.item.attachments]))
        files = self._attachment_rows(batch, documents)
        with self.engine.begin() as conn:
            added_captures = insert_captures(conn, batch.rows)
            ids = capture_ids(conn, [row["record_id"] for row in article_rows])
            record_of = {capture_id: record_id for record_id, capture_id in ids.items()}
            for row in article_rows:
                row["capture_id"] = ids.get(row.pop("record_id"))
            added = insert_articles(conn, [row for row in article_rows if row["capture_id"] is not None])
            insert_images(conn, [(row["id"], images[record_of[row["capture_id"]]]) for row in added
                                 if record_of[row["capture_id"]] in images])
            # The crawl's own attachment tables (archive/attachments.py): links of the new
            # articles, then the files' text (links made earlier in this run follow them).
            self.attachment_index.link(conn, links)
            counts["attachments"] += self.attachment_index.write(conn, files, self.crawl_id)
            values: dict[str, Any] = {
                "resume_offset": batch.end, "records": warc_files.c.records + batch.records,
                "captures": warc_files.c.captures + added_captures, "articles": warc_files.c.articles + len(added)}
            if batch.software:
                values["software"] = batch.software
            if batch.last:
                values.update(status="done", imported_at=utc_iso())
            conn.execute(update(warc_files).where(warc_files.c.id == state.row_id).values(**values))
        self.sites.update(row["site"] for row in added if row["site"])
        counts["records"] += batch.records
        counts["captures"] += added_captures
        counts["articles"] += len(added)
        counts["articles_known"] += len(article_rows) - len(added)
        if batch.last:
            self._file_done(state, meter)

    def _attachment_rows(self, batch: Batch, documents: list[DocumentResult]) -> list[AttachmentRow]:
        """Attachment versions (archive/attachments.py) of the batch's documents."""
        rows = []
        for (index, _), result in zip(batch.documents, documents, strict=True):
            row = batch.rows[index]
            if result.error:
                logger.warning("could not read %s (%s @ %s): %s", row["url"], batch.state.name, row["warc_offset"],
                               result.error)
            if result.text is None:
                continue
            text = result.text
            self.report.counts[f"attachments_{text.status}"] += 1
            rows.append(AttachmentRow(row["warc_record_id"], {
                "url": row["url"], "content_type": row["content_type"], "size": result.size,
                "kind": text.kind or None, "pages": text.pages, "text": text.text or None, "status": text.status,
                "error": text.error, "members": text.members or None}))
        return rows

    def _article(self, item: Any, capture: dict[str, Any]) -> dict[str, Any]:
        """The article row of an extracted item, as the crawl's pipelines make it: its site,
        its digest taken before the site's template lines are stripped (pipelines/chrome.py),
        its title and author as earlier runs decided for the site (pipelines/site_fields.py)."""
        site = self.site or (urlsplit(item.url).hostname or "")
        item.body_digest = body_digest(item.body)
        item.body, cut = self.templates.strip(site, item.body or "")
        self.report.counts["template_lines_removed"] += cut
        self.learner.observe(site, item.page_title, item.author)
        revision = self.learner.kept(site).revise(item.title, item.author, item.site_name, item.confidence,
                                                  list(item.extraction_warnings or []))
        for name, value in revision.items():
            setattr(item, name, value)
        fields = item_fields(item, site)
        fields["record_id"] = capture["warc_record_id"]
        return fields

    def _file_done(self, state: FileState, meter: Progress) -> None:
        meter.file_done()
        self.report.counts["files_done"] += 1
        self.report.counts.update(state.counts)
        if state.problems:
            first = state.problems[0]
            more = f" (and {len(state.problems) - 1} more bad record(s))" if len(state.problems) > 1 else ""
            self.report.errors.append(f"{first}{more}; the file's other records are indexed")

    def _finish_links(self) -> None:
        """After every file: revisits to originals read later, image links, learned templates
        (attachment links were made as their articles and files were written); then each
        site's rows revised to what this run's articles taught (as the crawl does when it
        stops: pipelines/site_fields.py)."""
        from crawler.extract.site_fields import revise_rows

        locate = WarcLocator(self.engine, self.warc_dir)
        with self.engine.begin() as conn:
            resolved, unresolved = resolve_revisits(conn, locate, self.crawl_id)
            self.report.counts["revisits_resolved"] += resolved
            self.report.counts["revisits_unresolved"] += unresolved
            self.report.counts["images_linked"] += link_images(conn, self.floor, self.crawl_id)
            save_learned(conn, self.templates.learned())
            finish_bulk(conn)
        self.decided = {site: facts for site in self.learner.sites if (facts := self.learner.facts(site))}
        seen = {site: facts for site, facts in self.decided.items() if self.learner.sites[site].pages}
        if seen:
            self.report.counts["articles_revised_by_site"] += revise_rows(self.engine, seen)


def _member_is(member: str | None):
    return warc_files.c.member.is_(None) if member is None else warc_files.c.member == member


def _split_suffix(name: str) -> tuple[str, str]:
    for suffix in (".warc.gz", ".warc", ".wacz"):
        if name.endswith(suffix):
            return name[: -len(suffix)], suffix
    return name, ""


def _size(location: WarcLocation) -> int:
    try:
        return location.length()
    except OSError:
        return 0


# --- revisits -----------------------------------------------------------------------------


def resolve_revisits(conn, locate: WarcLocator, crawl_id: int) -> tuple[int, int]:
    """Point revisits without an original at it: this run's, and older ones whose payload a
    capture of this run holds. (resolved, still unresolved among them)

    The original is the record named by WARC-Refers-To; else the latest good capture of the
    WARC-Refers-To-Target-URI (or the revisit's own URL) with the same payload digest, at or
    before WARC-Refers-To-Date; else any full response with that payload digest.
    """
    this_run = select(captures.c.payload_digest).where(captures.c.crawl_id == crawl_id,
                                                       captures.c.record_type == "response")
    candidates = conn.execute(select(
        captures.c.id, captures.c.url, captures.c.warc_file, captures.c.warc_offset, captures.c.payload_digest,
    ).where(captures.c.record_type == "revisit", captures.c.refers_to_id.is_(None),
            or_(captures.c.crawl_id == crawl_id, captures.c.payload_digest.in_(this_run)))).all()
    resolved = 0
    for candidate in candidates:
        try:
            location = locate(candidate.warc_file)
            record, _ = read_record(location.path, location.base + candidate.warc_offset)
        except WarcReadError as exc:
            logger.warning("revisit %s not resolved: %s", candidate.url, exc)
            continue
        headers = record.rec_headers
        original = _original(conn, headers.get_header("WARC-Refers-To"),
                             headers.get_header("WARC-Refers-To-Target-URI") or candidate.url,
                             headers.get_header("WARC-Refers-To-Date"), candidate.payload_digest, candidate.id)
        if original is not None:
            conn.execute(update(captures).where(captures.c.id == candidate.id).values(refers_to_id=original))
            resolved += 1
    return resolved, len(candidates) - resolved


def _original(conn, record_id: str | None, url: str, date: str | None, digest: str | None,
              revisit_id: int) -> int | None:
    if record_id:
        found = conn.execute(select(captures.c.id).where(captures.c.warc_record_id == record_id)).scalar()
        if found is not None:
            return found
    if not digest:
        return None
    same = select(captures.c.id).where(captures.c.payload_digest == digest, captures.c.id != revisit_id,
                                       good_capture_condition())
    by_url = same.where(captures.c.url == url)
    if date:
        dated = conn.execute(by_url.where(captures.c.warc_date <= date).order_by(captures.c.id.desc()).limit(1))
        if (found := dated.scalar()) is not None:
            return found
    found = conn.execute(by_url.order_by(captures.c.id.desc()).limit(1)).scalar()
    if found is not None:
        return found
    return conn.execute(same.order_by(captures.c.id.desc()).limit(1)).scalar()
