"""Many portals in one crawl: per-site scope, a dead and a silent host among live ones,
per-site stats, exit status, and per-site incremental rules on a second crawl.

Portals live on distinct loopback addresses (127.0.0.2 ...), as real ones live on distinct
hosts. Portal A links to a page of portal B that B itself never links; that page must never
be requested, because a link from A to B is not part of A's crawl.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from support import ROOT, crawl_command, index, verify
from zygote import popen, run

from archive.models import articles, captures, crawls
from demo.server import DemoServer
from demo.site import HTML_UTF8, Route, build_site

pytestmark = [pytest.mark.slow, pytest.mark.index]

SETTINGS = {
    "DOWNLOAD_TIMEOUT": "3",
    "RETRY_TIMES": "1",
    "RETRY_BACKOFF_BASE": "0.2",
    "SITE_GIVE_UP_AFTER": "2",
    "CRAWL_MAX_ERROR_RATE": "1",
}


def frontier_dir(archive: Path) -> Path:
    return archive.parent / f"{archive.name}-frontier"


def crawl(archive: Path, seeds: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    frontier_dir(archive).mkdir(exist_ok=True)
    command = crawl_command(archive, f"sites={seeds}",
                            settings={**SETTINGS, "FRONTIER_TMPDIR": str(frontier_dir(archive))})
    return run(command, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
               capture_output=True, text=True, timeout=timeout)


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class Fleet:
    """Two live demo portals, a dead host (nothing listens) and a silent one (never answers)."""

    def __init__(self) -> None:
        self.site_a = build_site(style="trs", channels=2, articles_per_channel=6, extras=False)
        self.site_b = build_site(style="art", channels=2, articles_per_channel=5, extras=False, seed=3)
        self.site_b.routes["/only-from-a.html"] = Route(200, [("Content-Type", HTML_UTF8)],
                                                        "<html><body><p>仅由甲站链接</p></body></html>".encode())
        self.a = DemoServer(self.site_a, host="127.0.0.2")
        self.b = DemoServer(self.site_b, host="127.0.0.3")
        self.other_port = DemoServer(self.site_b, host="127.0.0.2")  # the same host as A, another port
        self.dead_url = f"http://127.0.0.4:{free_port('127.0.0.4')}/"
        self.silent = socket.socket()
        self.silent.bind(("127.0.0.5", 0))
        self.silent.listen(64)  # completes handshakes, never accepts or answers
        self.silent_url = f"http://127.0.0.5:{self.silent.getsockname()[1]}/"
        home = self.site_a.routes["/"]
        a_port = urlsplit(self.a.url).port
        extra = (f'<a href="{self.b.url}only-from-a.html">乙站</a>'
                 f'<a href="file://127.0.0.2/etc/passwd">本地文件</a>'
                 f'<a href="ftp://127.0.0.2/pub/">FTP</a>'
                 f'<a href="mailto:office@127.0.0.2">信箱</a>'
                 f'<a href="http://www.127.0.0.2:{a_port}/">假子域</a>'
                 f'<a href="{self.other_port.url}xfxw/index.html">另一端口</a>')
        home.body = home.body.replace(b"</body>", extra.encode() + b"</body>")

    def __enter__(self) -> Fleet:
        for server in (self.a, self.b, self.other_port):
            server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for server in (self.a, self.b, self.other_port):
            server.stop()
        self.silent.close()

    def seeds(self, path: Path) -> Path:
        path.write_text(f"""
[[site]]
start_url = "{self.a.url}"
name = "jia"
label = "甲站"

[[site]]
start_url = "{self.b.url}"
name = "yi"

[[site]]
start_url = "{self.dead_url}"
name = "dead"

