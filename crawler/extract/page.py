"""A parsed page: the lxml tree, how its bytes were decoded, and its text in reading order.

Every extraction step works on a ``Page``; ``parse_page(response)`` makes one in
``scrapy shell``, reusing the response's own tree when Scrapy decoded it the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

import lxml.etree
import lxml.html
from lxml.html import HtmlElement

from crawler.extract.encoding import Decoded, decode_html, normalise

SKIP_TAGS = frozenset({"script", "style", "noscript", "iframe", "select", "option", "button", "textarea",
                       "head", "title", "template", "svg", "object", "embed"})
BLOCK_TAGS = frozenset({
    "p", "div", "td", "th", "tr", "li", "ul", "ol", "table", "tbody", "thead", "h1", "h2", "h3", "h4", "h5",
    "h6", "br", "section", "article", "header", "footer", "center", "blockquote", "dd", "dt", "dl", "form",
    "pre", "figure", "figcaption", "main", "nav", "aside", "hr", "caption",
})
_COMMENT_TAGS = (lxml.etree.Comment, lxml.etree.ProcessingInstruction)
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# Text measured in CJK characters: a Latin word of about three letters counts as one, so
# the same thresholds serve a portal's English pages.
PROSE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[A-Za-z]{3}")
# CJK (as ``CJK``) is exactly the UTF-16 code units whose high byte is 0x34-0x9F
# (U+3400-U+9FFF) or 0xF9-0xFA (U+F900-U+FAFF); surrogates (0xD8-0xDF) are neither.
_OTHER_HIGH_BYTES = bytes(b for b in range(256) if not (0x34 <= b <= 0x9F or 0xF9 <= b <= 0xFA))
_LATIN_WORD = re.compile(r"[A-Za-z]{3}")


def cjk_count(text: str) -> int:
    """How many CJK characters (as ``CJK``) ``text`` holds.

    Counted on the high bytes of its UTF-16 code units, the others deleted: three C calls.
    A regex is several times slower on Chinese text (``findall`` makes a string per
    character, and even a deleting ``sub`` tests each character against the class)."""
    if text.isascii():
        return 0
    return len(text.encode("utf-16-le", "surrogatepass")[1::2].translate(None, _OTHER_HIGH_BYTES))


def prose_count(text: str) -> int:
    """``len(PROSE.findall(text))``, faster: CJK characters plus three-letter runs (a CJK
    character is no letter, so the two kinds of match never overlap)."""
    return cjk_count(text) + len(_LATIN_WORD.findall(text))


# A sentence mark: a full-width one, or a Latin one followed by a space. Written with one
# class first (not as two alternatives) so the regex engine skips to the marks.
SENTENCE_MARK = re.compile(r"[，。；！？,.;!?](?:(?<=[，。；！？])|(?=\s))")
_SPACES = re.compile(r"[ \t\r\n\f\v\u00a0\u3000\u2002\u2003\u2009\u200b]+")


def clean(text: str | None) -> str:
    """Collapse every kind of space (full-width and no-break ones too) to one.

    ``str.split()`` knows U+3000 and U+00A0 as spaces and runs at C speed; only the
    zero-width space needs naming."""
    if not text:
        return ""
    if "\u200b" in text:
        text = text.replace("\u200b", " ")
    return " ".join(text.split())


@dataclass(slots=True)
class Segment:
    """A run of text in reading order, with the element that holds it."""

    text: str
    element: HtmlElement
    in_link: bool
    block: int  # index of the block (paragraph) the text belongs to


@dataclass
class Page:
    url: str
    root: HtmlElement
    decoded: Decoded | None
    spans: dict[HtmlElement, tuple[int, int]] = field(default_factory=dict, repr=False)
    # What later steps worked out about the page, kept so each is computed once: the content
    # candidates (content.py), the headline (metadata.py), the body element (body.py).
    memo: dict[str, object] = field(default_factory=dict, repr=False)

    @cached_property
    def elements(self) -> list[HtmlElement]:
        """Every node of the tree (comments too) in document order, walked once.

        Picking elements from this list by tag in Python is about three times faster than
        another ``root.iter(tag)``, which pays the iterator's cost for every element it yields."""
        return list(self.root.iter())

    @cached_property
    def anchors(self) -> list[HtmlElement]:
        """The page's ``<a>`` elements, in document order."""
        return [node for node in self.elements if node.tag == "a"]

    @cached_property
    def segments(self) -> list[Segment]:
        """All visible text in document order; ``spans`` maps elements to their segment range.

        One pass of ``root.iter()`` (C speed) with a stack of open elements: an element is
        closed, and its tail read, when the next element in document order is not inside it.
        (The loop is written out flat: it runs once per element of every page.)
        """
        segments: list[Segment] = []
        append = segments.append
        spans = self.spans
        # Open elements, each with its first segment and kind (0 text, 1 skipped, 2 comment
        # or processing instruction, 3 block, 4 link: known when it opens, so closing it
        # reads no tag); ``top`` is the innermost, the parent of what follows.
        stack: list[tuple[HtmlElement, int, int]] = []
        push, pop = stack.append, stack.pop
        # Above the root: None, unless the page was made of a sub-tree.
        outer = top = self.root.getparent()
        block = skipping = links = 0
        skip_tags, block_tags, comment_tags = SKIP_TAGS, BLOCK_TAGS, _COMMENT_TAGS
        for node in [*self.elements, None]:
            parent = node.getparent() if node is not None else outer
            while top is not parent:
                closed, start, kind = pop()
                top = stack[-1][0] if stack else outer  # the closed node's parent: its tail's holder
                tail = closed.tail
                if kind == 2:
                    if tail and not skipping:
                        append(Segment(tail, top, links > 0, block))
                    continue
                if kind == 1:
                    skipping -= 1
                elif kind == 3:
                    block += 1
                elif kind == 4:
                    links -= 1
                spans[closed] = (start, len(segments))
                if tail and not skipping:
                    append(Segment(tail, top if top is not None else closed, links > 0, block))
            if node is None:
                break
            top = node
            tag = node.tag
            if tag.__class__ is not str:
                if tag in comment_tags:
                    push((node, len(segments), 2))
                else:
                    push((node, len(segments), 1))
                    skipping += 1
                continue
            if tag in skip_tags:
                push((node, len(segments), 1))
                skipping += 1
                continue
            if skipping:
                push((node, len(segments), 0))
                continue
            if tag in block_tags:
                push((node, len(segments), 3))
                block += 1
            elif tag == "a":
                push((node, len(segments), 4))
                links += 1
            else:
                push((node, len(segments), 0))
            text = node.text
            if text:
                append(Segment(text, node, links > 0, block))
        return segments

    @cached_property
    def text(self) -> str:
        """All visible text (the segments joined). One substring test over it tells whether
        a search segment by segment can find anything at all; on most pages it cannot."""
        return "".join([segment.text for segment in self.segments])

    @cached_property
    def metas(self) -> dict[str, str]:
        return meta_tags(self.root)

    @cached_property
    def prose_prefix(self) -> tuple[list[int], list[int]]:
        """Running counts of prose (as ``PROSE``) over the segments, all and inside links:
        the prose of any element or range is then two subtractions."""
        total, linked = [0], [0]
        t = k = 0
        count_prose = prose_count
        for segment in self.segments:
            text = segment.text
            count = count_prose(text) if not text.isspace() else 0
            t += count
            if segment.in_link:
                k += count
            total.append(t)
            linked.append(k)
        return total, linked

    def prose_between(self, start: int, end: int) -> tuple[int, int]:
        """(prose, prose inside links) of ``segments[start:end]``."""
        total, linked = self.prose_prefix
        end = max(start, end)
        return total[end] - total[start], linked[end] - linked[start]

    def span(self, element: HtmlElement) -> tuple[int, int]:
        """The range of ``segments`` inside ``element``."""
        _ = self.segments
        return self.spans.get(element, (0, 0))

    def text_between(self, start: int, end: int) -> str:
        return "".join(segment.text for segment in self.segments[start:end])

    @cached_property
    def title_text(self) -> str:
        """The page's <title>, spaces squeezed ("" when it has none)."""
        return clean(self.root.findtext(".//title"))


