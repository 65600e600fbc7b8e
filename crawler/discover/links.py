"""Which URLs a page leads to: its links, plus listing pages that only a script names.

TRS, the CMS behind many government portals, renders pagination in the browser with
``createPageHTML(total, current, "index", "html")``: pages ``index_1.html`` ...
``index_{total-1}.html`` exist although no ``<a>`` links to them.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from scrapy.http import TextResponse
from scrapy.linkextractors import IGNORED_EXTENSIONS, LinkExtractor

# Attachments (pdf, doc, xls, zip ...) are archived; images, media, styles and scripts are
# page requisites this crawler does not fetch.
ATTACHMENT_EXTENSIONS = {
    "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "wps", "et", "zip", "rar", "7z",
    "txt", "rtf", "odt", "ods", "odp", "ofd", "csv",
}
SKIPPED_EXTENSIONS = [ext for ext in IGNORED_EXTENSIONS if ext not in ATTACHMENT_EXTENSIONS]

_CREATE_PAGE = re.compile(
    r"createPageHTML\(\s*['\"]?(\d+)['\"]?\s*,\s*['\"]?(\d+)['\"]?\s*,\s*['\"]([^'\"]+)['\"]\s*,\s*['\"]([^'\"]+)['\"]"
)


def script_pages(text: str, base_url: str, limit: int = 1000) -> list[str]:
    """Absolute URLs of the listing pages a ``createPageHTML(...)`` call implies."""
    urls: list[str] = []
    for match in _CREATE_PAGE.finditer(text):
        total = min(int(match.group(1)), limit)
        prefix, ext = match.group(3), match.group(4)
        urls.append(urljoin(base_url, f"{prefix}.{ext}"))
        urls.extend(urljoin(base_url, f"{prefix}_{page}.{ext}") for page in range(1, total))
    return urls


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


def outgoing_urls(response: TextResponse, extractor: LinkExtractor, hosts: list[str]) -> list[str]:
    """In-scope link targets of a page, then its script-generated pagination, deduplicated."""
    urls = [link.url for link in extractor.extract_links(response)]
    if "createPageHTML" in response.text:
        urls.extend(url for url in script_pages(response.text, response.url) if extractor.matches(url))
    return [url for url in dict.fromkeys(urls) if in_scope(url, hosts)]
