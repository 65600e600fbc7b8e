"""Extraction in a worker process gives the same result as inline."""

from __future__ import annotations

from crawler.pagekind import ARTICLE, LISTING
from crawler.workers import classify_and_extract
from demo.site import build_site


def test_classify_and_extract_from_bytes_matches_the_demo_truth():
    site = build_site()
    path, title = next(iter(site.articles.items()))
    kind, item = classify_and_extract(site.routes[path].body, "http://127.0.0.1" + path, "text/html", None)
    assert kind == ARTICLE and item is not None and item.title == title
    listing = site.listings[0]
    kind, item = classify_and_extract(site.routes[listing].body, "http://127.0.0.1" + listing, None, None)
    assert kind == LISTING and item is None