# libxml2 stops parsing at </html> (browsers do not); templates that include a whole
# header document mid-page would lose everything after it.
_EARLY_END = re.compile(r"</(?:html|body)\s*>(?=[\s\S]{200,}<)", re.I)


def _html_parser() -> lxml.html.HTMLParser:
    """lxml.html's parser, with its element classes chosen by lxml itself.

    lxml.html picks each element's class in Python (a form, an input, a label get their
    own), once per element reached from Python: hundreds of calls per page. Extraction
    only needs ``HtmlElement``; ``ElementDefaultClassLookup`` gives it to every element in C.
    Nor does it look elements up by id through libxml2's table of ids (rules read ``@id``
    as an attribute), so the parser does not build that table.
    """
    parser = lxml.html.HTMLParser(collect_ids=False)
    parser.set_element_class_lookup(lxml.etree.ElementDefaultClassLookup(
        element=HtmlElement, comment=lxml.html.HtmlComment, pi=lxml.html.HtmlProcessingInstruction,
        entity=lxml.html.HtmlEntity))
    return parser


_PARSER = _html_parser()


def _parse_text(text: str) -> HtmlElement:
    text = _EARLY_END.sub("", text.replace("\x00", ""))
    try:
        root = lxml.html.document_fromstring(text or "<html></html>", parser=_PARSER)
    except (lxml.etree.ParserError, ValueError):
        root = None
    return root if root is not None else lxml.html.document_fromstring("<html></html>")


