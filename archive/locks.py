"""One crawl of a portal into an archive at a time: ``ARCHIVE_DIR/locks/SITE.lock``.

Two crawls of the same portal into one archive at once both fetch everything: each sees
what the other archived only as it is indexed, and neither says a word. A crawl holds an
exclusive ``flock`` on one file per portal it covers, with its pid written in it; the
kernel drops the lock when the process ends, however it ends, so a killed crawl never
leaves a portal locked. What a second crawl does about a held lock is the crawler's
``ARCHIVE_BUSY`` setting (crawler/capture/hook.py).
"""

from __future__ import annotations

import fcntl
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO
from urllib.parse import quote


@dataclass
class Holder:
    """Who holds a portal's lock, as it wrote itself into the lock file."""

    site: str
    pid: str
    host: str
    since: str

    def __str__(self) -> str:
        return f"another crawl (pid {self.pid} on {self.host}, since {self.since}) is writing {self.site}"


class SiteLocks:
    def __init__(self, archive_dir: Path, sites: list[str]) -> None:
        self.directory = Path(archive_dir) / "locks"
        self.sites = sorted(set(sites))
        self.held: list[IO[str]] = []

    def path(self, site: str) -> Path:
        return self.directory / f"{quote(site, safe='')}.lock"

    def acquire(self) -> list[Holder]:
        """Take every portal's lock, or none: the holders of those that are taken (empty when
        all were acquired). Never blocks, so two crawls of overlapping portal lists cannot
        wait on each other forever."""
        self.directory.mkdir(parents=True, exist_ok=True)
        busy = []
        for site in self.sites:
            handle = open(self.path(site), "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                busy.append(_holder(site, handle.read()))
                handle.close()
                continue
            self.held.append(handle)
        if busy:
            self.release()
            return busy
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for handle in self.held:
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()} {socket.gethostname()} {stamp}\n")
            handle.flush()
        return []

    def release(self) -> None:
        for handle in self.held:
            handle.close()  # closing the file drops its lock
        self.held = []


def _holder(site: str, text: str) -> Holder:
    pid, host, since = (text.split() + ["?", "?", "?"])[:3]
    return Holder(site, pid, host, since)
