"""Site profiles: what is known about one portal, kept as data in ``crawler/spiders/sites/NAME.toml``.

A profile is optional. Without one, the spider derives a generic profile from the start URL
(its host is the scope, no URL patterns) and relies on page classification alone.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from archive.resources import package_path

SITES_DIR = package_path(__package__, "sites")  # on disk even in a zipped egg (scrapyd)


@dataclass(frozen=True)
class SiteProfile:
    name: str
    start_urls: list[str]
    allowed_hosts: list[str]
    # Regexes searched in the URL; a match decides the page kind before any heuristic.
    article_patterns: list[str] = field(default_factory=list)
    listing_patterns: list[str] = field(default_factory=list)
    # URLs matching these are never requested.
    deny_patterns: list[str] = field(default_factory=list)

    def url_kind(self, url: str) -> str | None:
        """'article' or 'listing' when a profile pattern says so, else None."""
        if any(re.search(pattern, url) for pattern in self.article_patterns):
            return "article"
        if any(re.search(pattern, url) for pattern in self.listing_patterns):
            return "listing"
        return None


def available_sites() -> list[str]:
    return sorted(path.stem for path in SITES_DIR.glob("*.toml"))


def load_profile(name: str, start_url: str | None = None) -> SiteProfile:
    """Read ``crawler/spiders/sites/NAME.toml``; ``start_url`` replaces its start URLs (and hosts).

    Replacing is how the demo profile, written for a fixed port, serves any port.
    """
    path = SITES_DIR / f"{name}.toml"
    if not path.exists():
        raise ValueError(f"no site profile {name!r}; known: {', '.join(available_sites()) or 'none'}")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    start_urls = [start_url] if start_url else list(data["start_urls"])
    hosts = set(data.get("allowed_hosts") or []) | {urlsplit(url).hostname or "" for url in start_urls}
    return SiteProfile(
        name=data.get("name", name),
        start_urls=start_urls,
        allowed_hosts=sorted(hosts - {''}),
        article_patterns=list(data.get("article_patterns", [])),
        listing_patterns=list(data.get("listing_patterns", [])),
        deny_patterns=list(data.get("deny_patterns", [])),
    )


def generic_profile(start_url: str) -> SiteProfile:
    """A profile for a portal seen for the first time: stay on the start URL's host."""
    host = urlsplit(start_url).hostname
    if not host:
        raise ValueError(f"start_url needs a scheme and host: {start_url!r}")
    return SiteProfile(name=host, start_urls=[start_url], allowed_hosts=[host])
