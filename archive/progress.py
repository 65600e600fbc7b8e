"""Progress of a long pass over an archive (``verify``): a log line at a steady interval,
and a live line on the terminal when there is one.

The live line uses tqdm, imported only when standard error is a terminal, so scripts and
cron jobs never load it.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

logger = logging.getLogger("archive.progress")


class Progress:
    """Counts files, records and bytes done; reports every ``interval`` seconds."""

    def __init__(self, what: str, total_files: int, total_bytes: int, interval: float = 10.0,
                 live: bool | None = None) -> None:
        self.what, self.total_files, self.total_bytes, self.interval = what, total_files, total_bytes, interval
        self.files = self.records = self.bytes = 0
        self.started = self._logged = time.monotonic()
        self._bar: Any = None
        # What the pass has made so far besides (``import``: articles indexed), for the line.
        self.detail: Callable[[], str] | None = None
        self._lock = threading.Lock()  # ``import`` reads in one thread and writes in another
        if live if live is not None else sys.stderr.isatty():
            try:
                from tqdm import tqdm
            except ImportError:  # the live line is a comfort; the log lines still come
                tqdm = None
            if tqdm is not None:
                self._bar = tqdm(total=total_bytes, unit="B", unit_scale=True, desc=what, file=sys.stderr,
                                 leave=False, dynamic_ncols=True)

    @property
    def live(self) -> bool:
        """Is a live line being drawn on the terminal?"""
        return self._bar is not None

    def record(self, size: int = 0) -> None:
        """One more record read (``size`` bytes of the file consumed)."""
        with self._lock:
            self.records += 1
        self._advance(size)

    def skip(self, size: int) -> None:
        """Bytes there is nothing to do with (a resumed file's part done before)."""
        self._advance(size)

    def file_done(self, leftover: int = 0) -> None:
        with self._lock:
            self.files += 1
        self._advance(leftover)

    def _advance(self, size: int) -> None:
        with self._lock:
            self.bytes += size
            if self._bar is not None:
                self._bar.update(size)
                detail = f", {self.detail()}" if self.detail else ""
                self._bar.set_postfix_str(f"{self.files}/{self.total_files} files, {self.records} records{detail}",
                                          refresh=False)
            now = time.monotonic()
            due = now - self._logged >= self.interval
            if due:
                self._logged = now
        if due:
            logger.info("%s", self.line())

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return (f"{self.what}: {self.files}/{self.total_files} files, {self.records} records, "
                f"{self.bytes / 1e6:.1f}/{self.total_bytes / 1e6:.1f} MB, "
                f"{self.records / elapsed:.0f} records/s, {self.bytes / 1e6 / elapsed:.1f} MB/s"
                + (f", {self.detail()}" if self.detail else ""))

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        logger.info("%s (done in %.1f s)", self.line(), time.monotonic() - self.started)


@contextlib.contextmanager
def progress(what: str, total_files: int, total_bytes: int, interval: float = 10.0) -> Iterator[Progress]:
    """A ``Progress`` closed (and its final line logged) however the pass ends."""
    meter = Progress(what, total_files, total_bytes, interval)
    try:
        if meter.live:
            from tqdm.contrib.logging import logging_redirect_tqdm

            with logging_redirect_tqdm():
                yield meter
        else:
            yield meter
    finally:
        meter.close()
