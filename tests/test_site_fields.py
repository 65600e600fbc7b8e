"""Per-site field learning (issue 22): a site's name closing most of its titles is split
off, a value credited as author on most of its articles is dropped, and what is stored does
not depend on the order the articles came in (issue 10, item 12)."""

from __future__ import annotations

import random
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from scrapy.exceptions import DropItem
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler
from sqlalchemy import select, update
from static_server import StaticServer
from support import archive_settings, index, run_crawl

from archive.models import article_events, articles, captures, crawls, utc_iso
from crawler.capture.hook import CaptureExtension
from crawler.extract.items import ArticleItem
from crawler.extract.site_fields import SiteFacts, SiteFieldLearner, title_tails
from crawler.spiders.portal import PortalSpider
from pipelines.chrome import ChromeStripPipeline
from pipelines.dedup import ArticleDedupPipeline
from pipelines.index import ArticleIndexPipeline
from pipelines.site_fields import SiteFieldsPipeline

HEADLINES = ["市纪委监委召开全体干部大会", "区监委开展警示教育活动", "县纪委部署节前廉政工作", "市纪委通报三起典型问题",
             "区纪委举办业务培训班", "县监委走访基层听取意见", "市纪委监委开展专项督查", "区纪委召开廉政谈话会",
             "县纪委监委组织集中学习", "市监委发布年度工作报告"]


def pages(site_suffix: str = "-纪检", author: str = "区融媒体中心") -> list[dict]:
    """Ten articles of one site: eight titles end with the site's channel name, two were
    printed without it; eight credit the site's own desk, two a reporter."""
    out = []
    for n, headline in enumerate(HEADLINES):
        out.append({"url": f"http://jj.example.gov.cn/{n}.html",
                    "page_title": headline + site_suffix if n < 8 else headline,
                    "title": headline + site_suffix if n < 8 else headline,
                    "author": author if n < 8 else ["丁一鸣", "马兰"][n - 8]})
    return out


# --- the learner alone --------------------------------------------------------------------------

def test_title_tails_start_at_a_separator_and_leave_a_headline():
    assert title_tails("关于做好节日值守工作的通知_通知公告_某市消防网") == {"_某市消防网", "_通知公告_某市消防网"}
    assert title_tails("通知-某市消防网") == set()  # too short a headline before it


def learn(rows: list[dict]) -> SiteFacts:
    learner = SiteFieldLearner(min_pages=5, share=0.6)
    for row in rows:
        learner.observe("jj", row["page_title"], row["author"])
    return learner.facts("jj")


def test_an_ending_on_most_titles_and_an_author_on_most_pages_are_learned():
    facts = learn(pages())
    assert facts.title_suffixes == ("-纪检",)
    assert facts.not_authors == {"区融媒体中心"}
    assert facts.title("县纪委部署节前廉政工作-纪检") == ("县纪委部署节前廉政工作", "纪检")
    assert facts.author("区融媒体中心") is None and facts.author("丁一鸣") == "丁一鸣"


def test_what_is_learned_does_not_depend_on_the_order_of_the_pages():
    rows = pages()
    expected = learn(rows)
    for seed in range(20):
        shuffled = rows[:]
        random.Random(seed).shuffle(shuffled)
        assert learn(shuffled) == expected


def test_too_few_pages_or_too_small_a_share_teach_nothing():
    assert not learn(pages()[:4])  # four pages: under min_pages
    mixed = pages()
    for row in mixed[:4]:
        row["page_title"], row["author"] = row["title"] = row["page_title"][:-3], "张晓"
    assert learn(mixed).title_suffixes == ()  # four of ten: under the share


def test_a_person_credited_on_every_page_is_kept():
    """A small site's one editor signs every article (责任编辑): still a person's credit."""
    assert learn(pages(author="钱晓峰")).not_authors == frozenset()


# --- in the crawl: the real pipelines into the real index -----------------------------------------

