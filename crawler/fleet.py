"""Many portals in one crawl: each keeps its own scope, history, counts and fate.

A crawl covers one site (``-a site=NAME`` / ``-a start_url=URL``) or many (``-a sites=FILE``,
``-a site=all``). Every request carries its site in ``request.meta["site"]``; the pieces
here use it to

- hold each site's profile, scope (``crawler/scope.py``) and incremental history;
- gate every request before it is scheduled (scope, schemes, sites given up);
- count per site: pages, new articles, errors, and whether requests are still pending,
  so a site is known to be done as soon as its last request settles;
- give up on a site whose hosts keep failing at the network level (dead host, or one that
  accepts and never answers) after ``FLEET_GIVE_UP_AFTER`` failures in a row, so it
  never holds back the others; the reason is kept per site;
- report all of that into ``crawls.stats["sites"]`` and the summary (``crawler/report.py``).

A request is one pending unit from the moment it is scheduled until its callback's output
has been scheduled, its errback ran, or the scheduler dropped it. A retry or redirect made
from it continues the same unit (its meta is copied), so a site is never seen as done
between a failed attempt and its retry.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.settings import BaseSettings
from sqlalchemy import Engine, select

from archive.history import History
from archive.models import crawls
from crawler.profiles import SiteProfile, available_sites, generic_profile, load_profile
from crawler.scope import Scope, ascii_host, ascii_url, site_scope
from crawler.seeds import Seed, SeedError, checked_url, load_seeds

logger = logging.getLogger(__name__)

# Exceptions that say the host is not answering (as opposed to answering badly), by name:
# Scrapy's own (2.14+) and the Twisted ones older handlers raise.
NETWORK_FAILURES = (
    "DownloadTimeoutError", "DownloadConnectionRefusedError", "CannotResolveHostError", "DownloadFailedError",
    "TimeoutError", "TCPTimedOutError", "ConnectionRefusedError", "ConnectError", "ConnectionLost",
    "ResponseNeverReceived", "DNSLookupError", "NoRouteError", "ConnectingCancelledError",
)
_UNIT = "fleet_unit"


@dataclass
class SiteState:
    """One portal in the crawl and what became of it."""

    name: str
    profile: SiteProfile
    scope: Scope
    label: str | None = None
    history: History | None = None
    # The portal's CMS family: from its profile, or recognised by discovery from its pages
    # (crawler/discover/spider.py); the summary reports it.
    family: str | None = None
    pages: int = 0
    articles_new: int = 0
    errors: int = 0
    out_of_scope: int = 0
    network_failures: int = 0
    network_failures_in_a_row: int = 0
    pending: int = 0
    # None while running; "finished", "gave up: ...", or the crawl's own end reason.
    stopped: str | None = None
    # Script pagers whose pages were all requested: (first page, last page, count).
    expanded_pagers: set[tuple[str, str, int]] = field(default_factory=set)

    def report(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "start_urls": self.profile.start_urls,
            "family": self.family,
            "pages": self.pages,
            "articles_new": self.articles_new,
            "errors": self.errors,
            "out_of_scope": self.out_of_scope,
            "network_failures": self.network_failures,
            "stopped": self.stopped or "running",
        }


def site_from_seed(seed: Seed, settings: BaseSettings) -> SiteState:
    start_url = ascii_url(seed.start_url) if seed.start_url else None
    if seed.profile:
        profile = load_profile(seed.profile, start_url)
    elif start_url:
        profile = generic_profile(start_url)
    else:
        raise SeedError("a seed needs a start_url or a profile")
    hosts = sorted({ascii_host(host) for host in [*profile.allowed_hosts, *seed.hosts] if host})
    profile = dataclasses.replace(
        profile,
        name=seed.name or profile.name,
        start_urls=[ascii_url(url) for url in profile.start_urls],
        allowed_hosts=hosts,
    )
    scope = site_scope(profile.start_urls, hosts, settings.getlist("SCOPE_SCHEMES"),
                       settings.getbool("SCOPE_ANY_PORT"))
    return SiteState(profile.name, profile, scope, label=seed.label,
                     family=getattr(profile, "family", None))


def seeds_from_args(start_url: str | None, site: str | None, sites: str | None) -> list[Seed]:
    """The spider arguments as seeds: ``sites=FILE``, ``site=all``, ``site=NAME``, ``start_url=URL``."""
    if sites:
        return load_seeds(sites)
    if site == "all":
        names = available_sites()
        if not names:
            raise SeedError("site=all, but crawler/sites/ holds no profile")
        return [Seed("", profile=name) for name in names]
    if site:
        return [Seed(start_url or "", profile=site)]
    if start_url:
        return [Seed(start_url)]
    raise SeedError("give -a start_url=URL, -a site=NAME, -a site=all or -a sites=FILE")


def argument_problem(spargs: dict[str, str]) -> str | None:
    """What is wrong with the portal spider's arguments (seed list, profile names), or None."""
    try:
        for seed in seeds_from_args(spargs.get("start_url"), spargs.get("site"), spargs.get("sites")):
            if seed.profile:
                load_profile(seed.profile)
            if seed.start_url:
                checked_url(seed.start_url, "-a start_url")
    except ValueError as error:  # SeedError included
        return str(error)
    return None


