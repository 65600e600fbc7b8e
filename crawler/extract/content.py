"""Find the article text: the element that holds it, and its paragraphs in reading order.

Scoring counts CJK characters and full-width punctuation (，。；！？、), not words split on
spaces or ASCII commas as Western extractors do, and discounts text inside links. Each
paragraph's score goes to its container (and half to the container's parent), as in
Readability; the best-scoring container holds the article.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import defaultdict
from urllib.parse import urljoin

from lxml.html import HtmlElement

from crawler.extract.chrome import load_rules
from crawler.extract.page import BLOCK_TAGS, SENTENCE_MARK, Page, cjk_count, clean

_PUNCTUATION = re.compile(r"[，。；！？、：,.;!?]")
_PARAGRAPH_TAGS = frozenset({"p", "li", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "dd", "figcaption",
                             "span", "font", "strong", "b", "em", "section"})
# A document's extension ending the path or a query value (download scripts name the file in
# their query: downfile.jsp?filename=方案.pdf, download?fileUrl=….pdf&fileName=…), or the link text.
_ATTACHMENT = re.compile(r"\.(pdf|docx?|xlsx?|pptx?|wps|et|zip|rar|7z|txt|rtf|odt|ods|ofd|csv)(?:$|[?#&])", re.I)
_LINK_TEXT_SPACES = re.compile(r"\s+")


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


def _page_paragraphs(page: Page) -> tuple[list[int], list[tuple[str, int, HtmlElement]]]:
    """Every block of the page once, with the index of its first segment (cached on the page).

    The element given is that of the block's first text; ``_block_element`` of it is the
    block itself, computed only for blocks that score."""
    cached = page.__dict__.get("_paragraphs")
    if cached is None:
        firsts: list[int] = []
        out: list[tuple[str, int, HtmlElement]] = []
        current, texts, link_chars, element, first = -1, [], 0, None, 0
        for index, segment in enumerate(page.segments):
            if segment.block != current:
                if texts and element is not None:
                    out.append(("".join(texts), link_chars, element))
                    firsts.append(first)
                current, texts, link_chars, element, first = segment.block, [], 0, segment.element, index
            texts.append(segment.text)
            if segment.in_link:
                link_chars += len(segment.text.strip())
        if texts and element is not None:
            out.append(("".join(texts), link_chars, element))
            firsts.append(first)
        cached = page.__dict__["_paragraphs"] = (firsts, out)
    return cached


def paragraphs_within(page: Page, start: int, end: int) -> list[tuple[str, int, HtmlElement]]:
    """The page's blocks that begin inside ``segments[start:end]`` (from the page-wide pass;
    a block straddling ``start`` is left out, which is all a candidate check needs)."""
    firsts, blocks = _page_paragraphs(page)
    return blocks[bisect_left(firsts, start):bisect_left(firsts, end)]


def paragraph_score(text: str, link_chars: int) -> float:
    text = clean(text)
    if not text:
        return 0.0
    cjk = cjk_count(text)
    weight = cjk + (len(text) - cjk) / 3
    link_density = min(link_chars / len(text), 1.0)
    return (weight + 8 * len(_PUNCTUATION.findall(text))) * (1 - link_density) ** 2


def content_candidates(page: Page, limit: int = 30) -> list[tuple[HtmlElement, float]]:
    """The ``limit`` best-scoring containers, best first.

    A container that is one item of a list of teasers (an ``<li>`` among several, as in a
    related-stories or news stream) scores a third: a long teaser must not outrank the
    short article the page is about.
    """
    scores: dict[HtmlElement, float] = defaultdict(float)
    for text, link_chars, first_element in _page_paragraphs(page)[1]:
        if len(text) < 4 or link_chars >= len(text.strip()):
            continue  # too short to score 12, or all link text (scores 0)
        score = paragraph_score(text, link_chars)
        if score < 12:
            continue
        element = _block_element(first_element)
        holder = element.getparent() if element.tag in _PARAGRAPH_TAGS else element
        if holder is None:
            continue
        scores[holder] += score
        parent = holder.getparent()
        if parent is not None:
            scores[parent] += score / 2
    ranked = sorted(scores.items(), key=lambda pair: pair[1], reverse=True)[: limit * 2]
    ranked = [(element, score * (0.33 if _in_teaser_list(element) else 1.0)) for element, score in ranked]
    return sorted(ranked, key=lambda pair: pair[1], reverse=True)[:limit]


def candidates(page: Page) -> list[tuple[HtmlElement, float]]:
    """Containers that may hold the article's text, best-scoring first (computed once a page)."""
    if "candidates" not in page.memo:
        page.memo["candidates"] = content_candidates(page)
    return page.memo["candidates"]


