"""Host health: what a crawl learns about each host, once, and acts on for the rest of the run.

Heritrix's fetch status codes are the model: -1, the domain does not resolve; -6, a DNS
prerequisite failed; -2 and -4, the connection failed or timed out. A host (its name: all
its ports share one verdict) can get one of two verdicts:

- **unresolvable**: its name did not resolve and it has not answered earlier in this run.
  Nothing more is sent to it this run. (Twisted reports every DNS failure alike, so a
  resolver's hiccup cannot be told from a deleted domain; a host that has answered before
  is never written off for it, its failures count as network failures.) A portal whose
  every start host is unresolvable is given up at once (crawler/schedule/fleet.py).
- **unreachable**, a circuit breaker: ``HOST_BREAKER_AFTER`` connection failures in a row
  (refused, connect, TLS or answer timeouts, no response at all). Best-effort requests to
  it are refused from then on; any answer from the host (a portal's page) closes the
  breaker again. A portal's own pages are never refused by the breaker: an outage of the
  portal waits with backoff, and gives the portal up only after ``SITE_GIVE_UP_AFTER``
  seconds without an answer (crawler/schedule/fleet.py, crawler/fetch/retry.py).

Best-effort requests (``meta[BEST_EFFORT]``, marked by ``HostGateMiddleware``) are page
requisites, except images in an article body on the portal's own host, and robots.txt of
hosts where no portal's pages live. They get ``REQUISITES_DOWNLOAD_TIMEOUT`` and at most
``REQUISITES_RETRY_TIMES`` retries, none after a DNS failure, and never count toward a
portal's give-up, its error rate or the exit status.

A request for a host with a verdict is refused without network I/O wherever it is: when it
is scheduled (crawler/schedule/fleet.py), when it reaches the downloader (``HostGateMiddleware``,
just after robots.txt, so requests that waited for a dead host's robots.txt go no
further), and in the download handler (``HostCheckedHandler``), the last step before the
network, for requests that waited in a download slot's queue while their host died. Each
refusal is counted for its host. A host is logged once, when it gets its verdict;
``crawls.stats["hosts"]`` keeps each host with a verdict or refused requests: verdict,
reason, first error, requests skipped, and the portals whose pages named it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

from crawler.capture.requisites import ARTICLE_IMAGE
from crawler.scope.gate import ascii_host

logger = logging.getLogger(__name__)

UNRESOLVABLE, UNREACHABLE = "unresolvable", "unreachable"
# request.meta keys: a decorative request (set by HostGateMiddleware), and a portal's page
# that keeps being retried while the portal is in an outage (set by crawler/schedule/fleet.py).
BEST_EFFORT = "best_effort"
UNTIL_ANSWERED = "retry_until_answered"

# By class name (Scrapy 2.14+'s own exceptions and the Twisted ones older handlers raise).
DNS_FAILURES = frozenset({"CannotResolveHostError", "DNSLookupError"})
CONNECTION_FAILURES = frozenset({
    "DownloadConnectionRefusedError", "ConnectionRefusedError", "DownloadTimeoutError", "TimeoutError",
    "TCPTimedOutError", "ConnectError", "NoRouteError", "ConnectingCancelledError", "DownloadFailedError",
    "ResponseNeverReceived", "ConnectionLost",
})


def _names(exception: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exception).__mro__}


def is_dns_failure(exception: BaseException) -> bool:
    return bool(_names(exception) & DNS_FAILURES)


def is_network_failure(exception: BaseException) -> bool:
    """The host did not answer at all (as opposed to answering badly)."""
    return bool(_names(exception) & (DNS_FAILURES | CONNECTION_FAILURES))


def host_of(url: str) -> str:
    return ascii_host(urlsplit(url).hostname or "")


class HostSkipped(IgnoreRequest):
    """Refused without network I/O: the request's host is dead for this run."""


@dataclass
class Host:
    """What the crawl knows about one host."""

    name: str
    verdict: str | None = None
    reason: str | None = None
    first_error: str | None = None
    first_url: str | None = None
    failures_in_a_row: int = 0
    answered: bool = False
    skipped: int = 0
    # Portals whose requests went to (or were refused for) this host.
    sites: set[str] = field(default_factory=set)

    def report(self) -> dict[str, Any]:
        return {"verdict": self.verdict or "answering again", "reason": self.reason,
                "first_error": f"{self.first_error} ({self.first_url})" if self.first_error else None,
                "skipped": self.skipped, "sites": sorted(self.sites)}


