"""Where every request passes: never send a hit counter; note every anti-bot challenge.

A downloader middleware sees all requests (links, pager pages, endpoints, redirects,
requisites other components may add) and all responses, including the 4xx/5xx ones that
never reach a spider callback. It runs early on the way out (before robots.txt and the
incremental middleware ask anything) and late on the way back (after content decoding).
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

from archive.challenges import challenge_kind
from crawler.discover.families import is_counter

logger = logging.getLogger(__name__)

# How many challenged URLs the stats name (the count of each kind is always complete).
MAX_NAMED = 100


class DiscoveryGuardMiddleware:
    """Drops hit-counter requests (counted as ``discover/counter_dropped``) and records
    challenges by kind, host and channel (``challenge/<kind>``, ``discover/behind_challenge``)."""

    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats
        self._logged_counter = False
        self._challenged_hosts: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DiscoveryGuardMiddleware:
        return cls(crawler)

    def process_request(self, request: Request, spider=None) -> None:
        if is_counter(request.url):
            self.stats.inc_value("discover/counter_dropped")
            level = logging.DEBUG if self._logged_counter else logging.INFO
            self._logged_counter = True
            logger.log(level, "hit counter, never requested: %s (further ones logged at DEBUG)", request.url)
            raise IgnoreRequest(f"hit counter: {request.url}")

    def process_response(self, request: Request, response: Response, spider=None) -> Response:
        if request.meta.get("browser_sub"):
            return response  # the browser's own request: its page says whether the gate held (crawler/fetch/browser/)
        kind = challenge_kind(response.status, response.body, response.headers.getlist(b"Set-Cookie"))
        if kind:
            self.stats.inc_value(f"challenge/{kind}")
            named = self.stats.get_value("discover/behind_challenge")
            if named is None:
                named = {}
                self.stats.set_value("discover/behind_challenge", named)
            where = request.meta.get("channel") or response.url
            if len(named) < MAX_NAMED:
                named.setdefault(where, kind)
            host = urlsplit(response.url).netloc
            if host not in self._challenged_hosts:
                self._challenged_hosts.add(host)
                route = ("a plain browser did not get past it either" if "browser" in response.flags
                         else "this portal needs another route")
                logger.warning("%s answers with a %s anti-bot challenge (HTTP %d at %s): archived and flagged, "
                               "not followed; %s", host, kind, response.status, response.url, route)
            request.meta["challenge"] = kind
        return response
