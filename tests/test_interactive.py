"""Pages fetched by hand (``scrapy parse``/``shell``) stay out of the production archive."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT

from demo.server import DemoServer
from demo.site import build_site

pytestmark = pytest.mark.slow


def scrapy_parse(url: str, start_url: str, archive: Path, *settings: str) -> str:
    command = [sys.executable, "-m", "scrapy", "parse", "--spider=portal", "-c", "parse_article",
               "-a", f"start_url={start_url}", "-s", f"ARCHIVE_DIR={archive}", *settings, url]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_scrapy_parse_prints_the_item_and_archives_nothing(tmp_path: Path):
    site = build_site()
    path, title = next(iter(site.articles.items()))
    with DemoServer(site) as server:
        output = scrapy_parse(server.url.rstrip("/") + path, server.url, tmp_path / "a")
        assert title in output and "'published_at'" in output
        assert not (tmp_path / "a").exists()
        scrapy_parse(server.url.rstrip("/") + path, server.url, tmp_path / "b", "-s", "CAPTURE_ENABLED=1")
        assert list((tmp_path / "b" / "warc").glob("*.warc.gz"))
