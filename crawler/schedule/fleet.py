"""Many portals in one crawl: each keeps its own scope, history, counts and fate.

A crawl covers one site (``-a site=NAME`` / ``-a start_url=URL``) or many (``-a sites=FILE``,
``-a site=all``). Every request carries its site in ``request.meta["site"]``; the pieces
here use it to

- hold each site's profile, scope (``crawler/scope/gate.py``) and incremental history;
- gate every request before it is scheduled (scope, schemes, sites given up);
- count per site: pages, new articles, errors, and whether requests are still pending,
  so a site is known to be done as soon as its last request settles;
- give up on a site only when none of its hosts has answered for ``SITE_GIVE_UP_AFTER``
  seconds while its requests kept failing (network failures, or retried statuses such as
  502/503), or at once when its start host does not resolve; until then its pages are
  retried with backoff however long the outage lasts (crawler/fetch/retry.py), so an outage
  shorter than that loses nothing. Failures of best-effort requests (page requisites,
  third-party robots.txt; crawler/fetch/hosts.py) never count. The reason is kept per site;
- learn each host's health from every attempt (crawler/fetch/hosts.py: dead hosts get no more
  requests), refusing requests to dead hosts before they are scheduled;
- report all of that into ``crawls.stats["sites"]`` and the summary (``crawler/schedule/report.py``).

A request is one pending unit from the moment it is scheduled until its callback's output
has been scheduled, its errback ran, or the scheduler dropped it. A retry or redirect made
from it continues the same unit (its meta is copied), so a site is never seen as done
between a failed attempt and its retry.
"""

from __future__ import annotations

import dataclasses
import logging
import time
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
from crawler.capture.requisites import ARTICLE_IMAGE
from crawler.fetch.hosts import (
    BEST_EFFORT,
    UNREACHABLE,
    UNRESOLVABLE,
    UNTIL_ANSWERED,
    HostHealth,
    HostSkipped,
    host_of,
    is_dns_failure,
    is_network_failure,
)
from crawler.schedule.seeds import Seed, SeedError, checked_url, load_seeds
from crawler.scope.gate import Scope, ascii_host, ascii_url, site_scope
from crawler.scope.robots import is_robots_request
from crawler.spiders.profiles import SiteProfile, available_sites, generic_profile, load_profile

logger = logging.getLogger(__name__)