def build_sites(seeds: list[Seed], settings: BaseSettings) -> dict[str, SiteState]:
    out: dict[str, SiteState] = {}
    for seed in seeds:
        state = site_from_seed(seed, settings)
        if state.name in out:
            port = urlsplit_port(state.profile.start_urls[0])
            if seed.name is None and port:
                state = dataclasses.replace(state, name=f"{state.name}:{port}",
                                            profile=dataclasses.replace(state.profile, name=f"{state.name}:{port}"))
            if state.name in out:
                raise SeedError(f"two portals named {state.name!r} in the seed list; give one a name = ...")
        out[state.name] = state
    return out


def urlsplit_port(url: str) -> int | None:
    try:
        return urlsplit(url).port
    except ValueError:
        return None


def as_new_unit(request: Request) -> Request:
    """``request`` (a copy) counted as a pending unit of its site again when it is scheduled:
    for a request put back into the queue while its original is settled (crawler/stopping.py)."""
    request.meta.pop(_UNIT, None)
    return request


class Fleet:
    """The sites of one crawl, looked up by the ``site`` a request carries."""

    def __init__(self, sites: dict[str, SiteState]) -> None:
        self.sites = sites
        self.default = next(iter(sites.values())) if len(sites) == 1 else None
        # Marks a request as one pending unit; the same in every run, so that the requests a
        # JOBDIR run left in its queue still count once the counts are restored (``restore``).
        self.unit = "pending"
        # Requests made by Scrapy itself (robots.txt) carry no site: their host tells.
        self.by_host: dict[str, SiteState] = {}
        for state in sites.values():
            for host in state.scope.hosts:
                self.by_host.setdefault(host, state)

    def __len__(self) -> int:
        return len(self.sites)

    def site_for(self, request: Request) -> SiteState | None:
        name = request.meta.get("site")
        return self.sites.get(name) if name is not None else self.default

    def site_of_host(self, request: Request) -> SiteState | None:
        """``site_for``, falling back on the request's host for requests without a site."""
        state = self.site_for(request)
        if state is None:
            state = self.by_host.get(ascii_host(urlsplit(request.url).hostname or ""))
        return state

    def left(self) -> int:
        return sum(1 for state in self.sites.values() if state.stopped is None)

    def pending_unit(self, request: Request) -> bool:
        return request.meta.get(_UNIT) == self.unit

    def open_unit(self, request: Request, state: SiteState) -> None:
        if request.meta.get(_UNIT) != self.unit:
            request.meta[_UNIT] = self.unit
            state.pending += 1

    def settle(self, request: Request | None) -> None:
        """The request's unit of work is over; the site is done when none is left."""
        if request is None or request.meta.get(_UNIT) != self.unit:
            return
        request.meta[_UNIT] = None
        state = self.site_for(request)
        if state is None:
            return
        state.pending = max(0, state.pending - 1)
        if state.pending == 0 and state.stopped is None:
            state.stopped = "finished"
            if len(self.sites) > 1:
                logger.info("site %s done: %d pages, %d new articles, %d errors (%d of %d sites left)",
                            state.name, state.pages, state.articles_new, state.errors, self.left(), len(self.sites))

    def stopping(self, reason: str) -> None:
        """The crawl stops early (``reason``): a site whose requests are dropped unsent now did not finish."""
        for state in self.sites.values():
            if state.stopped is None:
                state.stopped = reason

    def give_up(self, state: SiteState, reason: str) -> None:
        if state.stopped is None or state.stopped == "finished":
            state.stopped = f"gave up: {reason}"
            logger.warning("giving up on site %s for this run: %s (%d of %d sites left)",
                           state.name, reason, self.left(), len(self.sites))

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """What a JOBDIR run keeps (spider.state) for the run that resumes it: the requests
        still queued per site, and which sites are over. (Pages, articles and errors are
        counted per run, as each run has its own ``crawls`` row.)"""
        return {name: {"pending": state.pending, "stopped": state.stopped} for name, state in self.sites.items()}

    def restore(self, saved: dict[str, dict[str, Any]]) -> None:
        for name, counts in saved.items():
            state = self.sites.get(name)
            if state is None:
                continue
            state.pending = int(counts.get("pending") or 0)
            if counts.get("stopped") == "finished" or str(counts.get("stopped")).startswith("gave up"):
                state.stopped = counts["stopped"]

    def close(self, reason: str) -> dict[str, dict[str, Any]]:
        for state in self.sites.values():
            if state.stopped is None:
                state.stopped = reason
            if state.stopped == "finished" and not state.pages:
                state.stopped = f"no page answered ({state.errors} errors)"
        return {name: state.report() for name, state in self.sites.items()}


