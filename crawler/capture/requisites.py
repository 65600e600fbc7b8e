"""Page requisites: the stylesheets, scripts and images an archived page embeds, so that it
replays styled and with its pictures (wget -p, Heritrix's embeds, Browsertrix all do this).

Extraction is plain functions over a parsed page or a stylesheet's text; ``requisite_requests``
turns what a page names into Scrapy requests under the ``REQUISITES_*`` settings:

- kinds: ``stylesheet`` (``<link rel=stylesheet>``, CSS ``@import``), ``script``
  (``<script src>``), ``image`` (``<img src>``, ``srcset``, ``<input type=image>``, CSS
  ``url(…)``, inline ``style``), each switched on or off by a setting;
- ``article_image``: an image inside the article body. Always fetched, whatever the switches
  and on any host, because it is part of the article; the index links it to the article
  (``article_images``).

Other requisites are fetched on the portal's own hosts and on hosts matching
``REQUISITES_HOSTS`` (CDN and static hosts). An asset shared by every page is fetched once
per crawl; on a later crawl it goes out as a conditional GET (crawler/schedule/incremental.py), so an
unchanged one is archived as a revisit. When, in which order, how many and which not (the
block list) is crawler/capture/page_visits.py's business.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from lxml.html import HtmlElement

STYLESHEET, SCRIPT, IMAGE, ARTICLE_IMAGE = "stylesheet", "script", "image", "article_image"
# ``meta["requisite"]`` of an article's attachment (crawler/capture/attachments.py): fetched in its
# article's page visit like a requisite, but content, as article images are.
ATTACHMENT = "attachment"
KINDS = (STYLESHEET, SCRIPT, IMAGE)
# Below every page (pages have 0 minus their depth): in a queue shared with pages (scrapy-redis)
# a requisite never goes before an article or listing (crawler/capture/page_visits.py).
PRIORITY = -1000

_CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)""", re.I)
_CSS_IMPORT = re.compile(r"""@import\s+(?:"([^"]*)"|'([^']*)')""", re.I)
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)


@dataclass(frozen=True)
class Requisite:
    """One embedded resource: its absolute URL and what kind of thing embeds it."""

    url: str
    kind: str


def _absolute(base: str, ref: str | None) -> str | None:
    ref = (ref or "").strip()
    if not ref or ref.startswith(("data:", "javascript:", "about:", "#", "blob:")):
        return None
    url = urljoin(base, ref).split("#", 1)[0]
    return url if urlsplit(url).scheme in ("http", "https") else None


def srcset_urls(value: str | None) -> list[str]:
    """The candidate URLs of a ``srcset`` attribute (``a.jpg 1x, b.jpg 2x``)."""
    out = []
    for candidate in (value or "").split(","):
        parts = candidate.strip().split()
        if parts:
            out.append(parts[0])
    return out


def css_references(text: str) -> list[tuple[str, str]]:
    """(reference, kind) for every ``@import`` (a stylesheet) and ``url(…)`` (an image, or a
    stylesheet when imported) in CSS text, in order."""
    text = _CSS_COMMENT.sub("", text)
    imports = [next(g for g in match.groups() if g is not None) for match in _CSS_IMPORT.finditer(text)]
    refs = [(ref, STYLESHEET) for ref in imports]
    for match in _CSS_URL.finditer(text):
        ref = next((g for g in match.groups() if g is not None), "")
        prefix = text[max(0, match.start() - 12):match.start()].lower()
        refs.append((ref, STYLESHEET if "@import" in prefix else IMAGE))
    return refs


def css_requisites(text: str, base_url: str) -> list[Requisite]:
    """What a stylesheet (or ``<style>`` element) needs, as absolute URLs."""
    found = (Requisite(url, kind) for ref, kind in css_references(text) if (url := _absolute(base_url, ref)))
    return list(dict.fromkeys(found))


