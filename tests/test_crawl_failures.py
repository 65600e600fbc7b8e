"""Crawls that meet a failing archive or hostile values end truthfully (issue 10: items 8, 9, 23)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select
from support import ROOT, crawl_command, index, run_crawl
from zygote import popen, run

from archive.models import articles, captures, crawls
from demo.server import DemoServer
from demo.site import CHANNELS, build_site

pytestmark = pytest.mark.slow


@pytest.mark.index
def test_a_warc_file_lost_before_close_fails_the_crawl_and_its_articles_are_fetched_again(tmp_path: Path):
    site = build_site(channels=1, articles_per_channel=8, extras=False)
    with DemoServer(site, delay=0.3) as server:
        server.serial = True  # answers 0.3 s apart: the crawl is still writing when its file goes
        crawl = popen(crawl_command(tmp_path, f"start_url={server.url}"), cwd=ROOT, text=True,
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not list((tmp_path / "warc").glob("*.open")):
            time.sleep(0.1)
        [opened] = list((tmp_path / "warc").glob("*.open"))
        served = len(server.requests)
        while time.monotonic() < deadline and len(server.requests) < served + 2:  # pages on their way into it
            time.sleep(0.05)
        opened.unlink()
        _, stderr = crawl.communicate(timeout=300)
        assert crawl.returncode == 1, stderr[-3000:]
        assert "crawl failed: archive incomplete" in stderr and "Traceback" not in stderr, stderr[-3000:]
        with index(tmp_path).connect() as conn:
            assert conn.execute(select(crawls.c.status)).scalar_one() == "failed"
            lost = conn.execute(select(func.count()).select_from(articles)).scalar_one()
        assert lost >= 1  # rows that point at nothing

        server.delay, server.serial = 0, False
        before = len(server.requests)
        run_crawl(tmp_path, f"start_url={server.url}")
        again = {entry.path for entry in server.requests[before:]} & set(site.articles)
    # Nothing of the first crawl is on disk: the next crawl trusts none of its rows.
    assert again == set(site.articles)


@pytest.mark.index
def test_long_header_and_meta_values_are_indexed_whole(tmp_path: Path):
    """A 400-character ETag and a 300-character ColumnName, on SQLite and PostgreSQL."""
    site = build_site(channels=1, articles_per_channel=4, extras=False)
    etag = '"' + "e" * 398 + '"'
    label = CHANNELS[0][1]
    column = "消防新闻栏目" * 50
    assert len(etag) == 400 and len(column) == 300
    for route in site.routes.values():
        route.headers.insert(0, ("ETag", etag))
        route.body = route.body.replace(f'name="ColumnName" content="{label}"'.encode(),
                                        f'name="ColumnName" content="{column}"'.encode())
    with DemoServer(site) as server:
        run_crawl(tmp_path, f"start_url={server.url}")
    with index(tmp_path).connect() as conn:
        indexed = conn.execute(select(articles.c.url, articles.c.channel)).all()
        etags = conn.execute(select(captures.c.etag).where(captures.c.status == 200)).scalars().all()
    assert {urlsplit(url).path for url, _ in indexed} == set(site.articles)
    assert column in {channel for _, channel in indexed}
    assert etags and set(etags) == {etag}


@pytest.mark.index
def test_an_unreachable_index_is_one_clear_line_before_the_crawl_starts(tmp_path: Path):
    result = run(crawl_command(tmp_path, "start_url=http://127.0.0.1:1/", settings={
        "INDEX_URL": "postgresql+psycopg://crawler:s3cret@127.0.0.1:1/archive"}), cwd=ROOT, capture_output=True,
        text=True, timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "Crawler.stats is not set" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "cannot open the index" in errors[0] and "***@127.0.0.1:1" in errors[0]
    assert "s3cret" not in result.stderr + result.stdout


@pytest.mark.index
def test_links_with_credentials_never_write_them_to_the_log(tmp_path: Path):
    site = build_site(channels=1, articles_per_channel=3, extras=False)
    with DemoServer(site) as server:
        host = urlsplit(server.url).netloc
        secret = f'<a href="http://reader:s3cret@{host}/xfxw/">栏目</a><a href="http://s3cret@{host}/x.html">x</a>'
        site.routes["/"].body = site.routes["/"].body.replace(b"</body>", secret.encode() + b"</body>")
        result = run_crawl(tmp_path, f"start_url={server.url}", settings={"LOG_LEVEL": "DEBUG"})
    assert "s3cret" not in result.stderr + result.stdout
    assert "'links/credentials_stripped': 2" in result.stderr  # both links seen, fetched without them
    with index(tmp_path).connect() as conn:
        urls = conn.execute(select(captures.c.url)).scalars().all()
    assert not [url for url in urls if "@" in url]


def test_log_records_never_carry_credentials():
    """Whatever logs a URL with credentials (a library, an exception text), the record is clean."""
    import logging

    from archive.redact import install_log_redaction

    install_log_redaction()
    record = logging.getLogger("anything").makeRecord(
        "anything", logging.ERROR, __file__, 1, "fetching %s failed", ("ftp://u:pw@127.0.0.1/a",), None)
    assert record.getMessage() == "fetching ftp://***@127.0.0.1/a failed"


@pytest.mark.index
def test_a_start_up_failure_is_said_once(tmp_path: Path):
    """A spider that cannot start: its own error, not a second one about missing stats."""
    command = crawl_command(tmp_path, "start_url=http://127.0.0.1:9/", settings={"PAGE_WORKERS": "abc"})
    result = run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "Crawler.stats is not set" not in result.stderr and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert errors == ["error: the crawl could not start: invalid literal for int() with base 10: 'abc'"], result.stderr


@pytest.mark.index
def test_missing_spider_arguments_are_refused_before_the_crawl(tmp_path: Path):
    """No start URL, site or seed list: one usage line and exit 2, nothing started."""
    result = run(crawl_command(tmp_path), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "error: give -a start_url=URL, -a site=NAME, -a site=all or -a sites=FILE" in result.stderr.splitlines()
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "warc").exists()