[[site]]
start_url = "{self.silent_url}"
name = "silent"
""", encoding="utf-8")
        return path


@pytest.fixture(scope="module")
def fleet_crawl(tmp_path_factory):
    archive = tmp_path_factory.mktemp("fleet")
    with Fleet() as fleet:
        seeds = fleet.seeds(archive.parent / f"{archive.name}-seeds.toml")
        first = crawl(archive, seeds)
        a_first, b_first = len(fleet.a.requests), len(fleet.b.requests)
        second = crawl(archive, seeds)
        yield fleet, archive, first, second, (a_first, b_first)


def crawl_rows(archive: Path) -> list:
    with index(archive).connect() as conn:
        return list(conn.execute(select(crawls).order_by(crawls.c.id)))


def test_exit_status_names_the_sites_that_archived_nothing(fleet_crawl):
    _, _, first, _, _ = fleet_crawl
    assert first.returncode != 0
    assert "Traceback" not in first.stderr, first.stderr[-3000:]
    line = [line for line in first.stderr.splitlines() if line.startswith("crawl failed")]
    assert line == ["crawl failed: archived nothing from 2 of 4 sites: dead, silent"], first.stderr[-3000:]


def test_each_live_portal_is_archived_whole_despite_the_dead_ones(fleet_crawl):
    fleet, archive, _, _, _ = fleet_crawl
    with index(archive).connect() as conn:
        rows = list(conn.execute(select(articles.c.url, articles.c.site, articles.c.title)))
    for name, site, server in (("jia", fleet.site_a, fleet.a), ("yi", fleet.site_b, fleet.b)):
        got = {urlsplit(url).path: title for url, row_site, title in rows if row_site == name}
        assert got == site.articles, name
        # Every article row of a site is on that site's host.
        assert {urlsplit(url).netloc for url, row_site, _ in rows if row_site == name} == {urlsplit(server.url).netloc}


def test_a_link_to_another_portal_is_not_followed_as_part_of_the_first(fleet_crawl):
    fleet, archive, _, _, (_, b_first) = fleet_crawl
    assert "/only-from-a.html" not in [entry.path for entry in fleet.b.requests[:b_first]]
    assert fleet.other_port.requests == []  # another port of A's host is out of scope by default
    with index(archive).connect() as conn:
        urls = [url for (url,) in conn.execute(select(captures.c.url))]
    assert not [url for url in urls if not url.startswith("http")]
    assert not [url for url in urls if "www.127.0.0.2" in url]


def test_per_site_stats(fleet_crawl):
    fleet, archive, _, _, (a_first, b_first) = fleet_crawl
    first = crawl_rows(archive)[0]
    assert first.site is None and first.status == "finished"
    sites = first.stats["sites"]
    assert set(sites) == {"jia", "yi", "dead", "silent"}
    a_pages = sum(1 for entry in fleet.a.requests[:a_first] if entry.path != "/robots.txt")
    b_pages = sum(1 for entry in fleet.b.requests[:b_first] if entry.path != "/robots.txt")
    assert (sites["jia"]["pages"], sites["yi"]["pages"]) == (a_pages, b_pages)
    assert sites["jia"]["articles_new"] == len(fleet.site_a.articles)
    assert sites["yi"]["articles_new"] == len(fleet.site_b.articles)
    assert sites["jia"]["label"] == "甲站"
    assert sites["jia"]["stopped"] == sites["yi"]["stopped"] == "finished"
    assert "family" in sites["jia"]
    # Dropped at the gate: file:, ftp:, the made-up subdomain, the other port. (The link to B
    # and mailto: never leave the page worker, which keeps only links on the site's hosts.)
    assert sites["jia"]["out_of_scope"] == 4
    scope = first.stats["summary"]["out_of_scope"]
    assert scope == {"offsite": 1, "dropped_scheme/file": 1, "dropped_scheme/ftp": 1, "other_port": 1}, scope
    for name in ("dead", "silent"):
        # Retried with backoff until no answer came for SITE_GIVE_UP_AFTER seconds.
        assert sites[name]["pages"] == 0 and sites[name]["network_failures"] >= 2, sites[name]
        assert sites[name]["stopped"].startswith("gave up: no answer from its hosts for "), sites[name]
    summary = first.stats["summary"]["sites"]
    assert summary["archived_nothing"] == ["dead", "silent"] and summary["total"] == 4


def test_second_crawl_skips_each_sites_known_articles(fleet_crawl):
    fleet, archive, _, second, (a_first, b_first) = fleet_crawl
    assert "Traceback" not in second.stderr, second.stderr[-3000:]
    for site, server, before in ((fleet.site_a, fleet.a, a_first), (fleet.site_b, fleet.b, b_first)):
        again = Counter(entry.path for entry in server.requests[before:])
        assert again, "the second crawl did not visit the portal"
        assert not set(again) & set(site.articles), "known articles fetched again"
    rows = crawl_rows(archive)
    assert len(rows) == 2 and rows[1].stats["sites"]["jia"]["articles_new"] == 0
    with index(archive).connect() as conn:
        per_url = Counter(url for (url,) in conn.execute(select(articles.c.url)))
    assert set(per_url.values()) == {1}
    assert len(per_url) == len(fleet.site_a.articles) + len(fleet.site_b.articles)


def test_the_frontier_waited_on_disk_and_was_removed(fleet_crawl):
    _, archive, _, _, _ = fleet_crawl
    stats = crawl_rows(archive)[0].stats
    assert stats["scheduler/enqueued/disk"] == stats["scheduler/enqueued"] > 20
    assert "scheduler/enqueued/memory" not in stats
    assert list(frontier_dir(archive).iterdir()) == []


def test_archive_verifies_clean(fleet_crawl):
    result = verify(fleet_crawl[1])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.crawl  # the paused queue is the JOBDIR's (on disk): the crawl's, not the index's
def test_a_paused_crawl_of_many_portals_resumes_per_site(tmp_path):
    """SIGTERM with JOBDIR, then the same command: each portal is finished exactly once."""
    site_a, site_b = build_site(style="trs"), build_site(style="art")
    archive, jobdir = tmp_path / "archive", tmp_path / "job"
    with DemoServer(site_a, host="127.0.0.2", delay=0.05) as a, DemoServer(site_b, host="127.0.0.3", delay=0.05) as b:
        seeds = tmp_path / "seeds.txt"
        seeds.write_text(f"{a.url}\n{b.url}\n")
        command = crawl_command(archive, f"sites={seeds}", settings={"JOBDIR": str(jobdir)})
        # The log goes to a file: a pipe nobody reads fills up and blocks the crawl.
        log = tmp_path / "first.log"
        with log.open("w") as stderr:
            first = popen(command, cwd=ROOT, stderr=stderr)
        deadline = time.monotonic() + 120
        while len(a.requests) + len(b.requests) < 60:
            assert first.poll() is None, log.read_text()[-3000:]
            if time.monotonic() > deadline:
                first.kill()
                pytest.fail(f"60 requests not made in 120 s: {log.read_text()[-3000:]}")
            time.sleep(0.05)
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=120) == 128 + signal.SIGTERM, log.read_text()[-3000:]  # interrupted
        second = run(command, cwd=ROOT, capture_output=True, text=True, timeout=240)
        assert second.returncode == 0, second.stderr[-3000:]
        assert "the paused run's queue per site taken up (2 sites left)" in second.stderr
    rows = crawl_rows(archive)
    assert [row.status for row in rows] == ["interrupted", "finished"]
    for name, site in (("127.0.0.2", site_a), ("127.0.0.3", site_b)):
        assert rows[0].stats["sites"][name]["stopped"] == "shutdown"
        assert rows[1].stats["sites"][name]["stopped"] == "finished"
        assert sum(row.stats["sites"][name]["articles_new"] for row in rows) == len(site.articles)
    with index(archive).connect() as conn:
        per_url = Counter(url for (url,) in conn.execute(select(articles.c.url)))
    assert len(per_url) == len(site_a.articles) + len(site_b.articles) and set(per_url.values()) == {1}
