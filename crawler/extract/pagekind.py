"""Is a page an article, a listing (home, channel, paginated list) or something else?

Only articles become rows in ``articles``; every page is archived whatever its kind. The
cheapest strong signal decides first: a site profile's URL patterns, then the government
meta tags (article pages carry ArticleTitle/PubDate, column pages only Column*), then the
page's shape: an article has one dense block of prose, a listing many headline links.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from crawler.extract.body import main_content
from crawler.extract.metadata import DATE, FULL_WIDTH, byline_text, headline_of
from crawler.extract.page import SENTENCE_MARK, Page, clean, meta_content

ARTICLE, LISTING, OTHER = "article", "listing", "other"

_HOME_PATH = re.compile(r"/?(?:(?:index|default|main|home)\.\w+)?$", re.I)
_LIST_PATH = re.compile(r"/(?:index|list|default)(?:_\d+)?\.s?html?$|/col/col\d+/|/list[_-]?\d*\.", re.I)
_PAGINATION = re.compile(r"createPageHTML|下一页|尾页|末页|上一页|共\s*\d+\s*页|第\s*\d+\s*页")


def _count_in_content(page: Page, pattern: re.Pattern[str]) -> int:
    """Matches of ``pattern`` in the main text block, outside links."""
    node = main_content(page)
    if node is None:
        return 0
    start, end = page.span(node)
    return sum(len(pattern.findall(segment.text)) for segment in page.segments[start:end] if not segment.in_link)


def prose_chars(page: Page) -> int:
    """Prose outside links in the page's main text block (CJK characters, or Latin words)."""
    content = main_content(page)
    if content is None:
        return 0
    total, linked = page.prose_between(*page.span(content))
    return total - linked


def sentence_marks(page: Page) -> int:
    """Full-width sentence punctuation outside links in the main block: prose has it, lists do not."""
    return _count_in_content(page, SENTENCE_MARK)


def headline_links(page: Page) -> int:
    """Links whose text is long enough to be an item title (not a menu word)."""
    return sum(1 for a in page.anchors if len(clean(a.text_content())) >= 8)


_ARTICLE_META = ("ArticleTitle", "PubDate", "ContentSource", "article:published_time", "publishdate")


def article_evidence(page: Page) -> bool:
    """The page shows the marks of one article: a headline that agrees with its title, and
    a dated byline under it or article meta tags, with the text block below the headline.

    A short article on a page full of links keeps these marks; a listing has none of them
    (its title names a column, and its dates sit in link rows, not under a headline)."""
    _, _, headline = headline_of(page)
    content = main_content(page)
    if headline is None or content is None or page.span(content)[0] < page.span(headline)[1] - 1:
        return False
    if any(meta_content(page, name) for name in _ARTICLE_META) or (
            (meta_content(page, "og:type") or "").lower() == "article"):
        return True
    return bool(DATE.search(byline_text(page, headline, content).translate(FULL_WIDTH)))


def url_kind(url: str, article_patterns: Iterable[str] = (), listing_patterns: Iterable[str] = ()) -> str | None:
    """'article' or 'listing' when a site's URL pattern (a regex, searched) says so, else None."""
    if any(re.search(pattern, url) for pattern in article_patterns):
        return ARTICLE
    if any(re.search(pattern, url) for pattern in listing_patterns):
        return LISTING
    return None


def page_kind(page: Page, article_patterns: Iterable[str] = (), listing_patterns: Iterable[str] = ()) -> str:
    """The page's kind; a site's URL patterns (plain data from its profile) decide first.

    A kind needs decodable prose: bytes that are no text (a PDF or image served as
    text/html) are ``other`` whatever their URL says."""
    if page.decoded is not None and page.decoded.binary:
        return OTHER
    if kind := url_kind(page.url, article_patterns, listing_patterns):
        return kind
    path = urlsplit(page.url).path
    if meta_content(page, "ArticleTitle") and meta_content(page, "PubDate", "ContentSource"):
        return ARTICLE
    if _HOME_PATH.fullmatch(path) and path.count("/") <= 1 and page.url:
        return LISTING if headline_links(page) else OTHER
    prose = prose_chars(page)
    sentences = sentence_marks(page)
    # Links are counted only when needed: it reads the text of every <a> on the page.
    links: int | None = None
    paged_list = False
    if _LIST_PATH.search(path) and _PAGINATION.search("".join(s.text for s in page.segments[-400:])):
        links = headline_links(page)
        paged_list = links * 20 > prose
    if prose >= 100 and (sentences >= 3 or prose >= 500) and not paged_list:
        return ARTICLE
    if not paged_list and prose >= 15 and sentences >= 1 and article_evidence(page):
        return ARTICLE
    if (links if links is not None else headline_links(page)) >= 5:
        return LISTING
    if prose >= 60:
        return ARTICLE
    return OTHER
