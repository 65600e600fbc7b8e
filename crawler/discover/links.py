"""Which URLs a page leads to: its links, plus what only scripts name.

``<a href>``/``<iframe src>`` links come from Scrapy's LinkExtractor; then the CMS family
mechanisms (``crawler/discover/pagination.py``, configured by ``cms/*.toml``) add pager
pages a script writes, links inside script-embedded records, onclick-only targets and
paged endpoints to ask. ``discover_page`` does all of it in one pass over the page text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from scrapy.http import TextResponse
from scrapy.linkextractors import IGNORED_EXTENSIONS, LinkExtractor

from crawler import settings as defaults
from crawler.discover.families import Knowledge, knowledge, recognise
from crawler.discover.pagination import (
    EndpointSpec,
    find_endpoints,
    onclick_urls,
    record_links,
    sequence_pages,
    sequence_urls,
    shell_endpoints,
)

# Attachments (pdf, doc, xls, zip ...) are archived; images, media, styles and scripts are
# page requisites this crawler does not fetch.
ATTACHMENT_EXTENSIONS = {
    "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "wps", "et", "zip", "rar", "7z",
    "txt", "rtf", "odt", "ods", "odp", "ofd", "csv",
}
SKIPPED_EXTENSIONS = [ext for ext in IGNORED_EXTENSIONS if ext not in ATTACHMENT_EXTENSIONS]

def script_pages(text: str, base_url: str, limit: int = defaults.DISCOVER_MAX_PAGER_PAGES) -> list[str]:
    """Absolute URLs of the listing pages a script pager (``createPageHTML``, ``countPage``) implies."""
    known = knowledge()
    return sequence_urls(text, base_url, [family for family in known.families if family.active(text)], limit)


def in_scope(url: str, hosts: list[str]) -> bool:
    """Is the URL on one of the hosts (or a subdomain)? Ports are ignored, unlike LinkExtractor's
    ``allow_domains``, which never matches a ``host:port`` URL."""
    host = (urlsplit(url).hostname or "").lower()
    return any(host == allowed or host.endswith("." + allowed) for allowed in hosts)


def link_extractor(deny: list[str] | None = None) -> LinkExtractor:
    return LinkExtractor(
        deny=deny or (),
        deny_extensions=SKIPPED_EXTENSIONS,
        tags=("a", "area", "iframe", "frame"),
        attrs=("href", "src"),
    )


@dataclass
class Discovery:
    """Everything one page leads to.

    ``pages`` are pager pages a script implies: more listing pages on a listing, the
    continuation pages of a long article on an article page (the spider decides which).
    """

    links: list[str] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)
    endpoints: list[EndpointSpec] = field(default_factory=list)
    # Links read from script-embedded records (a listing mechanism fired on this page).
    records: int = 0
    family: str | None = None
    fingerprint: str | None = None
    # What made this page a channel: the pager call, endpoint or records found.
    mechanism: str | None = None
    shells: list[str] = field(default_factory=list)
    # The page count the script pager claims; more than ``pages`` when it was cut at the limit.
    pager_claimed: int = 0


def discover_page(response: TextResponse, extractor: LinkExtractor, hosts: list[str],
                  known: Knowledge | None = None, recognise_family: bool = True,
                  max_pager_pages: int = defaults.DISCOVER_MAX_PAGER_PAGES) -> Discovery:
    """Links, script pager pages, embedded-record links, onclick targets and endpoints of a
    page; with ``recognise_family`` also the CMS family its fingerprints name (the spider
    asks until a site is recognised: matching every family on every page costs time).
    A script pager yields at most ``max_pager_pages`` pages (a trap can claim millions)."""
    known = known or knowledge()
    text = response.text
    url = response.url
    active = [family for family in known.families if family.active(text)]
    urls = [link.url for link in extractor.extract_links(response)]
    records = record_links(text, active, known.onclick)
    urls.extend(urljoin(url, target) for target in onclick_urls(text, known.onclick) + records)
    pager, pager_call, pager_claimed = sequence_pages(text, url, active, max_pager_pages)
    pages = [page for page in pager if extractor.matches(page) and in_scope(page, hosts)]
    endpoints = [spec for spec in find_endpoints(text, url, active) if in_scope(spec.url, hosts)]
    found = recognise(text, known) if recognise_family else None
    # An endpoint named in a link (Hanweb's <nextgroup>) is paged as an endpoint, not parsed as a page.
    endpoint_paths = {urlsplit(spec.url).path for spec in endpoints}
    if endpoints:
        mechanism = f"{endpoints[0].key} endpoint {urlsplit(endpoints[0].url).path}"
    elif pages:
        mechanism = pager_call
    else:
        mechanism = f"{len(records)} script-embedded records" if records else None
    return Discovery(
        links=[link for link in dict.fromkeys(urls)
               if in_scope(link, hosts) and extractor.matches(link) and urlsplit(link).path not in endpoint_paths],
        pages=pages,
        endpoints=endpoints,
        records=len(records),
        family=found[0] if found else None,
        fingerprint=found[1] if found else None,
        mechanism=mechanism,
        shells=shell_endpoints(text, url, known, [spec.url for spec in endpoints]),
        pager_claimed=pager_claimed if pages else 0,
    )


def outgoing_urls(response: TextResponse, extractor: LinkExtractor, hosts: list[str]) -> list[str]:
    """In-scope link targets of a page, then its script-generated pagination, deduplicated."""
    found = discover_page(response, extractor, hosts)
    return list(dict.fromkeys(found.links + found.pages))