def content_node(page: Page) -> HtmlElement | None:
    """The best-scoring container, before any check of what it holds."""
    ranked = candidates(page)
    return ranked[0][0] if ranked else None


def _in_teaser_list(element: HtmlElement, levels: int = 4) -> bool:
    """The element, or one of its near ancestors, is an ``<li>`` among 3+ ``<li>``: one
    item of a story list (sections of one article repeat a class too, so classes do not tell)."""
    node: HtmlElement | None = element
    for _ in range(levels):
        parent = node.getparent() if node is not None else None
        if parent is None:
            return False
        if node.tag == "li" and sum(1 for child in parent if child.tag == "li") >= 3:
            return True
        node = parent
    return False


def junk_reason(page: Page, element: HtmlElement, rules) -> str | None:
    """Why a candidate's text is no article, or None when it may be one.

    A body made only of links, or of lines the chrome rules call boilerplate (a disclaimer,
    a copyright or report-hotline footer, a related-stories block), or with no sentence at
    all, is never accepted as an article's text.
    """
    chars, link_density = _prose(page, element)
    if chars and link_density >= 0.6:
        return "links_only"
    lines = [text for raw, link_chars, _ in paragraphs_within(page, *page.span(element))
             if (text := clean(raw)) and link_chars <= 0.5 * len(text.replace(" ", ""))]
    total = sum(len(line) for line in lines)
    if not total:
        return "links_only" if chars else "no_text"
    # Longest lines first: an article's long prose lines settle it after a few searches.
    junk = prose_chars = 0
    sentence = False
    for line in sorted(lines, key=len, reverse=True):
        if rules.is_boilerplate(line):
            junk += len(line)
            if junk >= 0.5 * total:
                return "boilerplate"
            continue
        prose_chars += len(line)
        sentence = sentence or bool(SENTENCE_MARK.search(line))
        if prose_chars > 0.5 * total and (sentence or prose_chars >= 40):
            return None
    if not sentence and prose_chars < 40:
        return "no_prose"
    return None


def _common_ancestor(element: HtmlElement, anchor_chain: set[HtmlElement]) -> HtmlElement | None:
    for node in (element, *element.iterancestors()):
        if node in anchor_chain:
            return node
    return None


