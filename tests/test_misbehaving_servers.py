"""5xx, 429, challenges, cut connections, oversized bodies and stalls: archived, flagged,
never articles, and the crawl carries on."""

from __future__ import annotations

import sys
from urllib.parse import urlsplit

import pytest
from misbehaving_server import PAGES, MisbehavingServer
from sqlalchemy import select
from support import FAST, ROOT, index, run_crawl, warc_files, warcio_check
from warcio.archiveiterator import ArchiveIterator
from zygote import run

from archive.models import articles, captures, crawls

pytestmark = pytest.mark.slow

SETTINGS = {"RETRY_BACKOFF_BASE": "0.05", "RETRY_TIMES": "2", "DOWNLOAD_TIMEOUT": "2", "DOWNLOAD_MAXSIZE": "50000",
            "CRAWL_MAX_ERROR_RATE": "1", "ROBOTSTXT_OBEY": "0"}


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    archive = tmp_path_factory.mktemp("misbehaving")
    with MisbehavingServer() as server:
        run_crawl(archive, f"start_url={server.url}", settings=SETTINGS)
        yield archive, server


def rows_by_path(archive) -> dict[str, list]:
    out: dict[str, list] = {}
    with index(archive).connect() as conn:
        for row in conn.execute(select(captures).order_by(captures.c.id)):
            out.setdefault(urlsplit(row.url).path, []).append(row)
    return out


@pytest.mark.crawl
def test_5xx_and_429_are_retried_and_only_the_success_is_an_article(crawled):
    archive, server = crawled
    rows = rows_by_path(archive)
    assert [row.status for row in rows["/flaky.html"]] == [503, 200]
    assert [row.status for row in rows["/limited.html"]] == [429, 200]
    assert [row.status for row in rows["/broken.html"]] == [500, 500, 500]
    with index(archive).connect() as conn:
        titles = {title for (title,) in conn.execute(select(articles.c.title))}
    assert titles == set(PAGES.values())


@pytest.mark.crawl
def test_challenge_pages_are_flagged_and_not_articles(crawled):
    rows = rows_by_path(crawled[0])
    assert rows["/challenge.html"][0].status == 521 and rows["/challenge.html"][0].flags == "challenge:jsl"
    assert rows["/wzws.html"][0].flags == "challenge:wzws"


@pytest.mark.crawl
def test_truncated_bodies_are_archived_with_warc_truncated(crawled):
    archive = crawled[0]
    rows = rows_by_path(archive)
    cut, huge = rows["/cut.html"][0], rows["/huge.html"][0]
    assert (cut.truncated, cut.flags) == ("disconnect", "truncated")
    assert (huge.truncated, huge.flags) == ("length", "truncated") and 50000 <= huge.payload_length < 70000
    seen = {}
    for path in warc_files(archive):
        with open(path, "rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type == "response":
                    seen[urlsplit(record.rec_headers.get_header("WARC-Target-URI")).path] = \
                        record.rec_headers.get_header("WARC-Truncated")
    assert seen["/cut.html"] == "disconnect" and seen["/huge.html"] == "length"


@pytest.mark.crawl
def test_a_stalled_server_times_out_without_stalling_the_crawl(crawled):
    archive, server = crawled
    assert server.hits["/stall.html"] == 3  # first try and two retries, each timed out
    assert "/stall.html" not in rows_by_path(archive)
    with index(archive).connect() as conn:
        crawl = conn.execute(select(crawls)).one()
        # One plain capture per challenge page; a browser, where installed, tried them too (its
        # captures are flagged as well, and marked as the browser's: crawler/fetch/browser/).
        plain = conn.execute(select(captures.c.url).where(captures.c.flags.like("%challenge:%"),
                                                          captures.c.browser.is_(None))).all()
    assert crawl.status == "finished"
    summary = crawl.stats["summary"]
    assert summary["errors"]["DownloadTimeoutError"] == 3 and len(plain) == 2 and summary["truncated"] == 2
    assert summary["challenges"] == 2 + sum(1 for row in rows_by_path(archive).values() for capture in row
                                            if capture.browser and capture.flags)


@pytest.mark.crawl
def test_warcio_check_passes(crawled):
    warcio_check(warc_files(crawled[0]))


def test_a_crawl_that_archives_nothing_exits_non_zero(tmp_path):
    command = [sys.executable, "-m", "scrapy", "crawl", "portal", "-a", "start_url=http://127.0.0.1:9/",
               "-s", f"ARCHIVE_DIR={tmp_path}", "-s", "RETRY_TIMES=0",
               # A portal that never answered is waited for this long before it is given up.
               "-s", "SITE_GIVE_UP_AFTER=3"]
    for name, value in FAST.items():
        command += ["-s", f"{name}={value}"]
    result = run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "crawl failed: archived nothing" in result.stderr