def load_histories(engine: Engine, warc_dir: Path, sites: dict[str, SiteState]) -> None:
    """Give each site the history an incremental crawl needs.

    One site loads its own (``History.load``). Many share one History (its lookups go to
    the index by URL, on demand), each with its own ``complete``: did the last crawl that
    covered the site reach the site's end?
    """
    if len(sites) == 1:
        state = next(iter(sites.values()))
        history = History.load(engine, warc_dir, state.name)
        state.history = history if history else None
        return
    shared = History.load(engine, warc_dir, None)
    if not shared:
        return
    complete = sites_completed(engine, list(sites))
    for name, state in sites.items():
        state.history = SiteHistory(shared, complete.get(name, False))  # type: ignore[assignment]


class SiteHistory:
    """One site's view of a History shared by the sites of a crawl: the lookups (by URL, on
    demand from the index) are shared, ``complete`` is the site's own."""

    def __init__(self, shared: History, complete: bool) -> None:
        self.shared = shared
        self.complete = complete

    def __getattr__(self, name: str) -> Any:
        return getattr(self.shared, name)

    def __bool__(self) -> bool:
        return bool(self.shared)


def close_histories(sites: dict[str, SiteState]) -> None:
    """Close each History once (sites of a crawl may share one)."""
    histories = {}
    for state in sites.values():
        if state.history is not None:
            history = getattr(state.history, "shared", state.history)
            histories[id(history)] = history
    for history in histories.values():
        history.close()


