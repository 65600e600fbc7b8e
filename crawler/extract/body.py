"""The element holding the article's text: the best content candidate (content.py) that is
not junk, anchored by the headline (metadata.py).

Its own module because it needs both: content scoring and headline finding work on the
parsed page (page.py) alone, and everything that reads the body (page kind, extraction)
comes after them.
"""

from __future__ import annotations

from lxml.html import HtmlElement

from crawler.extract.chrome import load_rules
from crawler.extract.content import choose_content
from crawler.extract.metadata import headline_of
from crawler.extract.page import Page


def main_content(page: Page) -> HtmlElement | None:
    """The body element (None: the page has no article text), chosen once a page; why the
    choice was doubtful is kept for ``content_warnings``."""
    if "content" not in page.memo:
        if page.decoded is not None and page.decoded.binary:
            page.memo["content"], page.memo["content_warnings"] = None, ["binary_body"]
        else:
            page.memo["content"], page.memo["content_warnings"] = choose_content(page, headline_of(page)[2],
                                                                                 load_rules())
    return page.memo["content"]


def content_warnings(page: Page) -> list[str]:
    """Why the body element was a doubtful choice (rejected candidates, no article text)."""
    main_content(page)
    return page.memo["content_warnings"]
