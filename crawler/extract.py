"""Article extraction: fields and body text from one captured page.

Every step is a plain function callable on a page by hand, e.g. in ``scrapy shell``::

    >>> from crawler.extract import extract_article
    >>> extract_article(response)

Strong signals come first (government meta tags, URL date patterns, the metadata line
under the headline); text-density heuristics only fill what they leave open.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import Any

import lxml.html
from lxml.html import HtmlElement
from scrapy.http import Response, TextResponse

from crawler.encoding import Decoded, decode_html, normalise
from crawler.items import ArticleItem

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")

_SKIP_TAGS = {"script", "style", "noscript", "iframe", "select", "option", "button", "textarea", "head", "title"}
_BLOCK_TAGS = {
    "p", "div", "td", "th", "tr", "li", "ul", "ol", "table", "tbody", "h1", "h2", "h3", "h4", "h5",
    "h6", "br", "section", "article", "header", "footer", "center", "blockquote", "dd", "dt", "dl", "form",
    "pre", "figure", "figcaption", "main", "nav", "aside",
}
_TITLE_SPLIT = re.compile(r"\s*(?:_|\||｜|--|——|－)\s*")
_DATE = re.compile(
    r"(?P<y>(?:19|20)\d{2})\s*[-/年.]\s*(?P<m>\d{1,2})\s*[-/月.]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:\s*(?P<H>\d{1,2})\s*[:：时]\s*(?P<M>\d{2})(?:\s*[:：分]\s*(?P<S>\d{2}))?)?"
)
_URL_DATES = (
    re.compile(r"/t(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})_\d+"),
    re.compile(r"/(?P<y>\d{4})-(?P<m>\d{2})/(?P<d>\d{2})/content_"),
    re.compile(r"/art/(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})/art_"),
    re.compile(r"/(?P<y>20\d{2})(?P<m>[01]\d)(?P<d>[0-3]\d)/"),
)
_FIELD_VALUE = r"[:：]\s*(?P<v>[^\s|｜:：]{1,40})"
_SOURCE = re.compile(r"(?:来源|信息来源|稿源|文章来源)" + _FIELD_VALUE)
_AUTHOR = re.compile(r"(?:作者|责任编辑|编辑|记者|发布人)" + _FIELD_VALUE)
_VIEWS = re.compile(r"(?:浏览|点击|阅读|访问)(?:次数|量|数)?\s*[:：]?\s*(?P<v>\d+)")
_META_LINE = re.compile(r"(来源|发布时间|更新时间|时间|日期|编辑|作者|浏览|点击)\s*[:：]")
_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass
class Page:
    """A parsed page: the tree, its URL and how its bytes were decoded."""

    url: str
    root: HtmlElement
    decoded: Decoded | None

    @cached_property
    def content(self) -> HtmlElement | None:
        """The element holding the main text (computed once; classification needs it too)."""
        return content_node(self.root)


def parse_page(page: Response | bytes | str, url: str | None = None, headers: dict | None = None) -> Page:
    """Parse raw bytes, text or a Scrapy response, reusing the response's tree when it can."""
    if isinstance(page, Response):
        url = url or page.url
        content_type = page.headers.get("Content-Type", b"").decode("latin-1")
        decoded = decode_html(page.body, content_type)
        if isinstance(page, TextResponse) and normalise(page.encoding) == decoded.encoding:
            root = page.selector.root
            if isinstance(root, HtmlElement):
                return Page(url, root, decoded)
        return Page(url, _parse_text(decoded.text), decoded)
    if isinstance(page, str):
        return Page(url or "", _parse_text(page), None)
    content_type = None
    for name, value in (headers or {}).items():
        if name.lower() == "content-type":
            content_type = value.decode("latin-1") if isinstance(value, bytes) else str(value)
    decoded = decode_html(page, content_type)
    return Page(url or "", _parse_text(decoded.text), decoded)