def sites_completed(engine: Engine, names: list[str]) -> dict[str, bool]:
    """For each site, whether the newest crawl that covered it finished that site.

    A single-site crawl has the site in ``crawls.site``; a crawl of many keeps each site's
    fate in ``crawls.stats["sites"][NAME]["stopped"]``.
    """
    newest: dict[str, tuple[int, bool]] = {}
    with engine.connect() as conn:
        for crawl_id, site, status in conn.execute(
            select(crawls.c.id, crawls.c.site, crawls.c.status).where(crawls.c.site.in_(names))
        ):
            if crawl_id > newest.get(site, (-1, False))[0]:
                newest[site] = (crawl_id, status == "finished")
        rows = conn.execute(
            select(crawls.c.id, crawls.c.stats).where(crawls.c.site.is_(None)).order_by(crawls.c.id.desc()).limit(100)
        )
        for crawl_id, stats in rows:
            for name, report in ((stats or {}).get("sites") or {}).items():
                if name in names and crawl_id > newest.get(name, (-1, False))[0]:
                    newest[name] = (crawl_id, isinstance(report, dict) and report.get("stopped") == "finished")
    return {name: done for name, (_, done) in newest.items()}


class FleetExtension:
    """Scheduling gate and per-site counters, fed by Scrapy's signals."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self._logged: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FleetExtension:
        extension = cls(crawler)
        crawler.signals.connect(extension.request_scheduled, signal=signals.request_scheduled)
        crawler.signals.connect(extension.request_dropped, signal=signals.request_dropped)
        crawler.signals.connect(extension.response_received, signal=signals.response_received)
        crawler.signals.connect(extension.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        return extension

    def spider_opened(self, spider: Spider) -> None:
        """A resumed JOBDIR run takes up the counts its predecessor left (SpiderState loaded them)."""
        fleet = self._fleet()
        saved = getattr(spider, "state", {}).get("fleet") if fleet is not None else None
        if saved:
            fleet.restore(saved)
            logger.info("resumed: the paused run's queue per site taken up (%d sites left)", fleet.left())

    def _fleet(self) -> Fleet | None:
        return getattr(self.crawler.spider, "fleet", None)

    def request_scheduled(self, request: Request, spider: Spider) -> None:
        fleet = self._fleet()
        if fleet is None:
            return
        state = fleet.site_for(request)
        if state is None:
            return
        # A continuation page carries its article: dropped here, it would take the article
        # with it. It goes on, and FleetDownloaderMiddleware refuses it, which calls its errback.
        if state.stopped and state.stopped.startswith("gave up") and "article" not in request.meta:
            self.stats.inc_value("fleet/given_up_requests")
            fleet.settle(request)
            raise IgnoreRequest(f"site {state.name} given up: {request.url}")
        why = state.scope.why_not(request.url, requisite=bool(request.meta.get("requisite")))
        if why is not None:
            self._drop(fleet, state, request, why)
        fleet.open_unit(request, state)

    def _drop(self, fleet: Fleet, state: SiteState, request: Request, why: str) -> None:
        self.stats.inc_value(f"scope/{why}")
        state.out_of_scope += 1
        level = logging.INFO if why not in self._logged else logging.DEBUG
        self._logged.add(why)
        logger.log(level, "out of scope for site %s (%s), not requested: %s (further drops logged at DEBUG)",
                   state.name, why, request.url)
        fleet.settle(request)
        raise IgnoreRequest(f"out of scope ({why}): {request.url}")

    def request_dropped(self, request: Request, spider: Spider) -> None:
        fleet = self._fleet()
        if fleet is not None:
            fleet.settle(request)

    def response_received(self, response: Response, request: Request, spider: Spider) -> None:
        fleet = self._fleet()
        state = fleet.site_of_host(request) if fleet is not None else None
        if state is None:
            return
        state.network_failures_in_a_row = 0
        if fleet.pending_unit(request):  # a page of the crawl, not robots.txt
            state.pages += 1

    def item_scraped(self, item: Any, response: Response, spider: Spider) -> None:
        fleet = self._fleet()
        state = fleet.site_for(response.request) if fleet is not None and response is not None else None
        if state is not None:
            state.articles_new += 1


class FleetDownloaderMiddleware:
    """Give up on a site whose hosts fail at the network level again and again.

    Placed after the retry middleware (a higher number), it sees every attempt's failure;
    the retry middleware backs the host off in between (crawler/retry.py).
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.limit = crawler.settings.getint("FLEET_GIVE_UP_AFTER")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FleetDownloaderMiddleware:
        return cls(crawler)

    def _state(self, request: Request) -> tuple[Fleet | None, SiteState | None]:
        fleet: Fleet | None = getattr(self.crawler.spider, "fleet", None)
        return fleet, fleet.site_of_host(request) if fleet is not None else None

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        _, state = self._state(request)
        if state is not None and state.stopped and state.stopped.startswith("gave up"):
            self.crawler.stats.inc_value("fleet/given_up_requests")
            raise IgnoreRequest(f"site {state.name} given up: {request.url}")

    def process_exception(self, request: Request, exception: Exception, spider: Spider | None = None) -> None:
        fleet, state = self._state(request)
        if fleet is None or state is None or type(exception).__name__ not in NETWORK_FAILURES:
            return
        if request.meta.get("requisite"):
            return  # a stylesheet's or image's host failing must not cost the portal its articles (issue 26)
        state.network_failures += 1
        state.network_failures_in_a_row += 1
        if self.limit and state.network_failures_in_a_row >= self.limit:
            fleet.give_up(state, f"{state.network_failures_in_a_row} network failures in a row "
                                 f"(last: {type(exception).__name__} on {request.url})")


