"""An article's digest does not depend on crawl order (issue 10, item 12).

A site's first few articles keep a template line that later ones lose (the template is not
learned yet); on a refresh the learned template strips it from them too. Dedup compares
the text before template stripping, so a refresh adds no row for an unchanged article.
"""

from __future__ import annotations

import socket

import pytest
from scrapy.exceptions import DropItem
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler
from sqlalchemy import func, select
from support import archive_settings, index

from archive.models import articles
from crawler.capture.hook import CaptureExtension
from crawler.extract.items import ArticleItem
from crawler.spiders.portal import PortalSpider
from pipelines.chrome import ChromeStripPipeline
from pipelines.dedup import ArticleDedupPipeline
from pipelines.index import ArticleIndexPipeline

pytestmark = pytest.mark.index

BODIES = [f"第{n}篇正文，内容各不相同。\n本站微信公众号：xfwx\n特此通知。" for n in range(8)]


def crawl(archive, tag: str) -> tuple[list[str], int]:
    """The real pipelines over the same eight articles, into the real index: (stored bodies, dropped)."""
    project = Settings()
    project.setmodule("crawler.settings")  # every default, as a crawl has them
    defaults = {name: value for name, value in project.copy_to_dict().items()
                if not name.startswith(("TWISTED", "ASYNCIO"))}  # get_crawler runs no reactor
    crawler = get_crawler(PortalSpider, {**defaults, **archive_settings(archive),
                                         "CHROME_TEMPLATE_MIN_PAGES": 3, "CHROME_TEMPLATE_SHARE": 0.5})
    crawler.stats.open_spider()
    capture = crawler.get_extension(CaptureExtension)  # the crawl's own, as pipelines find it
    capture.writer.start_crawl("portal", "x.gov.cn", socket.gethostname())
    chain = [ChromeStripPipeline.from_crawler(crawler), ArticleDedupPipeline.from_crawler(crawler),
             ArticleIndexPipeline.from_crawler(crawler)]
    for stage in chain:
        if hasattr(stage, "open_spider"):
            stage.open_spider()
    stored, dropped = [], 0
    for n, body in enumerate(BODIES):
        item = ArticleItem(url=f"http://x.gov.cn/{n}.html", site="x.gov.cn", body=body,
                           warc_record_id=f"<urn:uuid:{tag}-{n}>")
        try:
            for stage in chain:
                item = stage.process_item(item)
        except DropItem:
            dropped += 1
            continue
        stored.append(item.body)
    for stage in chain:
        if hasattr(stage, "close_spider"):
            stage.close_spider()
    capture.writer.drain()
    capture.writer.finish_crawl("finished", {})
    return stored, dropped


def test_a_refresh_adds_no_row_for_articles_stored_before_the_template_was_learned(tmp_path):
    first, _ = crawl(tmp_path, "first")
    assert "本站微信公众号" in first[0] and "本站微信公众号" not in first[-1]  # learned on the way
    second, dropped = crawl(tmp_path, "refresh")
    assert (second, dropped) == ([], len(BODIES))
    with index(tmp_path).connect() as conn:
        per_url = conn.execute(select(articles.c.url, func.count()).group_by(articles.c.url)).all()
    assert sorted(per_url) == sorted((f"http://x.gov.cn/{n}.html", 1) for n in range(len(BODIES)))
