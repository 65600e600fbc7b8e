"""Articles fetched in a many-portal crawl are indexed as in a one-portal crawl (issue 26).

Government portals repost (转载) the same article word for word, each under its own URL.
Six portals here share six reposted articles, each on three of them; two reposts span five
pages, and the crawl's trap limit (TRAP_MAX_SAME_SHAPE_HOPS=2) cuts their chain of
continuation pages after the fourth page, as a limit can cut any chain. Every article of
every portal must be indexed, in the many-portal crawl as in a crawl of one of them alone,
and an article the crawl cannot index must be counted by reason (``articles/dropped/*``),
never lost in silence.
"""

from __future__ import annotations

import json
from collections import defaultdict
from contextlib import ExitStack
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from support import index, run_crawl

from archive.models import articles, crawls
from demo.requisite_portal import build_requisite_site, reposts
from demo.server import DemoServer

pytestmark = [pytest.mark.slow, pytest.mark.index]

SETTINGS = {"TRAP_MAX_SAME_SHAPE_HOPS": "2"}


def rows(archive) -> dict[str, dict[str, str]]:
    """Indexed articles: host -> path -> body."""
    out: dict[str, dict[str, str]] = defaultdict(dict)
    with index(archive).connect() as conn:
        for url, body in conn.execute(select(articles.c.url, articles.c.body)):
            parts = urlsplit(url)
            out[parts.netloc][parts.path] = body
    return out


def stats(archive) -> dict:
    with index(archive).connect() as conn:
        value = conn.execute(select(crawls.c.stats).order_by(crawls.c.id.desc()).limit(1)).scalar_one()
    return value if isinstance(value, dict) else json.loads(value)


def test_reposted_articles_are_indexed_on_every_portal_that_carries_them(tmp_path):
    pool = reposts(6, multipage_every=3)
    assert [repost.pages for repost in pool] == [1, 1, 5, 1, 1, 5]
    portals = [build_requisite_site(seed=k, style=("trs", "art")[k % 2], channels=1, articles_per_channel=5,
                                    per_page=5, shared_reposts=[pool[(k + j) % 6] for j in range(3)])
               for k in range(6)]
    with ExitStack() as stack:
        servers = [stack.enter_context(DemoServer(portal.site, host=f"127.0.0.{k + 2}"))
                   for k, portal in enumerate(portals)]
        seeds = tmp_path / "seeds.txt"
        seeds.write_text("".join(f"{server.url}\n" for server in servers))
        run_crawl(tmp_path / "many", f"sites={seeds}", settings=SETTINGS)
        alone = tmp_path / "alone.txt"
        alone.write_text(f"{servers[2].url}\n")
        run_crawl(tmp_path / "one", f"sites={alone}", settings=SETTINGS)
    many, one = rows(tmp_path / "many"), rows(tmp_path / "one")
    for server, portal in zip(servers, portals, strict=True):
        host = urlsplit(server.url).netloc
        missing = sorted(set(portal.articles) - set(many[host]))
        assert not missing, f"{host}: not indexed: {[portal.reposted.get(path, path) for path in missing]}"
        for path, key in portal.reposted.items():
            repost = next(r for r in pool if r.key == key)
            read = repost.pages if repost.pages <= 4 else 4  # the fifth page is past the trap limit
            for page in range(repost.pages):
                for paragraph in repost.page_text(page):
                    assert (paragraph in many[host][path]) == (page < read), (host, key, page)
    third = urlsplit(servers[2].url).netloc
    assert one[third] == many[third]  # the same rows, the same text, as in a crawl of that portal alone
    counted = stats(tmp_path / "many")
    carried = sum(1 for portal in portals for key in portal.reposted.values()
                  if next(r for r in pool if r.key == key).pages > 4)
    assert counted.get("discover/continuation_dropped") == carried == 6
    assert not {key: value for key, value in counted.items() if key.startswith("articles/dropped/")}
    assert counted["warc/articles"] == sum(len(portal.articles) for portal in portals)
