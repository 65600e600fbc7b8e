"""Article extraction: one captured page in, one ``ArticleItem`` out.

Every step is a plain function callable by hand, e.g. in ``scrapy shell``::

    >>> from crawler.extract import extract_article
    >>> extract_article(response)

Strong signals come first (government meta tags, the byline under the headline, URL
dates); text-density heuristics only fill what they leave open. Navigation chrome is
stripped by the rules in ``crawler/chrome_rules.toml``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from crawler.extract import metadata
from crawler.extract.chrome import load_rules, strip_lines
from crawler.extract.content import body_lines, content_parts, media_urls
from crawler.items import ArticleItem
from crawler.extract.page import Page, meta_content, parse_page
from crawler.extract.pagekind import page_kind


def drop_headline(lines: list[str], headline: str | None) -> list[str]:
    """Drop leading lines that only repeat the headline (often split over several <br> lines)."""
    if not headline:
        return lines
    target = re.sub(r"\s+", "", headline)
    joined, cut = "", 0
    for index, line in enumerate(lines[:6]):
        joined += re.sub(r"\s+", "", line)
        if joined and joined in target:
            cut = index + 1 if len(joined) >= min(len(target), 4) else cut
        else:
            break
    return [line for line in lines[cut:] if re.sub(r"\s+", "", line) != target]


def _published(page: Page, fields: dict[str, str], byline: str, after: str) -> datetime | None:
    """The date the page shows in its byline, else its PubDate meta, else the URL's date,
    else a labelled date printed after the article."""
    labelled = metadata.pick(fields, metadata.DATE_LABELS)
    from_meta = metadata.parse_iso(
        meta_content(page.root, "PubDate", "publishdate", "article:published_time", "pubdate", "publish_time",
                     "datePublished", "dc.date", "dcterms.created")
    )
    below = metadata.pick(metadata.byline_fields(after), metadata.DATE_LABELS)
    return (metadata.parse_date(labelled) or from_meta or metadata.parse_date(byline)
            or metadata.date_from_url(page.url) or metadata.parse_date(below))


def extract_article(
    page: Page | object | bytes | str,
    url: str | None = None,
    headers: dict | None = None,
    kind: str | None = None,
    article_patterns: Iterable[str] = (),
    listing_patterns: Iterable[str] = (),
) -> ArticleItem:
    """Extract an article item from a page: raw bytes, text, a (Scrapy) response or a Page.

    ``kind`` is the page kind when the caller already knows it; otherwise it is computed,
    with a site's URL patterns (plain data from its profile) deciding first."""
    page = parse_page(page, url, headers)
    headline, site_name, headline_node = metadata.extract_title(page)
    content = page.content
    byline = metadata.byline_text(page, headline_node, content)
    after = metadata.after_text(page, content)
    fields = metadata.byline_fields(byline)
    for label, value in metadata.byline_fields(metadata.before_text(page, content)).items():
        fields.setdefault(label, value)

    rules = load_rules()
    removed: Counter[str] = Counter()
    skip: set[int] = set()
    parts = content_parts(page, content)
    for part in parts:
        for element, rule in rules.dom_elements(part).items():
            start, end = page.span(element)
            if end > start and not skip.issuperset(range(start, end)):
                skip.update(range(start, end))
                removed[rule] += 1
    # Credits are read from the lines before chrome stripping: a 来源/作者 line is chrome in
    # the body but still names the author.
    raw_lines = drop_headline(body_lines(page, parts, skip), headline)
    lines = strip_lines(raw_lines, rules, removed)

    source = meta_content(page.root, "ContentSource", "source") or metadata.pick(fields, metadata.SOURCE_LABELS)
    meta_author = meta_content(page.root, "Author", "author", "article:author")
    if meta_author and site_name and (meta_author in site_name or site_name in meta_author):
        meta_author = None  # a site-wide <meta name="author"> names the site, not the writer
    # The credit nearest the headline wins; the editor closing the article comes after.
    author = (
        metadata.names(metadata.pick(fields, metadata.AUTHOR_LABELS))
        or (meta_author if meta_author != source else None)
        or metadata.reporter(raw_lines[:3], byline)
        or metadata.bottom_author(raw_lines, after)
        or metadata.reporter(raw_lines[-3:])
    )
    views = metadata.pick(fields, metadata.VIEW_LABELS)
    images, attachments = media_urls(page, content)
    return ArticleItem(
        url=page.url,
        page_kind=kind or page_kind(page, article_patterns, listing_patterns),
        title=headline,
        site_name=site_name,
        published_at=metadata.iso_minutes(_published(page, fields, byline, after)),
        source=source,
        author=author if author and author != source else None,
        views=int(views) if views and views.isdigit() else None,
        channel=metadata.extract_channel(page),
        body="\n".join(lines),
        images=images,
        attachments=attachments,
        encoding=page.decoded.describe() if page.decoded else None,
        chrome_removed=dict(removed),
    )
