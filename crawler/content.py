"""Find the article text: the element that holds it, and its paragraphs in reading order.

Scoring counts CJK characters and full-width punctuation (，。；！？、), not words split on
spaces or ASCII commas as Western extractors do, and discounts text inside links. Each
paragraph's score goes to its container (and half to the container's parent), as in
Readability; the best-scoring container holds the article.
"""

from __future__ import annotations

import re
from collections import defaultdict
from urllib.parse import urljoin

from lxml.html import HtmlElement

from crawler.page import BLOCK_TAGS, CJK, PROSE, Page, clean

_PUNCTUATION = re.compile(r"[，。；！？、：,.;!?]")
_PARAGRAPH_TAGS = frozenset({"p", "li", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "dd", "figcaption",
                             "span", "font", "strong", "b", "em", "section"})
_ATTACHMENT = re.compile(r"\.(pdf|docx?|xlsx?|pptx?|wps|et|zip|rar|7z|txt|rtf|odt|ods|ofd|csv)(?:$|[?#])", re.I)


def _block_element(element: HtmlElement) -> HtmlElement:
    """The nearest block-level ancestor-or-self: the paragraph a piece of text belongs to."""
    node: HtmlElement | None = element
    while node is not None and (not isinstance(node.tag, str) or node.tag not in BLOCK_TAGS or node.tag == "br"):
        node = node.getparent()
    return node if node is not None else element


def paragraphs(
    page: Page, start: int = 0, end: int | None = None, skip: set[int] | None = None
) -> list[tuple[str, int, HtmlElement]]:
    """(text, link characters, block element) per block of ``page.segments[start:end]``."""
    out: list[tuple[str, int, HtmlElement]] = []
    current, texts, link_chars, element = -1, [], 0, None
    for index, segment in enumerate(page.segments[start:end], start):
        if skip and index in skip:
            continue
        if segment.block != current:
            if texts and element is not None:
                out.append(("".join(texts), link_chars, element))
            current, texts, link_chars, element = segment.block, [], 0, _block_element(segment.element)
        texts.append(segment.text)
        if segment.in_link:
            link_chars += len(segment.text.strip())
    if texts and element is not None:
        out.append(("".join(texts), link_chars, element))
    return out


def paragraph_score(text: str, link_chars: int) -> float:
    text = clean(text)
    if not text:
        return 0.0
    cjk = len(CJK.findall(text))
    weight = cjk + (len(text) - cjk) / 3
    link_density = min(link_chars / len(text), 1.0)
    return (weight + 8 * len(_PUNCTUATION.findall(text))) * (1 - link_density) ** 2


def content_node(page: Page) -> HtmlElement | None:
    scores: dict[HtmlElement, float] = defaultdict(float)
    for text, link_chars, element in paragraphs(page):
        score = paragraph_score(text, link_chars)
        if score < 12:
            continue
        holder = element.getparent() if element.tag in _PARAGRAPH_TAGS else element
        if holder is None:
            continue
        scores[holder] += score
        parent = holder.getparent()
        if parent is not None:
            scores[parent] += score / 2
    if not scores:
        return None
    return max(scores, key=scores.__getitem__)


def _prose(page: Page, element: HtmlElement) -> tuple[int, float]:
    """(amount of prose, link density) of an element's text, measured as in ``PROSE``."""
    start, end = page.span(element)
    total = linked = 0
    for segment in page.segments[start:end]:
        count = len(PROSE.findall(segment.text))
        total += count
        linked += count if segment.in_link else 0
    return total, (linked / total if total else 1.0)


def content_parts(page: Page, best: HtmlElement | None) -> list[HtmlElement]:
    """The best node plus sibling blocks that continue the article (a table after the text).

    Wrappers that hold nothing but the best node are climbed first, so a sibling that sits
    beside the wrapper (``<td><table>text</table><table>annex</table></td>``) is found.
    """
    if best is None:
        return []
    node = best
    main, _ = _prose(page, node)
    while (parent := node.getparent()) is not None and parent.tag not in ("body", "html"):
        others = sum(_prose(page, child)[0] for child in parent if child is not node and isinstance(child.tag, str))
        if others >= 10:
            break
        node = parent
    parent = node.getparent()
    if parent is None or parent.tag in ("body", "html"):
        return [best]
    siblings = [child for child in parent if isinstance(child.tag, str) and child.tag not in ("script", "style")]
    index = siblings.index(node)
    before: list[HtmlElement] = []
    after: list[HtmlElement] = []
    for run, out in ((reversed(siblings[:index]), before), (siblings[index + 1:], after)):
        # Only contiguous continuations: the first sibling with text that is not article-like ends it.
        for sibling in run:
            chars, link_density = _prose(page, sibling)
            if chars >= max(50, 0.2 * main) and link_density < 0.3:
                out.append(sibling)
            elif chars >= 10:
                break
    parts = [*reversed(before), best, *after]
    return parts


def body_lines(page: Page, parts: list[HtmlElement], skip: set[int] | None = None) -> list[str]:
    """Text lines of the content parts: one per block, link-dense lines (menus) dropped.

    ``skip`` holds indexes of segments to leave out (text of elements a DOM rule removed).
    """
    lines = []
    for part in parts:
        start, end = page.span(part)
        for text, link_chars, _ in paragraphs(page, start, end, skip):
            text = clean(text)
            if text and link_chars <= 0.5 * len(text.replace(" ", "")):
                lines.append(text)
    return lines


def media_urls(page: Page, node: HtmlElement | None) -> tuple[list[str], list[str]]:
    """Images of the content element and attachment links anywhere on the page (they often
    sit below the article, outside it), as absolute URLs."""
    if node is None:
        return [], []
    base = page.url
    images = [urljoin(base, src) for img in node.iter("img") if (src := (img.get("src") or "").strip())
              and not src.startswith("data:")]
    attachments = [urljoin(base, href) for a in page.root.iter("a")
                   if (href := (a.get("href") or "").strip()) and _ATTACHMENT.search(href)]
    return list(dict.fromkeys(images)), list(dict.fromkeys(attachments))
