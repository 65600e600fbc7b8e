"""Content first (issue 26): page requisites never starve articles, a page visit is the unit
of politeness, ads and trackers are skipped and counted.

The portals (demo/requisite_portal.py) are demo portals whose articles name 10-30 requisites
each: shared stylesheets and scripts, images per page, and ad/statistics/share/chat URLs with
long query strings on the portal's own host and on the trackers' hosts. Each lives on its own
loopback address; the server logs when every request arrived.
"""

from __future__ import annotations

import json
import socket
import statistics
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler
from sqlalchemy import select
from support import index, run_crawl

from archive.models import articles, captures, crawls
from crawler import settings as project_settings
from crawler.capture.page_visits import MIN_DELAY, PageVisits, requisite_delay
from crawler.capture.requisites import ARTICLE_IMAGE, IMAGE, SCRIPT, STYLESHEET, Requisite
from crawler.scope.blocklist import BlockList, bundled
from demo.requisite_portal import RequisitePortal, build_requisite_site
from demo.server import DemoServer, RequestLog

DELAY = 0.5  # DOWNLOAD_DELAY of the polite crawls: short for a test, long against loopback latency


@dataclass
class Served:
    portal: RequisitePortal
    server: DemoServer

    @property
    def base(self) -> str:
        return self.server.url.rstrip("/")

    def is_page(self, path: str) -> bool:
        return path == "/" or path in self.portal.site.listings or path in self.portal.articles

    def pages(self, log: list[RequestLog]) -> list[RequestLog]:
        return [entry for entry in log if self.is_page(entry.path)]

    def requisites(self, log: list[RequestLog]) -> list[RequestLog]:
        return [entry for entry in log if not self.is_page(entry.path) and entry.path != "/robots.txt"]

    def tracker_urls(self) -> dict[str, str]:
        """Every tracker URL the portal's pages name, absolute, with its block-list rule."""
        return {urljoin(self.server.url, url): rule for named in self.portal.trackers.values() for rule, url in named}


@contextmanager
def served(portals: list[RequisitePortal]) -> Iterator[list[Served]]:
    with ExitStack() as stack:
        yield [Served(portal, stack.enter_context(DemoServer(portal.site, host=f"127.0.0.{k + 2}")))
               for k, portal in enumerate(portals)]


def seeds(path: Path, sites: list[Served]) -> str:
    path.write_text("".join(f"{site.server.url}\n" for site in sites))
    return f"sites={path}"


def crawl_stats(archive: Path) -> dict:
    with index(archive).connect() as conn:
        stats = conn.execute(select(crawls.c.stats).order_by(crawls.c.id.desc()).limit(1)).scalar_one()
    return stats if isinstance(stats, dict) else json.loads(stats)


def captures_count(archive: Path) -> int:
    with index(archive).connect() as conn:
        return len(conn.execute(select(captures.c.id)).all())


def indexed_urls(archive: Path) -> set[str]:
    with index(archive).connect() as conn:
        return set(conn.execute(select(articles.c.url)).scalars())


# AutoThrottle off: the bounds below are DOWNLOAD_DELAY's (randomised 0.5-1.5x); AutoThrottle
# raises a host's delay with the latency it sees, which on a loaded test machine is the load's.
POLITE = {"DOWNLOAD_DELAY": str(DELAY), "CONCURRENT_REQUESTS_PER_DOMAIN": "2", "AUTOTHROTTLE_ENABLED": "0"}


@pytest.fixture(scope="module")
def polite(tmp_path_factory):
    """Two portals (listings of 2 articles, 11-14 images per article) crawled whole at 0.5 s per
    host, then again into a new archive with the crawl cut at half the first one's time.

    Small (8 articles, 13 pages, over 110 requisites a portal: the requisites' own pace, not
    the pages', sets how long a crawl takes, four times over), so the crawls are short."""
    portals = [build_requisite_site(seed=k, style=("trs", "art")[k], channels=2, articles_per_channel=4,
                                    per_page=2, photos=(10, 13)) for k in range(2)]
    work = tmp_path_factory.mktemp("polite")
    with served(portals) as sites:
        run_crawl(work / "whole", seeds(work / "seeds.txt", sites), settings=POLITE, timeout=400)
        logs = [list(site.server.requests) for site in sites]
        # The crawl's own time, first request to last, as CLOSESPIDER_TIMEOUT counts it: the
        # process's start-up and shutdown (seconds more under CI's load) are no part of it.
        took = max(log[-1].at for log in logs) - min(log[0].at for log in logs)
        # The cut: at half the whole crawl's time. On a loaded machine the whole crawl can take
        # twice what a quieter one does (each of its ~260 requests waits for a CPU), and half its
        # time then holds all of the next crawl (262 of 262 captures, now and then in CI): the
        # crawl is cut again at a quarter. Either way every article must come before the cut.
        for fraction in (2, 4):
            for site in sites:
                site.server.requests.clear()
            cut, cut_at = work / f"cut-{fraction}", took / fraction
            run_crawl(cut, seeds(work / "seeds.txt", sites),
                      settings={**POLITE, "CLOSESPIDER_TIMEOUT": f"{cut_at:.1f}"}, timeout=400)
            if captures_count(cut) < captures_count(work / "whole") - 50:  # requisites left for later
                break
        cut_logs = [list(site.server.requests) for site in sites]
        yield sites, logs, work / "whole", (cut, cut_logs, cut_at), took


