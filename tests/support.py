"""Shared test helpers: run a real crawl in a subprocess and read back what it wrote.

With ``PORTAL_TEST_POSTGRES`` set (a server URL ending in ``/``, as scripts/postgres
prints), every archive's index lives in its own PostgreSQL database instead of SQLite:
the same tests then run against a real PostgreSQL server.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from warcio.archiveiterator import ArchiveIterator
from zygote import popen, run_module

from archive.models import index_url_for, open_index
from bench.scoring import CORPUS, SHARED  # noqa: F401 - re-exported for the tests

ROOT = Path(__file__).resolve().parent.parent
# Tests that read the shared corpus or seed skip (saying why) where shared/ is absent.
needs_shared = pytest.mark.skipif(not CORPUS.exists(), reason=f"no shared corpus at {CORPUS} (set PORTAL_SHARED_DIR)")
POSTGRES = os.environ.get("PORTAL_TEST_POSTGRES")

# The settings of most test crawls: no politeness on loopback, and pages parsed in the crawl
# process (PAGE_WORKERS=0), as test_crawl_archive's inline crawl shows gives the same archive:
# a page worker's start costs ~0.5 CPU-s a crawl, ~70 CPU-s a run. The worker path runs in the
# crawls that keep the shipped settings: the session portals (conftest.py), the CMS families'
# WORKER_PORTALS, the hostile server, never-hang's dying workers, the README's and the demo's.
FAST = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "0",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
    "LOG_LEVEL": "INFO",
    "WARC_FSYNC": "0",
    "PAGE_WORKERS": "0",
}

_engines: dict[str, Engine] = {}
# How often a test archive's index was resolved: tests/ci_guard.py checks that every test
# (or fixture) doing so is marked `index`, since only those run in the PostgreSQL pass.
_touches = 0


def index_touches() -> int:
    return _touches


def _touch() -> None:
    global _touches
    _touches += 1


def index_url(archive: Path) -> str:
    """The index URL of a test archive: its SQLite file, or a PostgreSQL database of its own."""
    _touch()
    if not POSTGRES:
        return index_url_for(archive)
    name = "t" + hashlib.sha1(str(Path(archive).resolve()).encode()).hexdigest()[:20]
    admin = _engines.get("admin")
    if admin is None:
        admin = _engines["admin"] = create_engine(POSTGRES + "postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}).first():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    return POSTGRES + name


def archive_settings(archive: Path) -> dict[str, str]:
    """Scrapy settings that put a crawl's archive (and index) where the tests look."""
    _touch()
    settings = {"ARCHIVE_DIR": str(archive)}
    if POSTGRES:
        settings["INDEX_URL"] = index_url(archive)
    return settings


def archive_args(archive: Path) -> list[str]:
    """``portal-archive`` arguments naming the test archive."""
    _touch()
    return ["--archive", str(archive)] + (["--index", index_url(archive)] if POSTGRES else [])


def crawl_command(archive: Path, *spider_args: str, settings: dict[str, str] | None = None) -> list[str]:
    """``python -m scrapy crawl portal``, each spider argument as ``-a``, and as ``-s`` FAST,
    the test archive's settings, then ``settings``: for ``zygote.popen`` and ``zygote.run``."""
    command = [sys.executable, "-m", "scrapy", "crawl", "portal"]
    for arg in spider_args:
        command += ["-a", arg]
    for name, value in {**FAST, **archive_settings(archive), **(settings or {})}.items():
        command += ["-s", f"{name}={value}"]
    return command


