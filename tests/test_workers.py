"""A page processed from bytes (as in a worker process) gives the same result as inline."""

from __future__ import annotations

from scrapy.http import HtmlResponse

from crawler.capture.workers import process_bytes, process_page
from crawler.extract.pagekind import ARTICLE, LISTING
from crawler.spiders.profiles import generic_profile
from demo.site import build_site

BASE = "http://127.0.0.1:8000"


def test_worker_and_inline_agree_on_links_kind_and_item():
    site = build_site()
    profile = generic_profile(BASE + "/")
    for path, kind in ((next(iter(site.articles)), ARTICLE), (site.listings[0], LISTING)):
        body = site.routes[path].body
        from_bytes = process_bytes(BASE + path, body, b"text/html; charset=utf-8", profile)
        inline = process_page(HtmlResponse(BASE + path, body=body, encoding="utf-8"), profile)
        assert from_bytes.kind == inline.kind == kind
        assert from_bytes.links == inline.links and from_bytes.links
        assert (from_bytes.item is None) == (kind != ARTICLE)
        if from_bytes.item is not None:
            assert from_bytes.item.title == site.articles[path] == inline.item.title