@pytest.mark.slow
@pytest.mark.crawl
def test_pages_keep_the_page_pace_whatever_their_requisites(polite):
    """No article or listing waits behind a requisite: each host's k-th page is requested
    within (k - 1) x 1.5 x DOWNLOAD_DELAY (Scrapy's longest randomised wait) of its first,
    plus a few seconds for parsing, though the host serves 11-14 requisites per article meanwhile."""
    sites, logs, _, _, _ = polite
    for site, log in zip(sites, logs, strict=True):
        pages = site.pages(log)
        assert len({entry.path for entry in pages}) == len(site.portal.articles) + len(site.portal.site.listings) + 1
        # From the first page after the home page: waiting for the home page to be parsed
        # (seconds on a loaded machine, the first parse warming up) is start-up, not pace.
        first = pages[1].at
        late = [(k, entry.path, round(entry.at - first, 1)) for k, entry in enumerate(pages[1:])
                if entry.at - first > k * 1.5 * DELAY + 3.0]
        assert not late, f"{site.base}: pages later than the page pace allows: {late[:5]}"
        assert len(site.requisites(log)) > 2 * len(pages)  # the requisites were there to get in the way


@pytest.mark.slow
@pytest.mark.crawl
def test_per_host_page_gap_holds_and_requisites_keep_their_own_pace(polite):
    """Pages are DOWNLOAD_DELAY apart (Scrapy randomises it to 0.5x-1.5x); requisites are at
    least 0.2 s apart on average, at their own pace (REQUISITES_DELAY), not a page's."""
    sites, logs, _, _, _ = polite
    for site, log in zip(sites, logs, strict=True):
        pages = [entry.at for entry in site.pages(log)]
        page_gaps = [b - a for a, b in zip(pages, pages[1:], strict=False)]
        assert min(page_gaps) >= 0.5 * DELAY - 0.05, f"{site.base}: pages {min(page_gaps):.3f} s apart"
        times = [entry.at for entry in site.requisites(log)]
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        assert len(times) > 100
        assert (times[-1] - times[0]) / (len(times) - 1) >= MIN_DELAY, f"{site.base}: requisites too close"
        assert statistics.median(gaps) < 0.8 * DELAY, f"{site.base}: requisites take a page's turn"


@pytest.mark.slow
@pytest.mark.crawl
def test_a_crawl_cut_at_half_its_time_has_every_article(polite):
    """CLOSESPIDER_TIMEOUT at half the whole crawl's time (a quarter when load made that
    crawl slow): every article was requested before the cut, and is indexed; the requisites
    still waiting are what the cut costs."""
    sites, _, whole, (cut, logs, cut_at), took = polite
    assert crawl_stats(cut).get("finish_reason") == "closespider_timeout", f"not cut ({took:.0f} s whole)"
    got = indexed_urls(cut)
    for site, log in zip(sites, logs, strict=True):
        start = log[0].at
        late = [entry.path for entry in log if entry.path in site.portal.articles and entry.at - start > cut_at]
        assert not late, f"{site.base}: {len(late)} articles requested after the cut at {cut_at:.0f} s: {late[:3]}"
        missing = sorted(path for path in site.portal.articles if site.base + path not in got)
        assert not missing, f"{site.base}: {len(missing)} articles not indexed: {missing[:3]}"
    assert captures_count(cut) < captures_count(whole) - 50  # requisites left for later