def crawl(archive, rows: list[dict], tag: str) -> list[ArticleItem]:
    """The crawl's item pipelines over ``rows``, into the archive's index; the pipelines end as
    a crawl ends (close_spider, the writer drained, engine_stopped)."""
    project = Settings()
    project.setmodule("crawler.settings")  # every default, as a crawl has them
    defaults = {name: value for name, value in project.copy_to_dict().items()
                if not name.startswith(("TWISTED", "ASYNCIO"))}  # get_crawler runs no reactor
    crawler = get_crawler(PortalSpider, {**defaults, **archive_settings(archive)})
    crawler.stats.open_spider()
    capture = crawler.get_extension(CaptureExtension)  # the crawl's own, as pipelines find it
    capture.writer.start_crawl("portal", "jj", socket.gethostname())
    learning = SiteFieldsPipeline.from_crawler(crawler)
    chain = [ChromeStripPipeline.from_crawler(crawler), learning, ArticleDedupPipeline.from_crawler(crawler),
             ArticleIndexPipeline.from_crawler(crawler)]
    for stage in chain:
        if hasattr(stage, "open_spider"):
            stage.open_spider()
    out = []
    for n, row in enumerate(rows):
        item = ArticleItem(url=row["url"], site="jj", title=row["title"], page_title=row["page_title"],
                           author=row["author"], body=f"第{n}篇正文，{row['title']}。", confidence=1.0,
                           warc_record_id=f"<urn:uuid:{tag}-{n}>")
        try:
            for stage in chain:
                item = stage.process_item(item)
        except DropItem:
            continue
        out.append(item)
    for stage in chain:
        if hasattr(stage, "close_spider"):
            stage.close_spider()
    capture.writer.drain()
    capture.writer.finish_crawl("finished", {key: value for key, value in crawler.stats.get_stats().items()
                                             if key == "site_fields"})
    learning.engine_stopped()
    return out


def stored(archive) -> dict[str, tuple]:
    with index(archive).connect() as conn:
        return {url: (title, author, site_name, confidence, warnings) for url, title, author, site_name, confidence,
                warnings in conn.execute(select(articles.c.url, articles.c.title, articles.c.author,
                                                articles.c.site_name, articles.c.confidence,
                                                articles.c.extraction_warnings))}


@pytest.mark.index
def test_stored_titles_and_authors_do_not_depend_on_crawl_order(tmp_path):
    rows = pages()
    results = []
    for seed in range(3):
        shuffled = rows[:]
        random.Random(seed).shuffle(shuffled)
        crawl(tmp_path / f"order{seed}", shuffled, f"o{seed}")
        results.append(stored(tmp_path / f"order{seed}"))
    assert results[0] == results[1] == results[2]
    rows_by_url = results[0]
    assert sorted(title for title, *_ in rows_by_url.values()) == sorted(HEADLINES)
    desk = [row for row in rows_by_url.values() if row[4] and "site_wide_author" in row[4]]
    assert len(desk) == 8 and all(row[1] is None and row[3] == 0.95 for row in desk)
    assert sorted(row[1] for row in rows_by_url.values() if row[1]) == ["丁一鸣", "马兰"]
    assert {row[2] for row in rows_by_url.values()} == {"纪检", None}  # the name, where the title had it


@pytest.mark.index
def test_what_a_crawl_learned_applies_to_the_next_crawls_items_at_once(tmp_path):
    crawl(tmp_path, pages(), "first")
    with index(tmp_path).connect() as conn:
        kept = [stats.get("site_fields") for (stats,) in conn.execute(select(crawls.c.stats))]
    assert kept == [{"jj": {"title_suffixes": ["-纪检"], "not_authors": ["区融媒体中心"]}}]
    (today,) = crawl(tmp_path, [{"url": "http://jj.example.gov.cn/new.html", "page_title": "今日新闻标题内容-纪检",
                                 "title": "今日新闻标题内容-纪检", "author": "区融媒体中心"}], "second")
    assert (today.title, today.author, today.site_name) == ("今日新闻标题内容", None, "纪检")
    assert today.extraction_warnings == ["site_wide_author"]
    assert stored(tmp_path)["http://jj.example.gov.cn/new.html"][:2] == ("今日新闻标题内容", None)


@pytest.mark.index
def test_items_of_a_crawl_are_not_changed_by_what_that_crawl_is_still_learning(tmp_path):
    """Applying half-learned facts on the way would strip the late articles only."""
    items = crawl(tmp_path, pages(), "only")
    assert [item.title for item in items] == [row["title"] for row in pages()]