def page_requisites(root: HtmlElement, base_url: str, article_images: Iterable[str] = ()) -> list[Requisite]:
    """Everything a parsed HTML page embeds, deduplicated, article images marked as such."""
    base = base_url
    for element in root.iter("base"):
        if element.get("href"):
            base = urljoin(base_url, element.get("href").strip())
            break
    found: list[Requisite] = [Requisite(url, ARTICLE_IMAGE) for url in article_images]

    def add(ref: str | None, kind: str) -> None:
        if url := _absolute(base, ref):
            found.append(Requisite(url, kind))

    for element in root.iter("link", "script", "img", "source", "input", "style"):
        tag = element.tag
        if tag == "link":
            rel = (element.get("rel") or "").lower().split()
            if "stylesheet" in rel:
                add(element.get("href"), STYLESHEET)
            elif "icon" in rel:
                add(element.get("href"), IMAGE)
        elif tag == "script":
            add(element.get("src"), SCRIPT)
        elif tag == "img" or (tag == "input" and (element.get("type") or "").lower() == "image"):
            add(element.get("src"), IMAGE)
            for ref in srcset_urls(element.get("srcset")):
                add(ref, IMAGE)
        elif tag == "source":
            for ref in srcset_urls(element.get("srcset")):
                add(ref, IMAGE)
        elif tag == "style" and element.text:
            found.extend(css_requisites(element.text, base))
    for element in root.xpath("//*[@style]"):
        found.extend(css_requisites(element.get("style") or "", base))
    # One entry per URL; an article image keeps that kind even where the page names it again.
    unique: dict[str, Requisite] = {}
    for requisite in found:
        unique.setdefault(requisite.url, requisite)
    return list(unique.values())


@dataclass(frozen=True)
class RequisitePolicy:
    """Which requisites a crawl fetches (from the ``REQUISITES_*`` settings)."""

    enabled: bool
    kinds: frozenset[str]
    host_patterns: tuple[str, ...]
    max_size: int

    @classmethod
    def from_settings(cls, settings) -> RequisitePolicy:
        kinds = {kind for kind, name in ((STYLESHEET, "REQUISITES_STYLESHEETS"), (SCRIPT, "REQUISITES_SCRIPTS"),
                                         (IMAGE, "REQUISITES_IMAGES")) if settings.getbool(name)}
        return cls(settings.getbool("REQUISITES_ENABLED"), frozenset(kinds),
                   tuple(pattern.lower() for pattern in settings.getlist("REQUISITES_HOSTS")),
                   settings.getint("REQUISITES_MAX_SIZE"))

    def considers(self, requisite: Requisite) -> bool:
        """Is the requisite of a kind this crawl fetches (wherever it is)?"""
        return requisite.kind == ARTICLE_IMAGE or (self.enabled and requisite.kind in self.kinds)

    def wants(self, requisite: Requisite, portal_hosts: Iterable[str]) -> bool:
        if requisite.kind == ARTICLE_IMAGE:
            return True
        if not self.considers(requisite):
            return False
        host = (urlsplit(requisite.url).hostname or "").lower()
        if any(host == allowed or host.endswith("." + allowed) for allowed in portal_hosts):
            return True
        return any(fnmatch.fnmatchcase(host, pattern) for pattern in self.host_patterns)


def requisite_requests(requisites: Iterable[Requisite], policy: RequisitePolicy, portal_hosts: Iterable[str],
                       callback, errback) -> Iterator:
    """Scrapy requests for the requisites the policy wants.

    ``meta["requisite"]`` tells the incremental middleware to ask again (conditionally)
    rather than skip a known non-HTML URL; ``allow_offsite`` lets CDN hosts through;
    ``download_maxsize`` caps an asset (an article image gets the crawl's own limit).
    """
    from scrapy import Request

    hosts = list(portal_hosts)
    for requisite in requisites:
        if not policy.wants(requisite, hosts):
            continue
        meta = {"requisite": requisite.kind, "allow_offsite": True}
        if requisite.kind != ARTICLE_IMAGE and policy.max_size:
            meta["download_maxsize"] = policy.max_size
        yield Request(requisite.url, callback=callback, errback=errback, meta=meta, priority=PRIORITY)


def stylesheet_requisites(response, history=None) -> list[Requisite]:
    """What a fetched stylesheet imports and points at; a 304 is read from the archived copy."""
    if response.meta.get("requisite") != STYLESHEET:
        return []
    body = response.body
    if response.status == 304 and history is not None:
        payload = history.payload(response.url)
        body = payload.body if payload is not None else b""
    elif response.status != 200:
        return []
    text = body.decode(getattr(response, "encoding", None) or "utf-8", errors="replace")
    return [r for r in css_requisites(text, response.url) if r.url != response.url]