class FleetSpiderMiddleware:
    """Counts each request a callback yields as pending for its site at once, then settles
    the response's own request when the callback is over.

    Scrapy schedules a callback's requests concurrently, possibly after the callback has
    finished, so the children are counted here, before the parent is settled.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FleetSpiderMiddleware:
        return cls(crawler)

    def _settle(self, response: Response) -> None:
        fleet: Fleet | None = getattr(self.crawler.spider, "fleet", None)
        if fleet is not None and response.request is not None:
            fleet.settle(response.request)

    def _count(self, entry: Any) -> None:
        fleet: Fleet | None = getattr(self.crawler.spider, "fleet", None)
        if fleet is not None and isinstance(entry, Request):
            state = fleet.site_for(entry)
            if state is not None:
                fleet.open_unit(entry, state)

    def process_spider_output(self, response: Response, result: Iterable) -> Iterator:
        try:
            for entry in result:
                self._count(entry)
                yield entry
        finally:
            self._settle(response)

    async def process_spider_output_async(self, response: Response, result: AsyncIterator) -> AsyncIterator:
        try:
            async for entry in result:
                self._count(entry)
                yield entry
        finally:
            self._settle(response)


class RobotsUnreachableMiddleware:
    """One log line, not two tracebacks, when a host's robots.txt cannot be fetched at all.

    Placed just after RobotsTxtMiddleware (100), it sees a robots.txt request's failure once
    the retries are spent, logs it and turns it into IgnoreRequest, which Scrapy's robots
    middleware treats as it treated the failure (no robots.txt), without its traceback. A
    dead host is then given up by FleetDownloaderMiddleware, which saw every attempt.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RobotsUnreachableMiddleware:
        return cls(crawler)

    def process_exception(self, request: Request, exception: Exception, spider: Spider | None = None) -> None:
        if not request.meta.get("dont_obey_robotstxt") or urlsplit(request.url).path != "/robots.txt":
            return
        if isinstance(exception, IgnoreRequest):
            return
        self.stats.inc_value("robotstxt/unreachable")
        logger.warning("robots.txt unreachable: %s: %s: %s", request.url, type(exception).__name__, exception)
        raise IgnoreRequest(f"robots.txt unreachable: {request.url}")
