"""What a crawl tells its user (issue 25): channels reported "not covered" only when they are,
``max_pages`` counting pages, a short summary at the end, a prompt and honest Ctrl-C, and a
word when another crawl is writing into the same archive."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select
from support import ROOT, crawl_command, index, on_a_terminal, run_crawl, verify
from zygote import popen

from archive.models import captures, crawls
from demo.server import DemoServer
from demo.site import HTML_UTF8, Route, Site, build_site

# What the crawl says and when it stops: the crawl's (`crawl`, SQLite pass). The index is read
# only for the crawl's own row and stats, which tests/test_crawl_archive.py checks on both backends;
# two crawls of one archive are kept apart by lock files (archive/locks.py), not by the index.
pytestmark = [pytest.mark.slow, pytest.mark.crawl]

REQUISITE_SUFFIXES = (".css", ".js", ".gif", ".jpg", ".png", ".ico")


def last_stats(archive: Path) -> dict:
    with index(archive).connect() as conn:
        value = conn.execute(select(crawls.c.stats).order_by(crawls.c.id.desc()).limit(1)).scalar_one()
    return json.loads(value) if isinstance(value, str) else value


def with_empty_channel(site: Site) -> Site:
    """A paged channel (TRS pager) that lists no article at all, linked from the home page:
    what "not covered" is for."""
    for page in range(3):
        path = "/kong/index.html" if page == 0 else f"/kong/index_{page}.html"
        body = (f'<html><head><meta charset="utf-8"><title>空栏目</title></head><body><p>暂无信息</p>'
                f'<script>createPageHTML(3, {page}, "index", "html");</script></body></html>')
        site.routes[path] = Route(200, [("Content-Type", HTML_UTF8)], body.encode())
    home = site.routes["/"]
    site.routes["/"] = Route(home.status, home.headers,
                             home.body.replace(b"</body>", '<a href="/kong/index.html">空栏目</a></body>'.encode()),
                             home.gzip, home.chunked)
    return site


def test_channels_whose_articles_another_page_linked_first_are_covered(tmp_path: Path):
    """Issue 25: every article of these channels is linked from the home page too, which is
    parsed first, so no article request ever carried a channel: all three were reported
    "not covered" (at random on the full demo portal, where it depends on timing)."""
    site = with_empty_channel(build_site(channels=3, articles_per_channel=2, per_page=1))
    with DemoServer(site) as server:
        home = server.site.routes["/"].body.decode()
        assert all(path in home for path in site.articles)  # the home page links every article
        result = run_crawl(tmp_path, f"start_url={server.url}")
    base = server.url.rstrip("/")
    stats = last_stats(tmp_path)
    channels = {urlsplit(url).path: state["articles"] for url, state in stats["discover/channels"].items()}
    assert channels.keys() == {"/xfxw/index.html", "/tzgg/index.html", "/fzxc/index.html", "/kong/index.html"}
    assert channels["/kong/index.html"] == 0 and all(channels[path] for path in channels if path != "/kong/index.html")
    assert list(stats["summary"]["uncovered"]) == [f"{base}/kong/index.html"]
    warnings = [line for line in result.stderr.splitlines() if "not covered:" in line]
    assert len(warnings) == 1 and f"{base}/kong/index.html" in warnings[0], warnings


def pages_requested(server: DemoServer, start: int = 0) -> list[str]:
    return [entry.path for entry in server.requests[start:]
            if entry.path != "/robots.txt" and not entry.path.split("?")[0].endswith(REQUISITE_SUFFIXES)]


@pytest.mark.parametrize("limit", [1, 10])
def test_max_pages_counts_pages_and_ends_without_a_warning_per_channel(tmp_path: Path, limit: int):
    """Issue 25: max_pages=10 archived 28 pages, and every channel was reported not covered."""
    site = build_site()
    with DemoServer(site) as server:
        result = run_crawl(tmp_path, f"start_url={server.url}", f"max_pages={limit}",
                           settings={"CRAWL_MAX_ERROR_RATE": "1"})
    assert len(pages_requested(server)) == limit, pages_requested(server)
    stats = last_stats(tmp_path)
    assert stats["finish_reason"] == "max_pages" and stats["limits/pages_fetched"] == limit
    assert stats["summary"]["uncovered"] == {}
    assert "not covered:" not in result.stderr
    if stats.get("discover/channels"):
        assert "the crawl ended early (max_pages)" in result.stderr


def test_ctrl_c_says_what_is_in_flight_sends_nothing_more_and_exits_130(tmp_path: Path):
    """Issue 25: after Ctrl-C the crawl kept fetching for 36 s (50 -> 78 pages) with no word,
    then exited 0. Now: what is on the wire finishes and is archived, what waits in the
    download slots is never sent, and the exit status says the crawl was interrupted."""
    site = build_site()
    settings = {"DOWNLOAD_DELAY": "0.3", "CONCURRENT_REQUESTS_PER_DOMAIN": "2"}
    with DemoServer(site) as server:
        process = popen(crawl_command(tmp_path, f"start_url={server.url}", settings=settings), cwd=ROOT,
                        stderr=subprocess.PIPE, text=True)
        while len(server.requests) < 12:
            assert process.poll() is None, process.stderr.read()[-3000:]
            time.sleep(0.01)
        process.send_signal(signal.SIGINT)
        sent_before = len(server.requests)
        stderr = process.communicate(timeout=120)[1]
        sent_after = len(server.requests) - sent_before
    assert process.returncode == 130, stderr[-3000:]
    assert "Traceback" not in stderr
    [said] = [line for line in stderr.splitlines() if "SIGINT: stopping;" in line]
    wire, waiting = (int(number) for number in re.findall(r"(\d+) request\(s\) on the wire.*?(\d+) waiting", said)[0])
    assert waiting > 5  # the politeness delay had a queue waiting in the host's download slot
    assert sent_after <= 2  # at most the host's connections already opening: nothing of the queue
    stats = last_stats(tmp_path)
    assert stats["finish_reason"] == "shutdown" and stats["stop/unsent"] == waiting
    assert stats["summary"]["errors"] == {}  # left unsent is no error
    with index(tmp_path).connect() as conn:
        assert conn.execute(select(crawls.c.status)).scalar_one() == "interrupted"
        archived = conn.execute(select(func.count()).select_from(captures)).scalar_one()
    assert archived == len(server.requests)  # every answer the server gave is in the archive
    assert verify(tmp_path).returncode == 0


def test_max_articles_stops_without_sending_what_waits(tmp_path: Path):
    site = build_site()
    with DemoServer(site) as server:
        result = run_crawl(tmp_path, f"start_url={server.url}", "max_articles=3",
                           settings={"DOWNLOAD_DELAY": "0.05", "CONCURRENT_REQUESTS_PER_DOMAIN": "2"})
    stats = last_stats(tmp_path)
    assert stats["finish_reason"] == "max_articles" and stats["summary"]["articles_new"] == 3
    assert stats.get("stop/unsent", 0) > 0  # the queue waiting in the download slot was not fetched
    assert len(pages_requested(server)) < len(site.articles)
    assert "not covered:" not in result.stderr


def test_the_end_of_a_crawl_is_a_short_summary_and_the_stats_stay_in_the_index(tmp_path: Path):
    """Issue 25: the end of a crawl was a Python dict and a dump of some 60 stats lines."""
    site = build_site()
    with DemoServer(site) as server:
        result = run_crawl(tmp_path / "info", f"start_url={server.url}")
        answered = len(server.requests)
        served = [entry.path for entry in server.requests]
        debug = run_crawl(tmp_path / "debug", f"start_url={server.url}", settings={"LOG_LEVEL": "DEBUG"})
    lines = result.stderr.splitlines()
    at = next(n for n, line in enumerate(lines) if re.search(r"crawl 1 finished in 0:\d\d:\d\d, archive ", line))
    assert str((tmp_path / "info").resolve()) in lines[at]
    summary = "\n".join(lines[at:at + 4])
    assert f"; {answered} captures, " in summary
    # Each response counted once, as what it was (requisites scheduled, blocked or capped are
    # no responses: counting them made a crawl of real pages read "pages: 0").
    requisites = sum(1 for path in served if path.endswith((".css", ".js", ".gif", ".png", ".jpg")))
    redirects = sum(1 for path in served if path in site.routes and 300 <= site.routes[path].status < 400)
    pages = answered - requisites - 1 - redirects  # a redirect is followed, not a page received
    assert f"  pages: {pages} (and {requisites} page requisites, 1 robots.txt); " in summary, summary
    assert f"articles: {len(site.articles)} new, 0 changed\n" in summary
    assert "errors: 1 (http_404: 1)" in summary  # the demo's one broken link
    assert "Dumping Scrapy stats" not in result.stderr and "'downloader/request_count'" not in result.stderr
    assert "crawl summary: {" not in result.stderr
    stats = last_stats(tmp_path / "info")
    assert stats["downloader/request_count"] > 0 and stats["summary"]["articles_new"] == len(site.articles)
    assert "crawl stats:" in debug.stderr and "'downloader/request_count'" in debug.stderr


def test_at_log_level_warning_a_terminal_still_gets_the_summary(tmp_path: Path):
    """Issue 25: at LOG_LEVEL=WARNING the live progress line was wiped and nothing was left."""
    site = build_site(channels=1, articles_per_channel=6, extras=False)
    with DemoServer(site) as server:
        command = crawl_command(tmp_path, f"start_url={server.url}", settings={"LOG_LEVEL": "WARNING"})
        status, _, screen = on_a_terminal(command)
    assert status == 0, screen[-3000:]
    assert "crawl 1 finished in" in screen and f"articles: {len(site.articles)} new" in screen, screen[-3000:]
    assert "[crawler.capture.hook] INFO" not in screen  # printed as such, not as log lines


def crawl_process(server: DemoServer, archive: Path, **settings: str) -> subprocess.Popen[str]:
    return popen(crawl_command(archive, f"start_url={server.url}", settings=settings), cwd=ROOT,
                 stderr=subprocess.PIPE, text=True)


def crawl_rows(archive: Path) -> list:
    with index(archive).connect() as conn:
        return conn.execute(select(crawls.c.id, crawls.c.pid, crawls.c.started_at, crawls.c.finished_at)
                            .order_by(crawls.c.id)).all()


def stderr_lines(process: subprocess.Popen[str]) -> tuple[list[str], threading.Thread]:
    """The process's stderr, read as it comes (the test waits on what it says)."""
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stderr or ()), daemon=True)
    reader.start()
    return lines, reader