_UNIT = "fleet_unit"
# An outage is failures on at least this many URLs of a site since its last answer (or
# before any answer at all): one URL that keeps failing while nothing else is asked is
# that URL's problem, retried RETRY_TIMES times as usual.
OUTAGE_URLS = 2


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
    # Best-effort requests (requisites) that failed: never the site's errors.
    requisites_failed: int = 0
    out_of_scope: int = 0
    network_failures: int = 0
    # Outage clock (time.monotonic()): the last answer from the site's hosts, the first
    # failure since, and which URLs failed since.
    answered_at: float | None = None
    failing_since: float | None = None
    failing_urls: set[str] = field(default_factory=set)
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
            "requisites_failed": self.requisites_failed,
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
            raise SeedError("site=all, but crawler/spiders/sites/ holds no profile")
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
    for a request put back into the queue while its original is settled (crawler/schedule/stopping.py)."""
    request.meta.pop(_UNIT, None)
    return request


class Fleet:
    """The sites of one crawl, looked up by the ``site`` a request carries."""

    def __init__(self, sites: dict[str, SiteState], give_up_after: float = 0.0,
                 hosts: HostHealth | None = None) -> None:
        self.sites = sites
        # SITE_GIVE_UP_AFTER (0: never) and the health of every host (crawler/fetch/hosts.py).
        self.give_up_after = give_up_after
        self.hosts = hosts if hosts is not None else HostHealth()
        self._owners: dict[str, SiteState | None] = {}
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
        """The request's site; for a request without one (robots.txt), the site whose pages
        live on its host, if any (a CDN's robots.txt belongs to no site)."""
        name = request.meta.get("site")
        if name is not None:
            return self.sites.get(name)
        return self.owner(host_of(request.url))

    def owner(self, host: str) -> SiteState | None:
        """The site whose scope holds ``host`` (its own host or a subdomain of one)."""
        if host not in self._owners:
            state = self.by_host.get(host)
            if state is None:
                state = next((site for site in self.sites.values() if site.scope.host_allowed(host)), None)
            self._owners[host] = state
        return self._owners[host]

    def best_effort(self, request: Request) -> bool:
        """A decorative request: a page requisite or an attachment (but not an image of an
        article body on its own portal's host: that is content), or robots.txt of a host no
        portal's pages live on."""
        kind = request.meta.get("requisite")
        if kind:
            if kind != ARTICLE_IMAGE:
                return True
            state = self.site_for(request)
            return state is None or not state.scope.host_allowed(host_of(request.url))
        return is_robots_request(request) and self.owner(host_of(request.url)) is None

    # --- the outage clock -------------------------------------------------------------------

    def answered(self, state: SiteState) -> None:
        state.answered_at = time.monotonic()
        state.failing_since = None
        state.failing_urls.clear()

    def failed(self, state: SiteState, url: str, why: str) -> None:
        """A request of the site got no usable answer; give the site up when none of its hosts
        has answered for ``give_up_after`` seconds."""
        now = time.monotonic()
        if state.failing_since is None:
            state.failing_since = now
        if len(state.failing_urls) < OUTAGE_URLS:
            state.failing_urls.add(url)
        if self.give_up_after and now - state.failing_since >= self.give_up_after:
            self.give_up(state, f"no answer from its hosts for {now - state.failing_since:.0f} s "
                                f"(SITE_GIVE_UP_AFTER={self.give_up_after:g}; last: {why})")

    def in_outage(self, state: SiteState) -> bool:
        """Are the site's hosts down (rather than one of its URLs failing)?"""
        if state.failing_since is None:
            return False
        return state.answered_at is None or len(state.failing_urls) >= OUTAGE_URLS

    def unresolvable_start(self, host: str) -> list[SiteState]:
        """Sites that never answered and whose every start host is unresolvable (``host`` just became)."""
        out = []
        for state in self.sites.values():
            starts = {host_of(url) for url in state.profile.start_urls}
            if host in starts and state.answered_at is None and state.stopped is None and all(
                    (found := self.hosts.hosts.get(name)) is not None and found.verdict == UNRESOLVABLE
                    for name in starts):
                out.append(state)
        return out

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

    def give_up(self, state: SiteState, reason: str, level: int = logging.WARNING) -> None:
        if state.stopped is None or state.stopped == "finished":
            state.stopped = f"gave up: {reason}"
            logger.log(level, "giving up on site %s for this run: %s (%d of %d sites left)",
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
        # A dead host's requests never enter the frontier (crawler/fetch/hosts.py). A continuation
        # page carries its article: it goes on, and HostGateMiddleware refuses it, which
        # calls its errback (dropped here, it would take the article with it).
        if "article" not in request.meta:
            try:
                fleet.hosts.refuse(request, fleet.best_effort(request), state.name, self.stats)
            except HostSkipped:
                fleet.settle(request)
                raise
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
        if fleet.pending_unit(request):  # a page of the crawl, not robots.txt
            state.pages += 1

    def item_scraped(self, item: Any, response: Response, spider: Spider) -> None:
        fleet = self._fleet()
        state = fleet.site_for(response.request) if fleet is not None and response is not None else None
        if state is not None:
            state.articles_new += 1


class FleetDownloaderMiddleware:
    """Learns from every attempt: each host's health (crawler/fetch/hosts.py) and each site's outage
    clock, which gives a site up after ``SITE_GIVE_UP_AFTER`` seconds without an answer.

    Placed after the retry middleware (a higher number), it sees every attempt's outcome
    before the retry middleware does, and tells it what to do through the request's meta:
    ``dont_retry`` for a request whose host is dead, or a best-effort request that failed
    its DNS lookup; ``UNTIL_ANSWERED`` for a site's page while the site is in an outage
    (retried with backoff for as long as it lasts; crawler/fetch/retry.py).
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.retry_codes = {int(code) for code in crawler.settings.getlist("RETRY_HTTP_CODES")}
        self.retry_times = crawler.settings.getint("RETRY_TIMES")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FleetDownloaderMiddleware:
        return cls(crawler)

    def _fleet(self) -> Fleet | None:
        return getattr(self.crawler.spider, "fleet", None)

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        fleet = self._fleet()
        state = fleet.site_of_host(request) if fleet is not None else None
        if state is not None and state.stopped and state.stopped.startswith("gave up"):
            self.crawler.stats.inc_value("fleet/given_up_requests")
            raise IgnoreRequest(f"site {state.name} given up: {request.url}")

    def process_response(self, request: Request, response: Response, spider: Spider | None = None) -> Response:
        fleet = self._fleet()
        if fleet is None:
            return response
        if fleet.hosts.answered(request.url) is not None:
            logger.info("host %s answers again", fleet.hosts.host(request.url).name)
        state = None if request.meta.get(BEST_EFFORT) else fleet.site_of_host(request)
        if state is None:
            return response
        if response.status in self.retry_codes:
            if not request.meta.get("requisite"):  # a requisite never counts toward an outage
                self._site_failed(fleet, state, request, f"HTTP {response.status} on {request.url}")
        else:
            fleet.answered(state)
            request.meta.pop(UNTIL_ANSWERED, None)
        return response

    def process_exception(self, request: Request, exception: Exception, spider: Spider | None = None) -> None:
        fleet = self._fleet()
        if fleet is None or not is_network_failure(exception):
            return
        best_effort = bool(request.meta.get(BEST_EFFORT))
        # A requisite's failure (an article image on the portal's own host included) never
        # counts toward giving its portal up: only the portal's pages do (issue 26 too).
        counted = not best_effort and not request.meta.get("requisite")
        state = fleet.site_of_host(request) if counted else None
        owner = state if counted else fleet.site_for(request)
        verdict = fleet.hosts.failed(request.url, exception, owner.name if owner is not None else None)
        host = fleet.hosts.host(request.url)
        if host.verdict == UNRESOLVABLE or (best_effort and (host.verdict or is_dns_failure(exception))):
            request.meta["dont_retry"] = True
        if verdict is not None:
            self._announce(fleet, host.name, exception)
        if state is None:
            return
        state.network_failures += 1
        self._site_failed(fleet, state, request, f"{type(exception).__name__} on {request.url}")

    def _site_failed(self, fleet: Fleet, state: SiteState, request: Request, why: str) -> None:
        fleet.failed(state, request.url, why)
        # robots.txt keeps its own retries: a 5xx after them disallows the host (RFC 9309,
        # crawler/scope/robots.py) rather than being waited out.
        if (fleet.in_outage(state) and not is_robots_request(request)
                and not (state.stopped and state.stopped.startswith("gave up"))):
            request.meta[UNTIL_ANSWERED] = True
            return
        request.meta.pop(UNTIL_ANSWERED, None)
        if request.meta.get("retry_times", 0) >= request.meta.get("max_retry_times", self.retry_times):
            # Its last try: a URL given up is no longer failing, so a broken page (a 500, a
            # page that never answers in time) cannot make a later one look like an outage.
            state.failing_urls.discard(request.url)

    def _announce(self, fleet: Fleet, name: str, exception: Exception) -> None:
        """One line per host that got a verdict; a portal whose start host does not resolve is
        given up, in one error line that names the host."""
        host = fleet.hosts.hosts[name]
        self.crawler.stats.inc_value(f"hosts/{host.verdict}")
        # A dead CDN or image host is the normal state of old pages; a portal's own host is news.
        level = logging.INFO if fleet.owner(name) is None else logging.WARNING
        first = f"{type(exception).__name__} on {host.first_url}"
        if host.verdict == UNRESOLVABLE:
            starting = fleet.unresolvable_start(name)
            for state in starting:
                fleet.give_up(state, f"its start host {name} does not resolve ({first})", logging.ERROR)
            if not starting:
                logger.log(level, "host %s does not resolve (%s): nothing more is requested from it this run",
                           name, first)
        elif host.verdict == UNREACHABLE:
            logger.log(level, "host %s is unreachable: %s (first: %s); no more requisites or robots.txt are "
                       "requested from it while it does not answer", name, host.reason, first)


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
    dead host has had its own line already (FleetDownloaderMiddleware saw every attempt),
    and a third party's robots.txt is best effort: neither gets another.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RobotsUnreachableMiddleware:
        return cls(crawler)

    def process_exception(self, request: Request, exception: Exception, spider: Spider | None = None) -> None:
        if not request.meta.get("dont_obey_robotstxt") or urlsplit(request.url).path != "/robots.txt":
            return
        if isinstance(exception, IgnoreRequest):
            return
        fleet: Fleet | None = getattr(self.crawler.spider, "fleet", None)
        if fleet is not None and (request.meta.get(BEST_EFFORT) or fleet.hosts.host(request.url).verdict):
            # Best effort, or a host already reported dead: no line of its own.
            raise IgnoreRequest(f"robots.txt unreachable: {request.url}")
        self.stats.inc_value("robotstxt/unreachable")
        logger.warning("robots.txt unreachable: %s: %s: %s", request.url, type(exception).__name__, exception)
        raise IgnoreRequest(f"robots.txt unreachable: {request.url}")
