"""The chrome pipeline learns a site's own template lines and counts every removal."""

from __future__ import annotations

import pytest
from scrapy.utils.test import get_crawler
from support import archive_settings, index_url

from archive.models import open_index
from crawler.extract.items import ArticleItem
from crawler.spiders.portal import PortalSpider
from pipelines.chrome import ChromeStripPipeline


def test_lines_repeated_across_a_sites_articles_are_learned_and_stripped():
    crawler = get_crawler(PortalSpider, {"CHROME_TEMPLATE_MIN_PAGES": 3, "CHROME_TEMPLATE_SHARE": 0.5})
    crawler.stats.open_spider()
    pipeline = ChromeStripPipeline.from_crawler(crawler)
    bodies = []
    for n in range(6):
        item = ArticleItem(
            url=f"http://x.gov.cn/{n}.html",
            site="x.gov.cn",
            body=f"第{n}篇正文，内容各不相同。\n本站微信公众号：xfwx\n特此通知。",
            chrome_removed={"hotline": 1},
        )
        bodies.append(pipeline.process_item(item).body)
    assert "本站微信公众号" in bodies[0]
    assert all("本站微信公众号" not in body for body in bodies[2:])
    assert all(body.endswith("特此通知。") and body.startswith("第") for body in bodies)
    stats = crawler.stats.get_stats()
    assert stats["chrome/hotline"] == 6
    assert stats["chrome/site_template"] == 4


def test_other_sites_do_not_share_a_template():
    crawler = get_crawler(PortalSpider, {"CHROME_TEMPLATE_MIN_PAGES": 2})
    crawler.stats.open_spider()
    pipeline = ChromeStripPipeline.from_crawler(crawler)
    for n in range(4):
        pipeline.process_item(ArticleItem(url=f"http://a/{n}", site="a", body="页脚模板行\n正文。"))
    item = pipeline.process_item(ArticleItem(url="http://b/1", site="b", body="页脚模板行\n正文。"))
    assert "页脚模板行" in item.body


@pytest.mark.index
def test_learned_templates_outlive_the_crawl(tmp_path):
    """A daily re-crawl sees a few new articles: what earlier crawls learned strips them."""
    open_index(index_url(tmp_path)).dispose()
    # get_crawler has Scrapy's defaults only, not crawler/settings.py: say the crawl archives.
    settings = {**archive_settings(tmp_path), "CHROME_TEMPLATE_MIN_PAGES": 3, "CAPTURE_ENABLED": True}

    def crawl(bodies: list[str]) -> list[str]:
        crawler = get_crawler(PortalSpider, settings)
        crawler.stats.open_spider()
        pipeline = ChromeStripPipeline.from_crawler(crawler)
        out = [pipeline.process_item(ArticleItem(url=f"http://x.gov.cn/{n}.html", site="x.gov.cn", body=body)).body
               for n, body in enumerate(bodies)]
        pipeline.close_spider()
        return out

    crawl([f"第{n}篇正文。\n本站微信公众号：xfwx" for n in range(5)])
    (today,) = crawl(["今天的新文章。\n本站微信公众号：xfwx"])
    assert today == "今天的新文章。"
