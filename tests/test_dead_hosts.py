"""The open web's failures never cost a portal (issue 18): dead, blackholed and trickling
third-party hosts, a start host that does not resolve, and an outage of the portal itself.

Every crawl here runs on a loopback internet (tests/loopback_internet.py): a portal of real
corpus pages whose requisites still point at the hosts of the sites they came from, a DNS
resolver that knows only the portal (every other name is NXDOMAIN, or leads to a blackholed
or trickling host), and a portal server that can go down mid-crawl and come back. Times are
scaled down by settings (timeouts, backoff, the give-up window); timing goals are in
bench/dead-hosts.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from loopback_internet import Blackhole, CorpusPortal, Trickle, lookups, resolver_settings
from sqlalchemy import select
from support import CORPUS, ROOT, crawl_command, index, needs_shared, run_crawl
from zygote import run

from archive.models import articles, captures, crawls
from demo.server import DemoServer
from demo.site import build_site

pytestmark = [pytest.mark.slow, pytest.mark.crawl, needs_shared]

PORTAL = "www.xfzd.gov.test"
CDN = "static.xfzd-cdn.example.cn"  # the portal's own static host, long gone
# Time scaled down: requisites wait 1 s, retries 0.2 s and up (at most 1 s).
SCALED = {"REQUISITES_DOWNLOAD_TIMEOUT": "1", "RETRY_BACKOFF_BASE": "0.2", "RETRY_BACKOFF_MAX": "1"}


@dataclass
class Crawled:
    portal: CorpusPortal
    work: Path
    log: str
    stats: dict[str, Any]

    @property
    def archive(self) -> Path:
        return self.work / "archive"

    def looked_up(self) -> Counter[str]:
        return lookups(self.work)

    def captured(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        with index(self.archive).connect() as conn:
            for url, status in conn.execute(select(captures.c.url, captures.c.status).order_by(captures.c.id)):
                out.setdefault(url, []).append(status)
        return out

    def article_urls(self) -> set[str]:
        with index(self.archive).connect() as conn:
            return set(conn.execute(select(articles.c.url)).scalars())


def last_stats(archive: Path) -> dict[str, Any]:
    with index(archive).connect() as conn:
        return conn.execute(select(crawls.c.stats).order_by(crawls.c.id.desc()).limit(1)).scalar_one()


def crawl_portal(work: Path, portal: CorpusPortal, default: str | None = None,
                 settings: dict[str, str] | None = None) -> Crawled:
    dns = resolver_settings(work, {PORTAL: portal.address}, default)
    with portal:
        result = run_crawl(work / "archive", f"start_url={portal.url}", settings={**dns, **(settings or {})},
                           timeout=240)
    return Crawled(portal, work, result.stderr, last_stats(work / "archive"))


def assert_archived_whole(crawled: Crawled) -> None:
    """Every article page answered 200 and is an article row; the portal was not given up."""
    portal = crawled.portal
    captured = crawled.captured()
    pages = {portal.url.rstrip("/") + path for path in portal.articles}
    assert {url for url in pages if 200 in captured.get(url, [])} == pages
    assert crawled.article_urls() == pages
    site = crawled.stats["sites"][PORTAL]
    assert site["stopped"] == "finished", site
    assert crawled.stats["summary"]["sites"]["gave_up"] == []


# --- Every third-party host dead (NXDOMAIN) -------------------------------------------------------

@pytest.fixture(scope="module")
def nxdomain(tmp_path_factory) -> Crawled:
    work = tmp_path_factory.mktemp("nxdomain")
    return crawl_portal(work, CorpusPortal(CORPUS / "pages", PORTAL, cdn=CDN))


def test_every_article_is_archived_with_every_third_party_host_dead(nxdomain):
    assert_archived_whole(nxdomain)  # run_crawl checked: exit status 0, no traceback
    assert nxdomain.stats["summary"]["gave_up"] == 0  # no request failed for good: requisites never count


def test_a_host_that_does_not_resolve_is_asked_once(nxdomain):
    asked = nxdomain.looked_up()
    dead = set(asked) - {PORTAL}
    assert CDN in dead and len(dead) > 20
    # One lookup per dead host: its robots.txt, its retries and its queued requisites never went out.
    assert {name: count for name, count in asked.items() if name in dead and count != 1} == {}
    hosts = nxdomain.stats["hosts"]
    assert {name for name, host in hosts.items() if host["verdict"] == "unresolvable"} == dead


def test_each_dead_host_is_reported_once_with_its_skipped_requests(nxdomain):
    hosts = nxdomain.stats["hosts"]
    cdn = hosts[CDN]
    # The home and listing pages each link one stylesheet there: all refused without a connection.
    assert cdn["skipped"] == len(nxdomain.portal.cdn_urls()) == 4
    assert cdn["first_error"].startswith("CannotResolveHostError") and f"http://{CDN}/robots.txt" in cdn["first_error"]
    assert cdn["sites"] == [PORTAL]
    assert sum(host["skipped"] for host in hosts.values()) == nxdomain.stats["hosts/skipped"]
    summary = nxdomain.stats["summary"]["dead_hosts"]
    assert set(summary) == set(hosts)
    assert summary[CDN] == {"verdict": "unresolvable", "reason": "its name does not resolve",
                            "first_error": cdn["first_error"], "skipped": 4}
    # One log line per dead host, none per URL.
    lines = [line for line in nxdomain.log.splitlines() if " does not resolve " in line]
    assert Counter(line.split(" host ", 1)[1].split()[0] for line in lines) == Counter(set(hosts))
    assert "Gave up retrying" not in nxdomain.log and "gave up on http" not in nxdomain.log


# --- Blackholed and trickling third-party hosts ------------------------------------------------------

@pytest.mark.parametrize("kind", ["silent", "dropped", "trickle"])
def test_blackholed_and_trickling_hosts_are_tried_at_most_twice(tmp_path, kind):
    """Every third-party name leads to one server that never answers (accepting connections
    or not), or that sends a byte a second; after two failed connections a host gets no more."""
    server = Trickle("127.0.0.9") if kind == "trickle" else Blackhole("127.0.0.9", kind)
    with server:
        portal = CorpusPortal(CORPUS / "pages", PORTAL, third_party_port=server.port, cdn=CDN)
        crawled = crawl_portal(tmp_path, portal, default="127.0.0.9", settings=SCALED)
    assert_archived_whole(crawled)
    asked = crawled.looked_up()
    others = {name: count for name, count in asked.items() if name != PORTAL}
    assert CDN in others and len(others) > 20
    assert {name: count for name, count in others.items() if count > 2} == {}
    cdn = crawled.stats["hosts"][CDN]
    assert (cdn["verdict"], cdn["skipped"]) == ("unreachable", 4)


# --- The portal goes down for a while, then comes back ----------------------------------------------

@pytest.mark.parametrize("mode", ["503", "refuse"])
def test_an_outage_of_the_portal_loses_nothing(tmp_path, mode):
    """After 10 articles the portal answers 503 (or refuses connections) for 4 s; retries back
    off (0.2 s, 0.4 s ..., 1 s at most) for as long as it takes, well within the give-up window."""
    portal = CorpusPortal(CORPUS / "pages", PORTAL)
    portal.outage(after_articles=10, seconds=4, mode=mode)
    crawled = crawl_portal(tmp_path, portal, settings={**SCALED, "SITE_GIVE_UP_AFTER": "60"})
    assert portal.outage_began is not None
    later = [entry for entry in portal.served if entry.at > portal.outage_began + 4 and entry.path in portal.articles]
    assert later, "the outage was not in the middle of the crawl"
    if mode == "503":
        assert [entry for entry in portal.served if entry.status == 503]
    assert_archived_whole(crawled)


# --- A start host that does not resolve -------------------------------------------------------------

def test_a_portal_whose_start_host_does_not_resolve_is_given_up_at_once(tmp_path):
    gone = "www.gone-portal.example.cn"
    site = build_site(channels=1, articles_per_channel=4, extras=False)
    seeds = tmp_path / "seeds.txt"
    with DemoServer(site) as server:
        seeds.write_text(f"{server.url}\nhttp://{gone}/\n")
        command = crawl_command(tmp_path / "archive", f"sites={seeds}", settings=resolver_settings(tmp_path, {}))
        started = time.monotonic()
        result = run(command, cwd=ROOT, capture_output=True, text=True, timeout=240)
        took = time.monotonic() - started
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert lookups(tmp_path)[gone] == 1
    lines = [line for line in result.stderr.splitlines() if gone in line and "crawl failed" not in line]
    errors = [line for line in lines if "ERROR" in line]
    assert len(errors) == 1 and f"its start host {gone} does not resolve" in errors[0], errors
    assert [line for line in lines if "WARNING" in line] == []
    stats = last_stats(tmp_path / "archive")
    assert stats["sites"][gone]["stopped"].startswith(f"gave up: its start host {gone} does not resolve")
    assert stats["sites"]["127.0.0.1"]["stopped"] == "finished"
    assert stats["sites"]["127.0.0.1"]["articles_new"] == len(site.articles)
    # The live portal was archived; the dead one archived nothing, which the exit status says.
    assert result.returncode == 1 and f"archived nothing from 1 of 2 sites: {gone}" in result.stderr
    assert took < 60