@pytest.mark.slow
@pytest.mark.crawl
def test_requisites_once_each_and_trackers_skipped_and_counted(polite):
    """Every requisite the pages need is fetched, each once per crawl (a site-wide stylesheet
    once, not once per page); no tracker is requested; each is counted under its rule."""
    sites, logs, whole, _, _ = polite
    stats = crawl_stats(whole)
    expected: Counter[str] = Counter()
    for site, log in zip(sites, logs, strict=True):
        fetched = Counter(entry.path for entry in site.requisites(log))
        needed = {path for named in site.portal.requisites.values() for path in named}
        assert set(fetched) == needed, (sorted(needed - set(fetched))[:5], sorted(set(fetched) - needed)[:5])
        assert max(fetched.values()) == 1, fetched.most_common(3)
        expected.update(site.tracker_urls().values())
    by_rule = {key.rsplit("/", 1)[1]: value for key, value in stats.items() if key.startswith("requisites/blocked/")}
    assert by_rule == dict(expected)
    assert stats["requisites/blocked"] == sum(expected.values())


@pytest.mark.slow
@pytest.mark.crawl
def test_block_list_setting_switches_it_off(tmp_path):
    """On (the default): no tracker on the portal's own host requested, each counted. Off:
    they are fetched as any other requisite, and nothing is counted as blocked."""
    portal = build_requisite_site(seed=5, channels=1, articles_per_channel=4, per_page=4)
    on_host = {url.split("?")[0] for named in portal.trackers.values() for _, url in named if url.startswith("/")}
    requested = {}
    with served([portal]) as sites:
        for switch in ("1", "0"):
            sites[0].server.requests.clear()
            run_crawl(tmp_path / switch, seeds(tmp_path / "seeds.txt", sites),
                      settings={"REQUISITES_BLOCK_ADS": switch})
            requested[switch] = {entry.path.split("?")[0] for entry in sites[0].server.requests}
    assert on_host and not on_host & requested["1"] and on_host <= requested["0"]
    assert crawl_stats(tmp_path / "1")["requisites/blocked"] == len(sites[0].tracker_urls())
    assert "requisites/blocked" not in crawl_stats(tmp_path / "0")


@pytest.mark.slow
@pytest.mark.crawl
def test_when_downloads_are_scarce_every_article_goes_before_article_requisites(tmp_path):
    """Hundreds of hosts share CONCURRENT_REQUESTS; here two portals share one download at a
    time. Every article of a host is requested before any requisite an article page names:
    a requisite of a later page visit never takes a pending article's place."""
    portals = [build_requisite_site(seed=10 + k, style=("trs", "art")[k], channels=1, articles_per_channel=12,
                                    per_page=12) for k in range(2)]
    with served(portals) as sites:
        run_crawl(tmp_path / "a", seeds(tmp_path / "seeds.txt", sites), settings={"CONCURRENT_REQUESTS": "1"})
        for site in sites:
            log = site.server.requests
            article_pages = [path for path in site.portal.articles if path in site.portal.requisites]
            of_articles = {path for page in article_pages for path in site.portal.requisites[page]} - {
                path for page, named in site.portal.requisites.items() if page not in site.portal.articles
                for path in named}
            last_article = max(k for k, entry in enumerate(log) if entry.path in site.portal.articles)
            early = [entry.path for entry in log[:last_article] if entry.path in of_articles]
            assert not early, f"{site.base}: requisites of article pages before its last article: {early[:5]}"
            assert of_articles <= {entry.path for entry in log}


# --- the pieces, without a crawl -------------------------------------------------------------

def visits(**overrides) -> PageVisits:
    settings = Settings()
    settings.setmodule(project_settings)
    settings.setdict(overrides)
    crawler = get_crawler(settings_dict={name: value for name, value in settings.copy_to_dict().items()
                                         if not name.startswith(("TWISTED", "ASYNCIO"))})  # no reactor here
    crawler.stats.open_spider()
    return PageVisits(crawler.settings, crawler)


def test_requisites_once_per_crawl_capped_per_page_and_site_article_images_never():
    gate = visits(REQUISITES_MAX_PER_PAGE=3, REQUISITES_MAX_PER_SITE=5)
    hosts = ["www.example.gov.cn"]

    def page(*names: str, images: tuple[str, ...] = ()) -> list[Requisite]:
        return ([Requisite(f"http://www.example.gov.cn/{name}", STYLESHEET) for name in names]
                + [Requisite(f"http://www.example.gov.cn/{name}", ARTICLE_IMAGE) for name in images])

    first = gate.admit(page("a.css", "b.css", "c.css", "d.css", images=("p1.jpg",)), hosts, "x")
    assert [r.url.rsplit("/", 1)[1] for r in first] == ["a.css", "b.css", "c.css", "p1.jpg"]
    second = gate.admit(page("a.css", "d.css", "e.css", "f.css", "g.css", images=("p2.jpg", "p1.jpg")), hosts, "x")
    assert [r.url.rsplit("/", 1)[1] for r in second] == ["d.css", "e.css", "p2.jpg"]  # the site's cap of 5
    assert gate.admit(page("h.css"), hosts, "y") == page("h.css")  # another portal has its own cap
    stats = gate.crawler.stats
    assert stats.get_value("requisites/capped/page") == 1 and stats.get_value("requisites/capped/site") == 2