class HostHealth:
    """Every host of the crawl and its verdict (one per crawl, on ``Fleet.hosts``)."""

    def __init__(self, breaker_after: int = 0) -> None:
        self.breaker_after = breaker_after
        self.hosts: dict[str, Host] = {}

    def host(self, url: str) -> Host:
        name = host_of(url)
        found = self.hosts.get(name)
        if found is None:
            found = self.hosts[name] = Host(name)
        return found

    def refusal(self, url: str, best_effort: bool) -> Host | None:
        """The host, when a request to ``url`` must not go out."""
        found = self.hosts.get(host_of(url))
        if found is None or found.verdict is None:
            return None
        if found.verdict == UNRESOLVABLE or best_effort:
            return found
        return None

    def refuse(self, request: Request, best_effort: bool, site: str | None, stats: Any) -> None:
        """Raise ``HostSkipped`` (counted for the host) when ``request`` must not go out."""
        found = self.refusal(request.url, best_effort)
        if found is None:
            return
        found.skipped += 1
        if site:
            found.sites.add(site)
        if stats is not None:
            stats.inc_value("hosts/skipped")
            stats.inc_value(f"hosts/skipped/{found.verdict}")
        raise HostSkipped(f"host {found.name} is {found.verdict} for this run: {request.url}")

    def answered(self, url: str) -> Host | None:
        """Any HTTP answer: the host is alive. Returns it when that closed its breaker."""
        found = self.host(url)
        found.answered = True
        found.failures_in_a_row = 0
        if found.verdict == UNREACHABLE:
            found.verdict = None
            return found
        return None

    def failed(self, url: str, exception: BaseException, site: str | None = None) -> str | None:
        """Learn from one attempt that got no answer; the host's verdict when this reached it."""
        found = self.host(url)
        if site:
            found.sites.add(site)
        if found.first_error is None:
            found.first_error, found.first_url = f"{type(exception).__name__}: {exception}"[:300], url
        if found.verdict is not None:
            return None
        if is_dns_failure(exception) and not found.answered:
            found.verdict, found.reason = UNRESOLVABLE, "its name does not resolve"
            return UNRESOLVABLE
        if not is_network_failure(exception):
            return None
        found.failures_in_a_row += 1
        if self.breaker_after and found.failures_in_a_row >= self.breaker_after:
            found.verdict = UNREACHABLE
            found.reason = f"{found.failures_in_a_row} connection failures in a row (last: {type(exception).__name__})"
            return UNREACHABLE
        return None

    def report(self) -> dict[str, dict[str, Any]]:
        """Hosts with a verdict or refused requests, for ``crawls.stats["hosts"]``."""
        return {name: host.report() for name, host in sorted(self.hosts.items()) if host.verdict or host.skipped}


def _fleet(crawler: Crawler) -> Any:
    return getattr(crawler.spider, "fleet", None)


class HostGateMiddleware:
    """Downloader middleware just after robots.txt (100): marks best-effort requests (their
    timeout and retry budget) and refuses requests to dead hosts, those that waited for
    the host's robots.txt included."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.retries = crawler.settings.getint("REQUISITES_RETRY_TIMES")
        self.timeout = crawler.settings.getfloat("REQUISITES_DOWNLOAD_TIMEOUT")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostGateMiddleware:
        return cls(crawler)

    def process_request(self, request: Request, spider: Any = None) -> None:
        fleet = _fleet(self.crawler)
        if fleet is None:
            return
        best_effort = fleet.best_effort(request)
        if best_effort:
            request.meta[BEST_EFFORT] = True
            request.meta.setdefault("max_retry_times", self.retries)
            if self.timeout and request.meta.get("requisite") != ARTICLE_IMAGE:
                request.meta.setdefault("download_timeout", self.timeout)
        state = fleet.site_of_host(request)
        fleet.hosts.refuse(request, best_effort, state.name if state else None, self.crawler.stats)


class HostCheckedHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 download handler (``DOWNLOAD_HANDLERS`` for http and https), behind
    the last check before the network: a request that waited in its download slot's queue
    while its host got a verdict is refused there, without a connection or a DNS lookup."""

    async def download_request(self, request: Request) -> Response:
        fleet = _fleet(self.crawler)
        if fleet is not None:
            state = fleet.site_of_host(request)
            best_effort = bool(request.meta.get(BEST_EFFORT))
            fleet.hosts.refuse(request, best_effort, state.name if state else None, self.crawler.stats)
            if best_effort:  # the share of downloader/request_count that is not the portals' own
                self.crawler.stats.inc_value("best_effort/request_count")
        return await super().download_request(request)
