"""Shared test helpers: run a real crawl in a subprocess and read back what it wrote."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine

from archive.models import index_url_for, open_index

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"

FAST = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "0",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
    "LOG_LEVEL": "INFO",
    "WARC_FSYNC": "0",
}


def run_crawl(archive: Path, *spider_args: str, settings: dict[str, str] | None = None,
              timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``scrapy crawl portal`` as a user runs it, in a child process, against loopback."""
    command = [sys.executable, "-m", "scrapy", "crawl", "portal"]
    for arg in spider_args:
        command += ["-a", arg]
    for name, value in {**FAST, "ARCHIVE_DIR": str(archive), **(settings or {})}.items():
        command += ["-s", f"{name}={value}"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Traceback" not in result.stderr, result.stderr[-4000:]
    return result


def index(archive: Path) -> Engine:
    return open_index(index_url_for(archive), create=False)


def warc_files(archive: Path) -> list[Path]:
    return sorted((archive / "warc").glob("*.warc.gz"))