def test_trackers_blocked_once_each_and_counted_by_rule():
    gate = visits()
    hosts = ["www.example.gov.cn"]
    named = [Requisite("https://hm.baidu.com/hm.js?0123456789abcdef", SCRIPT),
             Requisite("http://www.example.gov.cn/cpro/auto_dup?psi=1&di=2", SCRIPT),
             Requisite("https://s4.cnzz.com/z_stat.php?id=1&web_id=1", IMAGE),
             Requisite("http://www.example.gov.cn/images/top.png", IMAGE)]
    assert gate.admit(named + named, hosts, "x") == [named[3]]
    stats = gate.crawler.stats
    assert stats.get_value("requisites/blocked") == 3
    rules = ("baidu_tongji", "baidu_union", "cnzz")
    assert [stats.get_value(f"requisites/blocked/{rule}") for rule in rules] == [1, 1, 1]
    assert visits(REQUISITES_BLOCK_ADS=False).admit(named, hosts, "x") == [named[1], named[3]]  # third parties aside


def test_block_list_rules_by_host_and_by_path():
    rules = BlockList.from_toml('[[rule]]\nname = "t"\nhosts = ["tracker.cn"]\nurls = ["*/beacon.gif?*"]\n')
    assert rules.match("http://a.b.tracker.cn/x.js") == "t"
    assert rules.match("http://tracker.cn.example.org/x.js") is None
    assert rules.match("http://www.gov.cn/img/beacon.gif?u=1") == "t"
    assert rules.match("http://www.gov.cn/img/beacon.gif") is None
    shipped = bundled()
    assert shipped.match("https://zz.bdstatic.com/linksubmit/push.js") == "baidu_push"  # a CDN host otherwise admitted
    assert shipped.match("http://www.gov.cn/static/api/js/share.js?v=89860593.js?cdnversion=43") == "baidu_share"
    assert shipped.match("http://www.gov.cn/images/share.png") is None


def test_requisite_delay_floor_and_ceiling():
    def delay(**values) -> float:
        settings = Settings()
        settings.setmodule(project_settings)
        settings.setdict(values)
        return requisite_delay(settings)

    assert delay() == 0.25
    assert delay(REQUISITES_DELAY=0.05) == MIN_DELAY == 0.2
    assert delay(DOWNLOAD_DELAY=0.1) == 0.1  # never slower than pages
    assert delay(DOWNLOAD_DELAY=0) == 0


@pytest.mark.slow
@pytest.mark.crawl
def test_requisites_on_a_dead_host_never_give_the_portal_up(tmp_path):
    """Every article names three images on a host that refuses connections (a dead CDN); the
    portal's own pages answer. Giving the portal up over its decorations' failures (here after
    2 s of them) would cost it its articles."""
    dead = f"http://127.0.0.9:{free_port('127.0.0.9')}"
    portal = build_requisite_site(seed=7, channels=1, articles_per_channel=12, per_page=12)
    for path in portal.articles:
        route = portal.site.routes[path]
        images = "".join(f'<img src="{dead}/pic/{abs(hash(path)) % 10**8}_{n}.jpg">' for n in range(3))
        route.body = route.body.replace(b"</body>", images.encode() + b"</body>", 1)
    with served([portal]) as sites:
        run_crawl(tmp_path / "a", seeds(tmp_path / "seeds.txt", sites), settings={
            "REQUISITES_HOSTS": "127.0.0.9", "SITE_GIVE_UP_AFTER": "2", "RETRY_TIMES": "0",
            "CRAWL_MAX_ERROR_RATE": "1", "CONCURRENT_REQUESTS_PER_DOMAIN": "1"})
        base = sites[0].base
    got = indexed_urls(tmp_path / "a")
    assert not [path for path in portal.articles if base + path not in got]
    assert crawl_stats(tmp_path / "a")["sites"][urlsplit(base).hostname]["stopped"] == "finished"


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
