"""Is a page an article, a listing (home, channel, paginated list) or something else?

Only articles become rows in ``articles``; every page is archived whatever its kind. A site
profile's URL patterns decide first; otherwise the page's own shape does: an article has
one dense block of prose, a listing has many links with headline-length anchor text.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from crawler.extract import Page, clean, date_from_url
from crawler.profiles import SiteProfile

ARTICLE, LISTING, OTHER = "article", "listing", "other"

_HOME_PATH = re.compile(r"/?(?:(?:index|default|main|home)\.\w+)?$", re.I)
_PAGINATION = re.compile(r"createPageHTML|下一页|尾页|末页|上一页")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def prose_chars(page: Page) -> int:
    """CJK characters outside links in the page's main text block."""
    node = page.content
    if node is None:
        return 0
    link_text = sum(len(_CJK.findall(a.text_content())) for a in node.iter("a"))
    return len(_CJK.findall(node.text_content())) - link_text


def headline_links(page: Page) -> int:
    """Links whose text is long enough to be an item title (not a menu word)."""
    return sum(1 for a in page.root.iter("a") if len(clean(a.text_content())) >= 8)


def page_kind(page: Page, profile: SiteProfile | None = None) -> str:
    if profile is not None and (kind := profile.url_kind(page.url)):
        return kind
    path = urlsplit(page.url).path
    prose = prose_chars(page)
    links = headline_links(page)
    if _HOME_PATH.fullmatch(path) and path.count("/") <= 1:
        return LISTING if links else OTHER
    paginated = bool(_PAGINATION.search(page.root.text_content()[-20000:]))
    if prose >= 200 and (date_from_url(page.url) or prose >= 2 * links * 8 or not paginated):
        return ARTICLE
    if links >= 5:
        return LISTING
    if prose >= 80:
        return ARTICLE
    return OTHER
