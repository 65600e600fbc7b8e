"""Article extraction: one captured page in, one ``ArticleItem`` out.

Every step is a plain function callable by hand, e.g. in ``scrapy shell``::

    >>> from crawler.extract import extract_article
    >>> extract_article(response)

Strong signals come first (the 信息公开 disclosure block, government meta tags, the byline
under the headline, URL dates); text-density heuristics only fill what they leave open.
Navigation chrome is stripped by the rules in ``crawler/extract/chrome_rules.toml``; field
labels are data in ``crawler/extract/field_rules.toml``. When the text found is doubtful,
the item says so (``confidence``, ``extraction_warnings``) instead of passing junk as an
article. The precedence of each field's sources is documented in docs/extraction.md.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import cache

from crawler.extract import metadata, validate
from crawler.extract.body import content_warnings, main_content
from crawler.extract.chrome import load_rules, strip_lines
from crawler.extract.content import body_lines, content_parts, media_urls
from crawler.extract.disclosure import Disclosure, read_disclosure
from crawler.extract.items import ArticleItem
from crawler.extract.page import Page, meta_content, parse_page, prose_count
from crawler.extract.pagekind import OTHER, page_kind

META = metadata.RULES["meta"]


def drop_headline(lines: list[str], headline: str | None) -> list[str]:
    """Drop leading lines that only repeat the headline (often split over several <br> lines)."""
    if not headline:
        return lines
    target = _squeezed(headline)
    joined, cut = "", 0
    for index, line in enumerate(lines[:6]):
        joined += _squeezed(line)
        if joined and joined in target:
            cut = index + 1 if len(joined) >= min(len(target), 4) else cut
        else:
            break
    return [line for line in lines[cut:] if _squeezed(line) != target]


def _squeezed(text: str) -> str:
    r"""``text`` without any space (as ``re.sub(r"\s+", "", text)``: str.split() and ``\s``
    know the same spaces), at C speed."""
    return "".join(text.split())


def _published(page: Page, fields: dict[str, str], byline: str, after: str,
               disclosure: Disclosure, lines: list[str]) -> datetime | None:
    """Publication time, by precedence: the disclosure block's 发布日期, the date labelled in
    the byline, the PubDate-style meta, a date in the byline, a date labelled in the body's
    first lines or on a short date line opening it, the URL's date, a labelled date printed
    after the article or in its last lines; then a date labelled as a later edit (修改时间) or
    as the document's (成文日期), and last a date line closing the text (a notice's date under
    its signature). A date the byline labels as something else (实施日期, 成文日期) is never
    "a date in the byline". A time the page labels as its generation time (页面生成时间) is never
    taken, whichever source carries it."""
    generated = metadata.generation_times(page)
    head_fields = cache(lambda: metadata.byline_fields("  ".join(lines[:3])))  # most pages never need them
    tail_fields = cache(lambda: metadata.byline_fields("  ".join(lines[-3:])))
    candidates = (
        lambda: disclosure.date("published"),
        lambda: metadata.parse_date(metadata.pick(fields, metadata.DATE_LABELS)),
        lambda: metadata.parse_iso(meta_content(page, *META["published"])),
        lambda: metadata.parse_date(metadata.without_other_dates(byline)),
        lambda: metadata.parse_date(metadata.pick(head_fields(), metadata.DATE_LABELS)),
        lambda: metadata.date_line(lines[:2]),
        lambda: metadata.date_from_url(page.url),
        lambda: metadata.parse_date(metadata.pick(metadata.byline_fields(after), metadata.DATE_LABELS)),
        lambda: metadata.parse_date(metadata.pick(tail_fields(), metadata.DATE_LABELS)),
        lambda: metadata.parse_date(metadata.pick({**tail_fields(), **head_fields(), **fields},
                                                  metadata.LATER_DATE_LABELS)),
        lambda: metadata.date_line(lines[-2:]),
    )
    for candidate in candidates:
        moment = candidate()
        if moment is not None and not any(abs((moment - g).total_seconds()) < 60 for g in generated):
            return moment
    return None


def first_valid(candidates: Iterable[Callable[[], str | None]],
                check: Callable[[str], validate.Verdict]) -> tuple[str | None, str | None]:
    """(the first candidate that passes ``check``, why the first non-empty one failed):
    candidates are computed only as far as needed (most pages stop at the first)."""
    failed = None
    for candidate in candidates:
        value = candidate()
        if not value:
            continue
        verdict = check(value)
        if verdict.value:
            return verdict.value, failed
        failed = failed or verdict.reason or "invalid"
    return None, failed


def assess(page: Page, body: str, headline: str | None, published: str | None,
           warnings: list[str]) -> tuple[float, list[str]]:
    """(confidence 0-1, warnings): how far the extracted text can be trusted as the page's
    article. Each doubt lowers the confidence; the warnings name them (crawl stats count them)."""
    warnings = list(dict.fromkeys(warnings))
    prose = prose_count(body[:400])  # only "under 50" matters
    if not body:
        warnings.append("no_article_text") if "no_article_text" not in warnings else None
    elif prose < 50:
        warnings.append("short_body")
    if not headline:
        warnings.append("no_headline")
    if not published:
        warnings.append("no_date")
    penalty = {"no_article_text": 0.0, "binary_body": 0.0, "short_body": 0.6, "no_headline": 0.8,
               "no_date": 0.9, "headline_anchored": 0.9, "rejected_links_only": 0.8,
               "rejected_boilerplate": 0.8, "rejected_no_prose": 0.85, "rejected_no_text": 0.9,
               # a byline value failed validation (crawler/extract/validate.py): what is stored
               # is a later candidate, or nothing
               "invalid_author": 0.95, "invalid_source": 0.95}
    confidence = 1.0
    for warning in warnings:
        confidence *= penalty.get(warning, 0.9)
    return round(confidence, 2), warnings


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
    if page.decoded is not None and page.decoded.binary:
        return ArticleItem(url=page.url, page_kind=OTHER, encoding=page.decoded.describe(), confidence=0.0,
                           extraction_warnings=["binary_body"])
    headline, site_name, headline_node = metadata.headline_of(page)
    content = main_content(page)
    disclosure = read_disclosure(page)
    byline = metadata.byline_text(page, headline_node, content)
    after = metadata.after_text(page, content)
    fields = metadata.byline_fields(byline)
    for label, value in metadata.byline_fields(metadata.before_text(page, content)).items():
        fields.setdefault(label, value)
    after_fields = metadata.byline_fields(after)

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

    site_names = (site_name, meta_content(page, *META["site_name"]))
    edge_fields = cache(lambda: metadata.byline_fields("  ".join([*raw_lines[:2], *raw_lines[-3:]])))
    source, source_failed = first_valid((
        lambda: metadata.meta_value(meta_content(page, *META["source"])),
        *(lambda label=label: fields.get(label) for label in metadata.SOURCE_LABELS if label in fields),
        lambda: metadata.pick(after_fields, metadata.SOURCE_LABELS),
        lambda: metadata.pick(edge_fields(), metadata.SOURCE_LABELS),
        lambda: metadata.source_in_lines(raw_lines),
    ), validate.source)
    meta_author = metadata.meta_value(meta_content(page, *META["author"]))
    if meta_author and metadata.names_the_site(meta_author, page):
        meta_author = None  # a site-wide <meta name="author"> names the site, not the writer
    # The credit nearest the headline wins; the editor closing the article comes after.
    author, author_failed = first_valid((
        *(lambda label=label: metadata.names(fields[label]) for label in metadata.AUTHOR_LABELS if label in fields),
        lambda: meta_author if meta_author != source else None,
        lambda: metadata.byline_name(byline),
        lambda: metadata.reporter([byline, *raw_lines[:3]]),
        lambda: metadata.bottom_author(raw_lines, after),
        lambda: metadata.reporter(raw_lines[-3:]),
        lambda: disclosure.get("issuer"),
    ), lambda value: validate.author(value, (*site_names, source)))
    views = metadata.pick(fields, metadata.VIEW_LABELS)
    images, attachments = media_urls(page, content)
    body = "\n".join(lines)
    published_at = metadata.iso_minutes(_published(page, fields, byline, after, disclosure, raw_lines))
    channel = metadata.extract_channel(page)
    title = metadata.strip_named_suffix(headline, channel)
    field_warnings = [name for name, failed in (("invalid_author", author_failed), ("invalid_source", source_failed))
                      if failed]
    confidence, warnings = assess(page, body, title, published_at, [*content_warnings(page), *field_warnings])
    written = disclosure.date("written_at")
    return ArticleItem(
        url=page.url,
        page_kind=kind or page_kind(page, article_patterns, listing_patterns),
        title=title,
        site_name=site_name,
        page_title=page.title_text or None,
        published_at=published_at,
        source=source,
        author=author,
        views=int(views) if views and views.isdigit() else None,
        channel=channel,
        body=body,
        images=images,
        attachments=list(attachments),
        attachment_titles={url: text for url, text in attachments.items() if text},
        encoding=page.decoded.describe() if page.decoded else None,
        chrome_removed=dict(removed),
        confidence=confidence,
        extraction_warnings=warnings,
        index_no=disclosure.get("index_no"),
        issuer=disclosure.get("issuer"),
        written_at=written.date().isoformat() if written else None,
        doc_no=disclosure.get("doc_no"),
        topic=disclosure.get("topic"),
        validity=disclosure.get("validity"),
    )
