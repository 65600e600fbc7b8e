"""The block list: ads, trackers, analytics, share and chat widgets a crawl never fetches.

Browsertrix's ``--blockAds`` skips requests to a public ad-host list; here the list is our
own data, ``crawler/scope/blocklist.toml``, read once: rules by host (a domain and its subdomains)
and by URL pattern (path and query, for copies served from a portal's own host). The spider
asks it about every page requisite before scheduling one (crawler/capture/page_visits.py); a skip is
counted per rule in the crawl stats, and ``REQUISITES_BLOCK_ADS`` turns the list off.
"""

from __future__ import annotations

import fnmatch
import importlib.resources
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit


@dataclass(frozen=True)
class BlockList:
    """Rule name by blocked domain, and one regex per rule over path and query."""

    hosts: dict[str, str]
    urls: tuple[tuple[str, re.Pattern[str]], ...]

    @classmethod
    def from_toml(cls, text: str) -> BlockList:
        data = tomllib.loads(text)
        hosts: dict[str, str] = {}
        urls = []
        for rule in data.get("rule", []):
            name = rule["name"]
            for host in rule.get("hosts", []):
                hosts.setdefault(host.lower().strip("."), name)
            patterns = rule.get("urls", [])
            if patterns:
                urls.append((name, re.compile("|".join(fnmatch.translate(p) for p in patterns))))
        return cls(hosts, tuple(urls))

    def match(self, url: str) -> str | None:
        """The name of the rule that blocks ``url``, or None."""
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".")
        while host:
            if host in self.hosts:
                return self.hosts[host]
            host = host.partition(".")[2]
        target = f"{parts.path}?{parts.query}" if parts.query else parts.path
        for name, pattern in self.urls:
            if pattern.match(target):
                return name
        return None


@cache
def bundled() -> BlockList:
    """The list shipped with the crawler (read from the package, so it works in an egg too)."""
    return BlockList.from_toml(importlib.resources.files(__package__).joinpath("blocklist.toml").read_text("utf-8"))
