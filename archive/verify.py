"""Check an archive: every WARC record reads and matches its digests, and the index and the
WARC files agree (no row pointing at a missing record, no response record without a row).
"""

from __future__ import annotations

import logging
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, func, select

from archive.models import captures, crawls
from archive.progress import Progress, progress
from archive.warc_reader import INDEXED_TYPES, RecordInfo, WarcReadError, scan_records
from archive.warc_writer import OPEN_SUFFIX

logger = logging.getLogger("archive.progress")


@dataclass
class Report:
    files: int = 0
    records: int = 0
    rows: int = 0
    errors: list[str] = field(default_factory=list)
    dangling: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    open_files: list[str] = field(default_factory=list)
    dangling_ids: list[int] = field(default_factory=list)
    elsewhere: int = 0  # rows whose records live on another host's WARC directory
    being_written: int = 0  # rows whose records are in a file still being written (.open)
    orphan_files: set[str] = field(default_factory=set)
    # Closed files whose last record is cut off (a full disk, a truncated copy): --repair
    # cuts them back to their last complete record, keeping the cut bytes aside.
    cut_off_files: set[str] = field(default_factory=set)
    # Files with a damaged record before their end: nothing here can mend them.
    damaged_files: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not (self.errors or self.dangling or self.orphans or self.open_files)

    def next_steps(self) -> list[str]:
        """What to do about each kind of problem found."""
        steps = []
        if self.dangling or self.orphans or self.open_files or self.cut_off_files:
            steps.append("portal-archive verify --repair, when no crawl is writing to this archive: it closes "
                         "unfinished files, cuts incomplete last records (their bytes kept in warc/damaged/), "
                         "indexes orphan records and drops rows that point at no record")
        if self.damaged_files:
            names = ", ".join(sorted(self.damaged_files)[:5]) + (" …" if len(self.damaged_files) > 5 else "")
            steps.append(f"restore {names} from a copy made before the damage: a damaged record cannot be mended "
                         "here (--repair only drops the index rows that point at it)")
        return steps

    def lines(self) -> list[str]:
        out = [f"error: {line}" for line in self.errors]
        out += [f"dangling index row: {line}" for line in self.dangling]
        out += [f"orphan record (no index row): {line}" for line in self.orphans]
        out += [f"unclosed WARC file: {line}" for line in self.open_files]
        verdict = "OK" if self.ok else "PROBLEMS FOUND"
        out.append(
            f"{verdict}: {self.files} files, {self.records} records, {self.rows} index rows; "
            f"{len(self.errors)} errors, {len(self.dangling)} dangling rows, {len(self.orphans)} orphan records, "
            f"{len(self.open_files)} unclosed files"
            + (f"; {self.elsewhere} rows of other hosts' files not checked" if self.elsewhere else "")
            + (f"; {self.being_written} rows of files still being written not checked" if self.being_written else "")
        )
        out += [f"next step: {step}" for step in self.next_steps()]
        return out


def check_files(paths: list[Path], report: Report | None = None, *,
                progress_every: float = 10.0) -> tuple[Report, dict[tuple[str, int], RecordInfo]]:
    """Read every record of every file; collect the indexable ones by (file name, offset).

    A bad record is reported and reading goes on past it (``scan_records``), so the records
    after it still count as present and their rows are never taken for dangling ones.
    """
    report = report or Report()
    found: dict[tuple[str, int], RecordInfo] = {}
    sizes = {path: _size(path) for path in paths}
    with progress("verify", len(paths), sum(sizes.values()), progress_every) as meter:
        for path in paths:
            report.files += 1
            read = _check_file(path, report, found, meter)
            meter.file_done(max(0, sizes[path] - read))
    return report, found