def _parse_text(text: str) -> HtmlElement:
    text = text.replace("\x00", "")
    try:
        return lxml.html.document_fromstring(text or "<html></html>")
    except (lxml.etree.ParserError, ValueError):
        return lxml.html.document_fromstring("<html></html>")


def clean(text: str | None) -> str:
    return re.sub(r"\s+", " ", (text or "").replace("\u3000", " ").replace("\xa0", " ")).strip()


def meta_content(root: HtmlElement, *names: str) -> str | None:
    """First non-empty ``<meta name|property=...>`` among ``names`` (case-insensitive)."""
    wanted = {name.lower() for name in names}
    for meta in root.iter("meta"):
        key = (meta.get("name") or meta.get("property") or "").lower()
        if key in wanted and clean(meta.get("content")):
            return clean(meta.get("content"))
    return None


def extract_title(root: HtmlElement) -> tuple[str | None, str | None]:
    """(headline, site name) from meta tags, ``<h1>``, then ``<title>`` split at ``_``."""
    site_name = meta_content(root, "SiteName", "og:site_name")
    title_tag = clean(root.findtext(".//title"))
    parts = [part for part in _TITLE_SPLIT.split(title_tag) if part] if title_tag else []
    if len(parts) > 1 and not site_name:
        site_name = parts[-1]
    headline = meta_content(root, "ArticleTitle", "og:title")
    if not headline:
        for tag in ("h1", "h2"):
            for element in root.iter(tag):
                text = clean(element.text_content())
                if 4 <= len(text) <= 120 and (not parts or text in title_tag or parts[0] in text):
                    headline = text
                    break
            if headline:
                break
    if not headline and parts:
        headline = _TITLE_SPLIT.split(title_tag)[0] if len(parts) > 1 else title_tag
    if headline and site_name and headline.endswith(site_name) and headline != site_name:
        headline = _TITLE_SPLIT.sub("", headline[: -len(site_name)]) or headline
    return headline or None, site_name


def _to_datetime(match: re.Match[str]) -> datetime | None:
    groups = match.groupdict()
    try:
        return datetime(
            int(groups["y"]), int(groups["m"]), int(groups["d"]),
            int(groups.get("H") or 0), int(groups.get("M") or 0), int(groups.get("S") or 0),
            tzinfo=CHINA,
        )
    except ValueError:
        return None


def parse_date(text: str | None) -> datetime | None:
    """First plausible date (and time) in ``text``, in Asia/Shanghai."""
    for match in _DATE.finditer(text or ""):
        moment = _to_datetime(match)
        if moment is not None:
            return moment
    return None


def iso_minutes(moment: datetime | None) -> str | None:
    """ISO 8601 with its zone, to the minute unless the page gave seconds."""
    if moment is None:
        return None
    return moment.isoformat(timespec="minutes" if moment.second == 0 else "seconds")


def date_from_url(url: str) -> datetime | None:
    for pattern in _URL_DATES:
        match = pattern.search(url)
        if match and (moment := _to_datetime(match)):
            return moment
    return None


def metadata_line(root: HtmlElement, headline: str | None) -> str:
    """The line of 来源/时间/编辑/浏览 fields that portals print under the headline."""
    best = ""
    for element in root.iter("div", "span", "p", "td", "font"):
        text = clean(element.text_content())
        if len(text) > 200 or len(_META_LINE.findall(text)) < 2:
            continue
        if headline and headline in text:
            continue
        if not best or len(text) < len(best):
            best = text
    return best


def _lines(element: HtmlElement) -> list[str]:
    """Text of ``element`` split into lines at block elements and ``<br>``, links marked."""
    out: list[list[Any]] = [["", 0]]

    def walk(node: HtmlElement, in_link: bool) -> None:
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag in _SKIP_TAGS:
            if node.tail:
                out[-1][0] += node.tail
            return
        if tag in _BLOCK_TAGS:
            out.append(["", 0])
        link = in_link or tag == "a"
        if node.text:
            out[-1][0] += node.text
            if link:
                out[-1][1] += len(node.text.strip())
        for child in node:
            walk(child, link)
        if tag in _BLOCK_TAGS:
            out.append(["", 0])
        if node.tail:
            out[-1][0] += node.tail
            if in_link:
                out[-1][1] += len(node.tail.strip())

    walk(element, False)
    lines = []
    for text, link_chars in out:
        text = clean(text)
        if text and link_chars < 0.5 * len(text):
            lines.append(text)
    return lines


