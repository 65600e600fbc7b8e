"""Shared test helpers: run a real crawl in a subprocess and read back what it wrote.

With ``PORTAL_TEST_POSTGRES`` set (a server URL ending in ``/``, as scripts/postgres
prints), every archive's index lives in its own PostgreSQL database instead of SQLite:
the same tests then run against a real PostgreSQL server.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from archive.models import index_url_for, open_index
from bench.scoring import CORPUS, SHARED  # noqa: F401 - re-exported for the tests

ROOT = Path(__file__).resolve().parent.parent
# Tests that read the shared corpus or seed skip (saying why) where shared/ is absent.
needs_shared = pytest.mark.skipif(not CORPUS.exists(), reason=f"no shared corpus at {CORPUS} (set PORTAL_SHARED_DIR)")
POSTGRES = os.environ.get("PORTAL_TEST_POSTGRES")

FAST = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "0",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
    "LOG_LEVEL": "INFO",
    "WARC_FSYNC": "0",
}

_engines: dict[str, Engine] = {}


def index_url(archive: Path) -> str:
    """The index URL of a test archive: its SQLite file, or a PostgreSQL database of its own."""
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
    settings = {"ARCHIVE_DIR": str(archive)}
    if POSTGRES:
        settings["INDEX_URL"] = index_url(archive)
    return settings


def archive_args(archive: Path) -> list[str]:
    """``portal-archive`` arguments naming the test archive."""
    return ["--archive", str(archive)] + (["--index", index_url(archive)] if POSTGRES else [])


def run_crawl(archive: Path, *spider_args: str, settings: dict[str, str] | None = None,
              timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``scrapy crawl portal`` as a user runs it, in a child process, against loopback."""
    command = [sys.executable, "-m", "scrapy", "crawl", "portal"]
    for arg in spider_args:
        command += ["-a", arg]
    for name, value in {**FAST, **archive_settings(archive), **(settings or {})}.items():
        command += ["-s", f"{name}={value}"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
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
    return subprocess.run([sys.executable, "-m", "archive.cli", "verify", *archive_args(archive), *extra],
                          capture_output=True, text=True, cwd=ROOT)


def cli(archive: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``portal-archive ARGS`` on the test archive, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "archive.cli", *args, *archive_args(archive)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


def warc_files(archive: Path) -> list[Path]:
    return sorted((archive / "warc").glob("*.warc.gz"))


def on_a_terminal(command: list[str]) -> tuple[int, str, str]:
    """Run ``command`` with its standard error on a pseudo-terminal (live lines, colours):
    (exit status, standard output, what the terminal showed)."""
    import pty

    leader, follower = pty.openpty()
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=follower) as process:
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