def _content_type(headers: dict | None) -> str | None:
    for name, value in (headers or {}).items():
        name = name.decode("latin-1") if isinstance(name, bytes) else str(name)
        if name.lower() == "content-type":
            if isinstance(value, (list, tuple)):
                value = value[0] if value else b""
            return value.decode("latin-1") if isinstance(value, bytes) else str(value)
    return None


def parse_page(page: Page | object | bytes | str, url: str | None = None, headers: dict | None = None) -> Page:
    """Parse raw bytes, text or a response, duck-typed (``url``, ``body``, ``headers``, as a
    Scrapy response has; its own tree is reused when it decoded the bytes the same way)."""
    if isinstance(page, Page):
        return page
    if isinstance(page, str):
        return Page(url or "", _parse_text(page), None)
    if isinstance(page, (bytes, bytearray, memoryview)):
        decoded = decode_html(bytes(page), _content_type(headers))
        return Page(url or "", _parse_text(decoded.text), decoded)
    url = url or getattr(page, "url", "")
    decoded = decode_html(bytes(getattr(page, "body", b"")), _content_type(headers or getattr(page, "headers", None)))
    # Only a text response has an encoding and a tree; a binary one is parsed from our decoding.
    reusable = normalise(getattr(page, "encoding", None)) == decoded.encoding and not _EARLY_END.search(decoded.text)
    if reusable:
        try:
            root = page.selector.root
        except (AttributeError, ValueError, TypeError, lxml.etree.LxmlError):
            root = None
        if isinstance(root, HtmlElement):
            return Page(url, root, decoded)
    return Page(url, _parse_text(decoded.text), decoded)


def meta_tags(root: HtmlElement) -> dict[str, str]:
    """Every non-empty ``<meta name|property|itemprop=...>``, names lowercased, first one kept."""
    found: dict[str, str] = {}
    for meta in root.iter("meta"):
        key = (meta.get("name") or meta.get("property") or meta.get("itemprop") or "").lower()
        if key and key not in found and (value := clean(meta.get("content"))):
            found[key] = value
    return found


def meta_content(root: HtmlElement | Page, *names: str) -> str | None:
    """First non-empty ``<meta name|property|itemprop=...>`` among ``names`` (case-insensitive).

    Given a ``Page``, its meta tags are read once for all the fields that ask."""
    found = root.metas if isinstance(root, Page) else meta_tags(root)
    for name in names:
        if value := found.get(name.lower()):
            return value
    return None
