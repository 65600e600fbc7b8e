"""A script pager names every page of its listing on each of them: following it stays linear.

A TRS channel of 1,250 listing pages (real ones have that many) used to rebuild and filter all
1,250 page requests from every page: 1.5 million duplicate requests, minutes of a stalled
crawl. Each pager is now followed from the first page that names it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from support import index, run_crawl

from archive.models import articles, crawls
from demo.server import DemoServer
from demo.site import build_site

pytestmark = [pytest.mark.slow, pytest.mark.crawl]


def test_a_long_script_pager_is_followed_once(tmp_path):
    site = build_site(style="trs", channels=1, articles_per_channel=300, per_page=2, extras=False)
    pages = len(site.listings)
    assert pages >= 150
    with DemoServer(site) as server:
        run_crawl(tmp_path, f"start_url={server.url}", timeout=300)
        listing_requests = [r.path for r in server.requests if r.path in site.listings]
    with index(tmp_path).connect() as conn:
        stats = conn.execute(select(crawls.c.stats)).scalar_one()
        indexed = {urlsplit(url).path for url in conn.execute(select(articles.c.url)).scalars()}
    assert indexed == set(site.articles)  # every article, through every listing page
    assert sorted(listing_requests) == sorted(site.listings)  # each listing page once
    # Built again from every page, the pager alone gives pages x (pages - 1) duplicates; the
    # rest are the menu and sidebar links every page repeats (about 18 per page here).
    assert stats.get("dupefilter/filtered", 0) < pages * (pages - 1) / 2, stats.get("dupefilter/filtered")


def test_a_pager_past_the_limit_is_cut_and_says_so(tmp_path):
    """A pager claiming more pages than DISCOVER_MAX_PAGER_PAGES (a trap, or a huge channel)
    is followed up to the limit, and the cut is logged and counted, not silent."""
    site = build_site(style="trs", channels=1, articles_per_channel=60, per_page=2, extras=False)
    limit = 10
    assert len(site.listings) > limit + 5
    with DemoServer(site) as server:
        result = run_crawl(tmp_path, f"start_url={server.url}", settings={"DISCOVER_MAX_PAGER_PAGES": str(limit)})
        listing_requests = {r.path for r in server.requests if r.path in site.listings}
    with index(tmp_path).connect() as conn:
        stats = conn.execute(select(crawls.c.stats)).scalar_one()
    claimed = len(site.listings)
    assert f"its pager claims {claimed} pages; following the first {limit}" in result.stderr
    assert stats["discover/pager_truncated"] >= 1
    # The pager's first pages (index.html, index_1 ... index_9), not the channel's others.
    assert len(listing_requests) == limit, sorted(listing_requests)


def test_a_recrawl_walks_a_script_pager_only_as_far_as_there_is_news(tmp_path):
    """Page 1 of a TRS channel names all its pages; a daily re-crawl after two new articles
    must not fetch them all again, and must not mistake the articles pushed from the last
    page it fetched onto the next (unfetched) one for vanished ones."""
    before = build_site(style="trs", channels=1, articles_per_channel=200, per_page=5, extras=False, withhold=2)
    after = build_site(style="trs", channels=1, articles_per_channel=200, per_page=5, extras=False, withhold=0)
    new = set(after.articles) - set(before.articles)
    assert len(new) == 2 and len(after.listings) >= 40
    with DemoServer(before) as server:
        run_crawl(tmp_path, f"start_url={server.url}")
        first = len(server.requests)
        server.site = after
        second = run_crawl(tmp_path, f"start_url={server.url}")
        requests = server.requests[first:]
    listing_requests = [r.path for r in requests if r.path in after.listings]
    article_requests = {r.path for r in requests if r.path in after.articles}
    # Page 1 has the news, page 2 has none: the walk stops there.
    assert sorted(listing_requests) == ["/xfxw/index.html", "/xfxw/index_1.html"], listing_requests
    assert article_requests == new  # no re-check of an article that merely moved down a page
    assert "0 lost from listings" in second.stderr
    with index(tmp_path).connect() as conn:
        indexed = {urlsplit(url).path for url in conn.execute(select(articles.c.url)).scalars()}
    assert indexed == set(after.articles)