def _text_score(element: HtmlElement) -> float:
    text = clean(element.text_content())
    if not text:
        return 0.0
    link_text = sum(len(clean(a.text_content())) for a in element.iter("a"))
    cjk = len(_CJK.findall(text)) or len(text) / 4
    punctuation = text.count("，") + text.count("。") + text.count(",") + text.count(".")
    return (cjk + 10 * punctuation) * (1 - min(link_text / len(text), 1.0)) ** 2


def content_node(root: HtmlElement) -> HtmlElement | None:
    """The element that holds the article text: readability-style parent scoring of blocks."""
    scores: dict[HtmlElement, float] = {}
    for block in root.iter("p", "div", "td", "section", "article"):
        if any(ancestor.tag in _SKIP_TAGS for ancestor in block.iterancestors()):
            continue
        own = clean((block.text or "") + "".join(child.tail or "" for child in block))
        if block.tag != "p" and len(own) < 20:
            continue
        score = _text_score(block) if block.tag == "p" else len(_CJK.findall(own)) + 10 * own.count("。")
        if score < 10:
            continue
        parent = block.getparent()
        if parent is not None:
            scores[parent] = scores.get(parent, 0.0) + score
            grandparent = parent.getparent()
            if grandparent is not None:
                scores[grandparent] = scores.get(grandparent, 0.0) + score / 2
    if not scores:
        return None
    return max(scores, key=scores.get)


def extract_body(node: HtmlElement | None, headline: str | None = None) -> str:
    """Body paragraphs of the content element, joined by newlines in reading order."""
    if node is None:
        return ""
    lines = [line for line in _lines(node) if line != headline and len(_META_LINE.findall(line)) < 2]
    return "\n".join(lines)


def extract_channel(root: HtmlElement) -> str | None:
    channel = meta_content(root, "ColumnName", "column")
    if channel:
        return channel
    for element in root.iter("div", "span", "td", "p"):
        text = clean(element.text_content())
        if text.startswith(("当前位置", "您现在的位置", "您的位置", "当前的位置")) and len(text) < 120:
            trail = text.split("：", 1)[-1].split(":", 1)[-1]
            crumbs = [crumb for crumb in re.split(r"\s*(?:>|＞|»|›|/|→)\s*", trail) if crumb]
            crumbs = [crumb for crumb in crumbs if crumb not in ("首页", "网站首页", "正文")]
            if crumbs:
                return crumbs[-1]
    return None


def extract_article(
    page: Page | Response | bytes | str, url: str | None = None, headers: dict | None = None
) -> ArticleItem:
    """Extract an article item from a page (bytes, text or a Scrapy response)."""
    parsed = page if isinstance(page, Page) else parse_page(page, url, headers)
    root = parsed.root
    headline, site_name = extract_title(root)
    line = metadata_line(root, headline)
    published = (
        parse_date(meta_content(root, "PubDate", "publishdate", "article:published_time", "pubdate"))
        or parse_date(line)
        or date_from_url(parsed.url)
    )
    source = meta_content(root, "ContentSource", "source")
    if not source and (match := _SOURCE.search(line)):
        source = match.group("v")
    author = meta_content(root, "author", "Author")
    if not author and (match := _AUTHOR.search(line)):
        author = match.group("v")
    views = int(match.group("v")) if (match := _VIEWS.search(line)) else None
    return ArticleItem(
        url=parsed.url,
        title=headline,
        site_name=site_name,
        published_at=iso_minutes(published),
        source=source,
        author=author if author != source else None,
        views=views,
        channel=extract_channel(root),
        body=extract_body(parsed.content, headline),
        encoding=parsed.decoded.describe() if parsed.decoded else None,
    )
