"""A crawl killed with SIGKILL at any moment and run again loses nothing and leaves a valid archive."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import support
from sqlalchemy import func, select
from support import ROOT, index, run_crawl, verify, warc_files, warcio_check
from zygote import popen

from archive.models import articles, captures, crawls
from archive.recovery import RepairReport, close_abandoned, recover
from archive.warc_writer import OPEN_SUFFIX
from demo.server import DemoServer
from demo.site import build_site

# The PostgreSQL pass (`index`) runs one stop of each kind: three SIGKILLs (the first during
# the listings) and a SIGTERM. What a kill leaves in the index is what the server rolled back,
# whatever the moment; the other moments and SIGINT's path to the same close are the crawl's.
pytestmark = pytest.mark.slow


def crawl_command(url: str, archive: Path) -> list[str]:
    return support.crawl_command(archive, f"start_url={url}", settings={
        "JOBDIR": str(archive / "job"), "CONCURRENT_REQUESTS_PER_DOMAIN": "4"})


def kill_after(server: DemoServer, url: str, archive: Path, requests: int) -> None:
    """Start a crawl and SIGKILL it once the server has answered ``requests`` requests."""
    start = len(server.requests)
    process = popen(crawl_command(url, archive), cwd=ROOT, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(server.requests) - start < requests and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()


def assert_complete_and_valid(archive: Path, site) -> None:
    with index(archive).connect() as conn:
        per_url = dict(conn.execute(select(articles.c.url, func.count()).group_by(articles.c.url)).all())
        statuses = {row for (row,) in conn.execute(select(crawls.c.status))}
    assert {urlsplit(url).path for url in per_url} == set(site.articles)
    assert set(per_url.values()) == {1}
    assert "running" not in statuses
    assert not list((archive / "warc").glob(f"*{OPEN_SUFFIX}"))
    warcio_check(warc_files(archive))
    result = verify(archive)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("kills", [pytest.param((6,), marks=pytest.mark.crawl, id="during-listings"),
                                   pytest.param((25,), marks=pytest.mark.crawl, id="mid-crawl"),
                                   pytest.param((6, 30, 30), marks=pytest.mark.index, id="three-kills")])
def test_sigkill_then_rerun_loses_nothing(tmp_path: Path, kills: tuple[int, ...]):
    site = build_site()
    with DemoServer(site, delay=0.03) as server:
        for requests in kills:
            kill_after(server, server.url, tmp_path, requests)
        # The kill left what a crash leaves: an unfinished WARC file and a crawl still "running".
        assert list((tmp_path / "warc").glob(f"*{OPEN_SUFFIX}"))
        assert (tmp_path / "job" / "portal-archiver.running").exists()
        server.delay = 0
        run_crawl(tmp_path, f"start_url={server.url}", settings={"JOBDIR": str(tmp_path / "job")})
    assert_complete_and_valid(tmp_path, site)


@pytest.mark.index
def test_a_record_cut_mid_write_is_dropped_and_the_rest_indexed(tmp_path: Path):
    site = build_site(channels=1, articles_per_channel=4, extras=False)
    with DemoServer(site) as server:
        run_crawl(tmp_path, f"start_url={server.url}")
    (path,) = warc_files(tmp_path)
    engine = index(tmp_path)
    with engine.begin() as conn:
        last = conn.execute(select(captures).order_by(captures.c.warc_offset.desc()).limit(1)).one()
        intact = {row.warc_offset: row.url for row in conn.execute(select(captures))
                  if row.warc_offset < last.warc_offset}
        intact_articles = set(conn.execute(select(articles.c.url).join(captures, articles.c.capture_id == captures.c.id)
                                           .where(captures.c.warc_offset < last.warc_offset)).scalars())
        # What a kill mid-write leaves: the file still .open, its last record half written
        # and the index rows of its last batch never committed.
        lost = select(captures.c.id).where(captures.c.warc_offset >= last.warc_offset - 1)
        conn.execute(articles.delete().where(articles.c.capture_id.in_(lost)))
        conn.execute(captures.delete().where(captures.c.warc_offset >= last.warc_offset - 1))
    cut = last.warc_offset + last.warc_length // 2
    with open(path, "r+b") as handle:
        handle.truncate(cut)
    shutil.move(path, str(path) + OPEN_SUFFIX)
    report = recover(engine, tmp_path / "warc")
    assert report.closed == [path.name] and report.bytes_cut == cut - last.warc_offset
    assert close_abandoned(tmp_path / "warc", RepairReport()) == []
    with engine.connect() as conn:
        rows = {row.warc_offset: row.url for row in conn.execute(select(captures))}
        article_urls = set(conn.execute(select(articles.c.url)).scalars())
    # The cut record is gone; every record before it is still indexed, article rows included.
    assert len(intact) >= 5 and rows == intact
    assert len(intact_articles) >= 3 and article_urls == intact_articles
    result = verify(tmp_path)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("signum", [pytest.param(signal.SIGTERM, marks=pytest.mark.index, id="SIGTERM"),
                                    pytest.param(signal.SIGINT, marks=pytest.mark.crawl, id="SIGINT")])
def test_sigterm_and_sigint_close_cleanly_and_mark_the_crawl_interrupted(tmp_path: Path, signum: int):
    site = build_site()
    with DemoServer(site, delay=0.03) as server:
        process = popen(crawl_command(server.url, tmp_path), cwd=ROOT, stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while len(server.requests) < 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        process.send_signal(signum)
        # It stops by itself (wait raises if not), with the status of an interrupted crawl.
        assert process.wait(timeout=60) == 128 + signum
    assert not list((tmp_path / "warc").glob(f"*{OPEN_SUFFIX}"))
    with index(tmp_path).connect() as conn:
        assert conn.execute(select(crawls.c.status)).scalar_one() == "interrupted"
    result = verify(tmp_path)
    assert result.returncode == 0, result.stdout