def test_a_second_crawl_of_the_same_portal_into_the_archive_waits_or_refuses(tmp_path: Path):
    """Issue 25: two crawls into one archive at once both fetched everything, without a word."""
    site = build_site(channels=1)
    with DemoServer(site, delay=0.2) as server:
        server.serial = True  # one answer at a time, 0.2 s apart
        first = crawl_process(server, tmp_path)
        while len(server.requests) < 5 or not crawl_rows(tmp_path):
            assert first.poll() is None, first.stderr.read()[-3000:]
            time.sleep(0.05)
        with server.held():  # the first crawl stays busy until the other two have had their say
            refused = crawl_process(server, tmp_path, ARCHIVE_BUSY="refuse")
            waiting = crawl_process(server, tmp_path)
            said_waiting, reader = stderr_lines(waiting)
            refused_err = refused.communicate(timeout=120)[1]
            assert first.poll() is None  # still crawling when the second one was refused
            deadline = time.monotonic() + 120
            while not any("waiting for it to end" in line for line in said_waiting):
                assert waiting.poll() is None and time.monotonic() < deadline, "".join(said_waiting)[-3000:]
                time.sleep(0.05)
            assert first.poll() is None  # and when the third one began to wait for it
        server.delay = 0  # the rest is not about time
        assert first.wait(timeout=300) == 0
        waiting.wait(timeout=300)
        reader.join(timeout=10)
        waiting_err = "".join(said_waiting)
    assert refused.returncode == 75, refused_err[-3000:]
    said = f"another crawl (pid {first.pid} on "
    assert f"not crawling: {said}" in refused_err and str(tmp_path.resolve()) in refused_err
    assert "ARCHIVE_BUSY=refuse" in refused_err
    assert waiting.returncode == 0, waiting_err[-3000:]
    assert said in waiting_err and "waiting for it to end" in waiting_err
    rows = crawl_rows(tmp_path)
    assert [row.pid for row in rows] == [first.pid, waiting.pid]  # the refused crawl wrote nothing
    assert rows[1].started_at >= rows[0].finished_at  # the waiting one started when the first had ended
    assert last_stats(tmp_path)["summary"]["articles_new"] == 0  # an incremental re-crawl, not everything again