def _check_file(path: Path, report: Report, found: dict[tuple[str, int], RecordInfo], meter: Progress) -> int:
    """Check one file; the bytes of its good records (what the meter has counted)."""
    read = 0
    last: RecordInfo | WarcReadError | None = None
    for item in scan_records(path):
        if isinstance(last, WarcReadError):
            report.damaged_files.add(path.name)  # a bad record with records after it
        last = item
        if isinstance(item, WarcReadError):
            report.errors.append(str(item))
            continue
        report.records += 1
        read += item.length
        meter.record(item.length)
        if item.record_type in INDEXED_TYPES:
            found[(path.name, item.offset)] = item
    if isinstance(last, WarcReadError):
        if is_cut_off(path):
            report.cut_off_files.add(path.name)
        else:
            report.damaged_files.add(path.name)
    return read


def is_cut_off(path: Path) -> bool:
    """Does the file end in an incomplete gzip member (a record whose end never reached the
    disk), as opposed to a complete record that is damaged?"""
    from archive.recovery import complete_length

    return path.name.endswith(".gz") and complete_length(path) < _size(path)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def verify_archive(warc_dir: Path, engine: Engine, progress_every: float = 10.0) -> Report:
    """Cross-check the WARC files under ``warc_dir`` against the ``captures`` table.

    When machines share one index but keep their own WARC directories, rows of crawls run on
    another host whose file is not here belong to that host's directory and are skipped.
    """
    report = Report()
    here = socket.gethostname()
    present = {path.name for path in warc_dir.glob("*.warc*")}
    open_names = {name[: -len(OPEN_SUFFIX)] for name in present if name.endswith(OPEN_SUFFIX)}
    report.open_files = sorted(str(path) for path in warc_dir.glob(f"*{OPEN_SUFFIX}"))
    files = sorted(path for path in warc_dir.glob("*.warc*") if not path.name.endswith(OPEN_SUFFIX))
    report, found = check_files(files, report, progress_every=progress_every)
    indexed: set[tuple[str, int]] = set()
    columns = (captures.c.id, captures.c.url, captures.c.warc_file, captures.c.warc_offset,
               captures.c.warc_length, captures.c.warc_record_id, captures.c.payload_digest, crawls.c.hostname)
    with engine.connect() as conn:
        meter = RowMeter(conn.execute(select(func.count()).select_from(captures)).scalar_one(), progress_every)
        rows = conn.execute(select(*columns).join(crawls, crawls.c.id == captures.c.crawl_id, isouter=True))
        for row in rows:
            meter.step()
            if row.warc_file not in present and row.hostname and row.hostname != here:
                report.elsewhere += 1
                continue
            if row.warc_file in open_names:
                report.being_written += 1  # its file is reported as unclosed; repair closes it
                continue
            report.rows += 1
            key = (row.warc_file, row.warc_offset)
            indexed.add(key)
            info = found.get(key)
            where = f"capture {row.id} {row.url} -> {row.warc_file}@{row.warc_offset}"
            if info is None:
                report.dangling.append(f"{where}: no record there")
                report.dangling_ids.append(row.id)
            elif (info.record_id, info.url, info.payload_digest, info.length) != (
                row.warc_record_id, row.url, row.payload_digest, row.warc_length
            ):
                report.dangling.append(f"{where}: the record there does not match the row")
                report.dangling_ids.append(row.id)
    meter.done()
    for key in sorted(set(found) - indexed):
        info = found[key]
        report.orphans.append(f"{key[0]}@{key[1]} {info.record_type} {info.url}")
        report.orphan_files.add(key[0])
    return report


class RowMeter:
    """Progress of the pass over the index rows (a million captures take a while too):
    a log line every ``interval`` seconds and one at the end."""

    def __init__(self, total: int, interval: float) -> None:
        self.total, self.interval, self.rows = total, interval, 0
        self.started = self._logged = time.monotonic()

    def step(self) -> None:
        self.rows += 1
        now = time.monotonic()
        if now - self._logged >= self.interval:
            self._logged = now
            logger.info("%s", self.line())

    def line(self) -> str:
        rate = self.rows / max(time.monotonic() - self.started, 1e-9)
        return f"verify: {self.rows}/{self.total} index rows cross-checked, {rate:.0f} rows/s"

    def done(self) -> None:
        logger.info("%s (done in %.1f s)", self.line(), time.monotonic() - self.started)
