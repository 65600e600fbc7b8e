"""A page visit is the unit of politeness: a page, then the requisites it needs, as a browser
fetches them; articles and listings never wait behind a requisite.

Every page keeps its host's politeness (``DOWNLOAD_DELAY``, ``CONCURRENT_REQUESTS_PER_DOMAIN``,
AutoThrottle). Its requisites that this crawl has not scheduled yet go out right after it,
on a download slot of their own per host (``HOST#requisites``): one connection, spaced by
``REQUISITES_DELAY`` (never under ``MIN_DELAY``, 0.2 s, on average; never more than the page
delay). Pages and requisites of one host thus sit in different queues, and the
scheduler (crawler/schedule/frontier.py) serves page slots before requisite slots, so a requisite
never takes an article's turn, on any host, nor its place in a crawl cut short.

``PageVisits`` decides which of a page's requisites are requested:

- each URL once per crawl (a site-wide stylesheet is fetched once, not once per page);
- never what the block list names (ads, trackers, analytics, share and chat widgets;
  crawler/scope/blocklist.py), counted per rule as ``requisites/blocked/RULE``;
- at most ``REQUISITES_MAX_PER_PAGE`` new ones per page and ``REQUISITES_MAX_PER_SITE`` per
  portal (``requisites/capped/page``, ``requisites/capped/site``). Images inside an article
  body are content: they are never capped.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings

from crawler.capture.requisites import ARTICLE_IMAGE, Requisite, RequisitePolicy, requisite_requests
from crawler.scope.blocklist import BlockList, bundled

logger = logging.getLogger(__name__)

# The download slot of a host's requisites is the host's name with this suffix.
SLOT_SUFFIX = "#requisites"
# Requisites of one host are never spaced closer than this on average (Scrapy randomises each
# wait to 0.5-1.5 times the delay), whatever REQUISITES_DELAY says.
MIN_DELAY = 0.2


def requisite_slot(url: str) -> str:
    """The download slot a requisite at ``url`` waits in: its host's requisite slot."""
    return (urlsplit(url).hostname or "") + SLOT_SUFFIX


def is_requisite_slot(slot: str) -> bool:
    return slot.endswith(SLOT_SUFFIX)


def requisite_delay(settings: BaseSettings) -> float:
    """Seconds between two requisites of one host: ``REQUISITES_DELAY``, raised to
    ``MIN_DELAY``, and never more than the delay between pages (a crawl run with
    ``DOWNLOAD_DELAY=0`` on loopback does not wait for requisites either)."""
    wanted = max(settings.getfloat("REQUISITES_DELAY"), MIN_DELAY)
    return min(wanted, settings.getfloat("DOWNLOAD_DELAY"))


class PageVisits:
    """Which requisites of each page a crawl requests, and the requests for them."""

    def __init__(self, settings: BaseSettings, crawler: Crawler) -> None:
        self.crawler = crawler  # its stats exist once the crawl starts
        self.policy = RequisitePolicy.from_settings(settings)
        self.blocklist: BlockList | None = bundled() if settings.getbool("REQUISITES_BLOCK_ADS") else None
        self.per_page = settings.getint("REQUISITES_MAX_PER_PAGE")
        self.per_site = settings.getint("REQUISITES_MAX_PER_SITE")
        # Hashes of the requisite URLs scheduled (or blocked) so far: 8 bytes of key per URL,
        # where the URLs themselves would take ~100 (Scrapy's duplicate filter keeps one more
        # fingerprint per request anyway).
        self.seen: set[int] = set()
        self.per_site_counts: Counter[str] = Counter()
        self._capped_sites: set[str] = set()

    def admit(self, requisites: Iterable[Requisite], portal_hosts: list[str], site: str) -> list[Requisite]:
        """The requisites of one page (or stylesheet) to request now, in page order."""
        admitted: list[Requisite] = []
        new_on_page = 0
        stats = self.crawler.stats
        for requisite in requisites:
            key = hash(requisite.url)
            if key in self.seen or not self.policy.considers(requisite):
                continue
            rule = self.blocklist.match(requisite.url) if self.blocklist is not None else None
            if rule is not None:
                self.seen.add(key)
                stats.inc_value("requisites/blocked")
                stats.inc_value(f"requisites/blocked/{rule}")
                continue
            if not self.policy.wants(requisite, portal_hosts):
                continue
            if requisite.kind != ARTICLE_IMAGE:
                if self.per_page and new_on_page >= self.per_page:
                    stats.inc_value("requisites/capped/page")
                    continue
                if self.per_site and self.per_site_counts[site] >= self.per_site:
                    stats.inc_value("requisites/capped/site")
                    if site not in self._capped_sites:
                        self._capped_sites.add(site)
                        logger.info("site %s: %d requisites requested, no more for this crawl "
                                    "(REQUISITES_MAX_PER_SITE)", site, self.per_site)
                    continue
                new_on_page += 1
                self.per_site_counts[site] += 1
            self.seen.add(key)
            admitted.append(requisite)
        return admitted

    def requests(self, requisites: Iterable[Requisite], portal_hosts: list[str], site: str,
                 callback: Any, errback: Any) -> Iterator[Request]:
        """Requests for the admitted requisites, each in its host's requisite slot.

        AutoThrottle leaves that slot's delay alone: its floor is the page delay, which would
        make every requisite cost a page's turn again."""
        admitted = self.admit(requisites, portal_hosts, site)
        for request in requisite_requests(admitted, self.policy, portal_hosts, callback, errback):
            request.meta["site"] = site
            request.meta["download_slot"] = requisite_slot(request.url)
            request.meta["autothrottle_dont_adjust_delay"] = True
            self.crawler.stats.inc_value("requisites/scheduled")
            yield request


class RequisiteSlotsMiddleware:
    """Downloader middleware: gives each requisite slot its delay and one connection before
    the downloader creates it, through the downloader's per-slot settings (what
    ``DOWNLOAD_SLOTS`` sets); a slot set there by the user keeps the user's values."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.slot_settings = {"delay": requisite_delay(crawler.settings), "concurrency": 1}
        if crawler.settings.getfloat("REQUISITES_DELAY") < MIN_DELAY:
            logger.warning("REQUISITES_DELAY=%s is under the floor of %s s per host; using %s s",
                           crawler.settings.get("REQUISITES_DELAY"), MIN_DELAY, self.slot_settings["delay"])

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RequisiteSlotsMiddleware:
        return cls(crawler)

    def process_request(self, request: Request, spider: Any = None) -> None:
        slot = request.meta.get("download_slot")
        if slot is not None and is_requisite_slot(slot) and self.crawler.engine is not None:
            self.crawler.engine.downloader.per_slot_settings.setdefault(slot, dict(self.slot_settings))