PARAGRAPHS = "".join(f"<p>{text}</p>" for text in (
    "近日，纪检监察机关围绕年度重点任务开展了一系列工作，进一步压实全面从严治党主体责任，推动各项部署落地见效。",
    "会议强调，要坚持严的基调不动摇，持续深化正风肃纪反腐，以钉钉子精神抓好问题整改，确保各项工作取得实效。",
    "下一步，将继续加强监督检查，对发现的问题线索依规依纪依法处置，营造风清气正的良好政治生态。",
))


def channel_portal(site: Path) -> None:
    """A portal whose <title>s all end with the channel's name and whose bylines credit the
    portal's own desk."""
    (site / "xw").mkdir(parents=True)
    links = []
    for n, headline in enumerate(HEADLINES[:7]):
        (site / "xw" / f"{n}.html").write_text(
            f'<html><head><meta charset="utf-8"><title>{headline}-纪检</title></head><body>'
            f'<div class="nav"><a href="/">首页</a></div>'
            f'<div class="info">发布时间：2024-03-0{n + 1} 作者：区融媒体中心</div>'
            f'<div class="content">{PARAGRAPHS}<p>第{n}篇。</p></div></body></html>', encoding="utf-8")
        links.append(f'<li><a href="/xw/{n}.html">{headline}</a></li>')
    (site / "index.html").write_text('<html><head><meta charset="utf-8"><title>纪检</title></head><body><ul>'
                                     + "".join(links) + "</ul></body></html>", encoding="utf-8")


@pytest.mark.slow
@pytest.mark.index
def test_a_real_crawl_stores_every_article_as_the_whole_site_decides(tmp_path):
    """scrapy crawl over that portal: when the crawl has ended (after the archive writer
    committed every row), no stored title keeps the ending and no row credits that desk."""
    site = tmp_path / "site"
    channel_portal(site)
    with StaticServer(site) as server:
        result = run_crawl(tmp_path / "archive", f"start_url={server.url}", settings={"REQUISITES_ENABLED": "0"})
    assert "per-site field learning revised 7 article rows" in result.stderr
    rows = stored(tmp_path / "archive")
    assert sorted(title for title, *_ in rows.values()) == sorted(HEADLINES[:7])
    assert {(author, warnings) for _, author, _, _, warnings in rows.values()} == {(None, "site_wide_author")}


def test_memory_stays_flat_on_a_big_site_and_the_ending_is_still_learned():
    learner = SiteFieldLearner(min_pages=5, share=0.6)
    for n in range(3 * SiteFieldLearner.PRUNE_EVERY):
        learner.observe("big", f"第{n}号通知：关于第{n}项工作的安排-纪检", f"第{n}编辑组")
    evidence = learner.sites["big"]
    assert len(evidence.tails) < 10 and len(evidence.authors) < 10
    assert learner.facts("big").title_suffixes == ("-纪检",)


@pytest.mark.slow
@pytest.mark.index
def test_a_recheck_of_a_revised_row_finds_the_article_unchanged(tmp_path):
    """The stored title lost the site's ending when the first crawl ended; a re-check in a
    later crawl extracts the page's own title again, which must not read as an edit."""
    site = tmp_path / "site"
    channel_portal(site)
    archive = tmp_path / "archive"
    with StaticServer(site) as server:
        run_crawl(archive, f"start_url={server.url}", settings={"REQUISITES_ENABLED": "0"})
        with index(archive).begin() as conn:  # crawled 40 days ago: due for a re-check
            conn.execute(update(captures).values(fetched_at=utc_iso(datetime.now(UTC) - timedelta(days=40))))
        run_crawl(archive, f"start_url={server.url}", settings={"REQUISITES_ENABLED": "0", "REVISIT_SHARE": "1"})
    with index(archive).connect() as conn:
        kinds = [(kind, detail) for kind, detail in conn.execute(select(article_events.c.kind,
                                                                        article_events.c.detail))]
        titles = sorted(title for (title,) in conn.execute(select(articles.c.title)))
    assert kinds and {kind for kind, _ in kinds} == {"unchanged"}, kinds
    assert titles == sorted(HEADLINES[:7])