def choose_content(page: Page, headline: HtmlElement | None, rules) -> tuple[HtmlElement | None, list[str]]:
    """The container of the article's text, and warnings about the choice.

    Candidates are tried best first; junk (``junk_reason``) is skipped. When the headline is
    known, the first candidate right below it (only a byline between them) is the article
    the headline and byline belong to. It wins over a better-scoring one when that one sits
    apart, with other text between them (a long related story beside a short article); a
    lead paragraph in the headline's own block does not, as nothing else separates it from
    the body.
    """
    warnings: list[str] = []
    ranked = candidates(page)
    best, rank = None, len(ranked)
    for index, (element, _) in enumerate(ranked):
        reason = junk_reason(page, element, rules)
        if reason is None:
            best, rank = element, index
            break
        warnings.append(f"rejected_{reason}")
    if best is None:
        return None, [*dict.fromkeys(warnings), "no_article_text"]
    if headline is None or headline in best.iterancestors():
        return best, warnings
    chain = {headline, *headline.iterancestors()}
    head_end = page.span(headline)[1]

    def gap(element: HtmlElement) -> int | None:
        """Prose outside links between the headline and the element (None: not below it)."""
        start = page.span(element)[0]
        if start < head_end:
            return None
        total, linked = page.prose_between(head_end, start)
        return total - linked

    best_gap = gap(best)
    if best_gap is not None and best_gap <= 30:
        return best, warnings  # the best block starts right under the headline: it is its text
    below = [(page.span(element)[0], -score, element) for element, score in ranked[rank + 1:]
             if score >= 20 and (g := gap(element)) is not None and g <= 200 and _prose(page, element)[0] >= 30
             and junk_reason(page, element, rules) is None]
    if not below:
        return best, warnings
    first = min(below, key=lambda row: row[:2])[2]
    # A wrapper around the byline and the text starts first; the text block inside it
    # scores higher (a parent gets half its children's score) and is the one to keep.
    inside = [row for row in below if row[2] is first or first in row[2].iterancestors()]
    first = min(inside, key=lambda row: row[1])[2]
    if first in best.iterancestors() or best in first.iterancestors():
        return best, warnings
    apart, near = _common_ancestor(best, chain), _common_ancestor(first, chain)
    if apart is None or near is None or apart is near or apart not in near.iterancestors():
        return best, warnings
    if _separated(page, first, best, rules):
        return first, [*warnings, "headline_anchored"]
    return best, warnings


def _separated(page: Page, first: HtmlElement, later: HtmlElement, rules) -> bool:
    """Something that is not article text lies between the two: a block heading (相关新闻),
    boilerplate, or link-dense text (teaser headlines); sections of one article have none."""
    start, end = page.span(first)[1], page.span(later)[0]
    if end <= start:
        return False
    linked = total = 0
    for text, link_chars, _ in paragraphs_within(page, start, end):
        text = clean(text)
        if text and rules.is_boilerplate(text):
            return True
        total += len(text)
        linked += link_chars
    return linked >= 20 and linked >= 0.4 * total


def _prose(page: Page, element: HtmlElement) -> tuple[int, float]:
    """(amount of prose, link density) of an element's text, measured as in ``PROSE``."""
    total, linked = page.prose_between(*page.span(element))
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
    rules = load_rules()
    for run, out in ((reversed(siblings[:index]), before), (siblings[index + 1:], after)):
        # Only contiguous continuations: the first sibling with text that is not article-like ends it.
        for sibling in run:
            chars, link_density = _prose(page, sibling)
            if rules.names_other_block(sibling):
                if chars >= 10:
                    break
                continue
            if chars >= max(50, 0.2 * main) and link_density < 0.3:
                out.append(sibling)
            elif out is before and link_density < 0.3 and _is_lead(page, sibling, rules):
                out.append(sibling)
            elif chars >= 10:
                break
    parts = [*reversed(before), best, *after]
    return parts


def _is_lead(page: Page, element: HtmlElement, rules) -> bool:
    """A block opening with a lead label (核心提示：, 导语：): the article's own summary."""
    start, end = page.span(element)
    text = clean(page.text_between(start, min(end, start + 4)))
    return any(text.startswith(label) for label in rules.lead_labels)


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


def media_urls(page: Page, node: HtmlElement | None) -> tuple[list[str], dict[str, str]]:
    """Images of the content element, and attachment links anywhere on the page (they often
    sit below the article, outside it) with their link text, as absolute URLs."""
    if node is None:
        return [], {}
    base = page.url
    images = [urljoin(base, src) for img in node.iter("img") if (src := (img.get("src") or "").strip())
              and not src.startswith("data:")]
    attachments: dict[str, str] = {}
    for a in page.anchors:
        href = (a.get("href") or "").strip()
        if not href or href.startswith(("javascript:", "#", "mailto:")):
            continue
        # a.text first: cheap, and enough for most links; the full text only for the matches.
        if _ATTACHMENT.search(href) or _ATTACHMENT.search((a.text or "").strip()):
            text = _LINK_TEXT_SPACES.sub(" ", a.text_content()).strip() or (a.get("title") or "").strip()
            attachments.setdefault(urljoin(base, href), text[:300])
    return list(dict.fromkeys(images)), attachments