def run_crawl(archive: Path, *spider_args: str, settings: dict[str, str] | None = None,
              timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``scrapy crawl portal`` as a user runs it, in a process of its own (forked from the
    test zygote, tests/zygote.py), against loopback."""
    command = crawl_command(archive, *spider_args, settings=settings)
    result = run_module("scrapy", *command[3:], env={**os.environ, "PYTHONUNBUFFERED": "1"}, timeout=timeout)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Traceback" not in result.stderr, result.stderr[-4000:]
    return result


def index(archive: Path) -> Engine:
    """An engine on the archive's index (one per index, shared by the tests)."""
    url = index_url(archive)
    if url not in _engines:
        _engines[url] = open_index(url, create=False)
    return _engines[url]


def verify(archive: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_module("archive.cli", "verify", *archive_args(archive), *extra)


def cli(archive: Path | None, *args: str, at: int | None = None, text: bool = True, check: bool = False,
        cwd: Path = ROOT, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``portal-archive ARGS`` as a user runs it. The archive's options (``--archive``, and
    ``--index`` in the PostgreSQL pass; none without an archive) go at the end of the command
    line, or before ``args[at]``: 0 before the subcommand, 1 right after it (both are the CLI's
    syntax; each test module keeps one). ``text=False``: bytes, as ``show --raw`` writes them;
    ``check``: the command must succeed."""
    options = archive_args(archive) if archive is not None else []
    where = len(args) if at is None else at
    result = run_module("archive.cli", *args[:where], *options, *args[where:], cwd=cwd, env=env, timeout=timeout,
                        text=text)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def warc_files(archive: Path) -> list[Path]:
    return sorted((archive / "warc").glob("*.warc.gz"))


def on_a_terminal(command: list[str], cwd: Path = ROOT) -> tuple[int, str, str]:
    """Run ``command`` with its standard error on a pseudo-terminal (live lines, colours):
    (exit status, standard output, what the terminal showed)."""
    import pty

    leader, follower = pty.openpty()
    with popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=follower) as process:
        os.close(follower)
        screen = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            screen += chunk
        stdout = process.stdout.read().decode("utf-8", "replace")
    os.close(leader)
    return process.returncode, stdout, screen.decode("utf-8", "replace")
def records_holding(files: Iterable[Path], needle: bytes) -> tuple[int, list[str]]:
    """Read every record of every WARC file (not only each file's first gzip member, the
    warcinfo): its WARC and HTTP headers and its block, as stored and content-decoded,
    streamed in chunks (a gzip bomb decodes to a GiB). Return how many records were read and
    the URIs of those holding ``needle``."""
    count, found = 0, []
    for path in files:
        for decoded in (False, True):
            with open(path, "rb") as stream:
                for record in ArchiveIterator(stream):
                    count += not decoded
                    head = record.rec_headers.to_bytes()
                    if record.http_headers is not None:
                        head += record.http_headers.to_bytes()
                    body = record.content_stream() if decoded else record.raw_stream
                    tail = b"" if decoded else head
                    while chunk := body.read(1 << 20):
                        if needle in tail + chunk:
                            break
                        tail = chunk[-len(needle):]
                    else:
                        if needle not in tail:
                            continue
                    found.append(f"{path.name}: {record.rec_headers.get_header('WARC-Target-URI')}")
    return count, found


_CHECKED = re.compile(r"^  offset (\d+) WARC-Record-ID (\S+) (\S+)\n    (.+)$", re.M)


def warcio_check(files: Iterable[Path]) -> None:
    """``warcio check -v`` trusted on what it reports, not its exit status (which is 0 when a
    record carries no digest at all): every record of every file must say ``digest pass``.

    A revisit record's digest is the original's payload's, so warcio cannot check it and says
    so ("digest present but not checked (revisit)"); that is the only other verdict allowed.
    """
    files = [str(path) for path in files]
    assert files, "no WARC files"
    result = subprocess.run([sys.executable, "-m", "warcio.cli", "check", "-v", *files], capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    verdicts = _CHECKED.findall(result.stdout)
    types: list[str] = []
    for path in files:
        with open(path, "rb") as stream:
            types += [record.rec_type for record in ArchiveIterator(stream)]
    assert [kind for _, _, kind, _ in verdicts] == types, result.stdout[-3000:]
    bad = [(offset, kind, verdict) for offset, _, kind, verdict in verdicts
           if verdict != "digest pass" and (kind, verdict) != ("revisit", "digest present but not checked (revisit)")]
    assert bad == [], bad[:10]
