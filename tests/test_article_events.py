"""Re-check classification, the revisit schedule and budget, text diffs, and the events schema.

Pure functions here; the crawl against a changing loopback portal is tests/test_revisit_crawl.py.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, text
from support import ROOT, index_url
from zygote import run

from archive.events import (
    BLOCKED,
    DELETED,
    MOVED,
    REDIRECTED_AWAY,
    SOFT_DELETED,
    UNCHANGED,
    changed_fields,
    classify_page,
    classify_response,
    gone_rules,
)
from archive.index import Index
from archive.models import article_events, articles, captures, crawls, open_index
from archive.recovery import RepairReport, drop_dangling
from archive.textdiff import inline, side_by_side, unified, width
from crawler.schedule.revisit import Candidate, budget, due, interval, parse_schedule, pushed_down
from demo.mutations import JSL_CHALLENGE

ARTICLE = "http://www.example.gov.cn/xfxw/202001/t20200115_4521.html"
NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(("status", "location", "body", "kind"), [
    (304, None, b"", UNCHANGED),
    (404, None, b"<h1>404</h1>", DELETED),
    (410, None, b"", DELETED),
    (302, "/", b"", REDIRECTED_AWAY),
    (301, "http://www.example.gov.cn/index.html", b"", REDIRECTED_AWAY),
    (302, "../index_2.html", b"", REDIRECTED_AWAY),
    (301, "/xfxw/202001/t20200115_4521_new.html", b"", MOVED),
    (521, None, JSL_CHALLENGE, BLOCKED),
    (200, None, b'<script src="/wzws-js/wzwsconfirm.js"></script>', BLOCKED),
    (503, None, b"busy", BLOCKED),
    (403, None, b"forbidden", BLOCKED),
    (302, None, b"", BLOCKED),
])
def test_responses_classify_by_status_location_and_challenge(status, location, body, kind):
    assert classify_response(ARTICLE, status, body, location)[0] == kind


def test_a_plain_200_needs_reading():
    assert classify_response(ARTICLE, 200, b"<html><p>an article</p></html>") is None


def test_gone_phrases_are_data():
    rules = gone_rules()
    assert {"页面不存在", "该信息已删除", "您访问的页面不存在", "信息已过期"} <= set(rules.phrases)
    assert rules.max_body_chars > 0 and rules.channel_paths


@pytest.mark.parametrize(("title", "body", "is_article", "page_text", "expected"), [
    ("页面不存在_示例消防网", "", False, "页面不存在 您访问的页面不存在或已被删除。 返回首页", "phrase: 页面不存在"),
    (None, None, False, "网站首页 通知公告", "no article on the page any more"),
    ("提示信息", "对不起，该信息已删除！", True, "", "phrase: 该信息已删除"),
    ("关于信息公开的通知", "信 息 已 过 期", True, "", "phrase: 信息已过期"),
])
def test_soft_deleted_pages(title, body, is_article, page_text, expected):
    assert classify_page(title, body, is_article, page_text) == (SOFT_DELETED, expected)


def test_a_long_article_that_mentions_a_phrase_is_not_soft_deleted():
    body = "市应急管理局提醒：若网站提示“页面不存在”，请拨打热线。" + "完成全年经济社会发展主要目标任务。" * 20
    assert classify_page("关于网站改版的公告", body, True) is None
    assert classify_page("关于“页面不存在”问题的说明", body, True) is None


def test_only_title_body_and_published_date_count_as_an_edit():
    old = {"title": "消防安全检查", "body": "第一段。\n第二段。", "published_at": "2020-01-15T08:39+08:00",
           "views": 10}
    chrome_only = {**old, "views": 99999, "body": "第一段。\n\n  第二段。 "}
    assert changed_fields(old, chrome_only) == []
    assert changed_fields(old, {**old, "body": "第一段。\n第二段有更正。"}) == ["body"]
    assert changed_fields(old, {**old, "title": "消防安全大检查"}) == ["title"]
    assert changed_fields(old, {**old, "published_at": "2020-01-16T08:39+08:00"}) == ["published_at"]
    # A line learned as the site's template since the old version was stored is not an edit.
    assert changed_fields(old, {**old, "body": "第一段。\n第二段。\n扫一扫在手机打开当前页"},
                          {"扫一扫在手机打开当前页"}) == []


def test_schedule_tiers():
    tiers = parse_schedule("7:1 90:7 *:30")
    assert [interval(tiers, age).days for age in (0, 7, 8, 90, 91, 4000)] == [1, 1, 7, 7, 30, 30]
    for bad in ("7:1", "7:1 x:3 *:30", "*:0", ""):
        with pytest.raises(ValueError, match="REVISIT_SCHEDULE"):
            parse_schedule(bad)


def candidate(url: str, published_days: float, checked_days: float, gone: bool = False) -> Candidate:
    return Candidate(url, NOW - timedelta(days=max(published_days, checked_days)), NOW - timedelta(days=checked_days),
                     NOW - timedelta(days=published_days), gone)


def test_young_articles_are_due_often_old_ones_rarely():
    tiers = parse_schedule("7:1 90:7 *:30")
    articles_ = [
        candidate("young-checked-yesterday", 3, 1),          # daily: due
        candidate("young-checked-today", 3, 0.1),            # not due
        candidate("month-old-checked-3-days-ago", 30, 3),    # weekly: not due
        candidate("month-old-checked-8-days-ago", 30, 8),    # due
        candidate("old-checked-20-days-ago", 400, 20),       # monthly: not due
        candidate("old-checked-40-days-ago", 400, 40),       # due, most overdue
        candidate("gone-checked-10-days-ago", 3, 10, gone=True),  # gone: monthly whatever its age
    ]
    # Most overdue first: 40 days on a 30-day interval, 8 on 7, 1 on 1.
    assert [c.url for c in due(articles_, tiers, NOW)] == [
        "old-checked-40-days-ago", "month-old-checked-8-days-ago", "young-checked-yesterday"]
    # A cron starting an hour earlier each day still re-checks daily.
    assert [c.url for c in due([candidate("a", 3, 1 - 1 / 24)], tiers, NOW)] == ["a"]


def test_lost_from_listing_first_listed_last():
    tiers = parse_schedule("7:1 90:7 *:30")
    items = [candidate("listed", 400, 45), candidate("unlisted", 400, 31), candidate("lost", 400, 1)]
    assert [c.url for c in due(items, tiers, NOW, lost={"lost"}, listed={"listed"})] == ["lost", "unlisted", "listed"]


def test_budget_is_a_share_of_all_requests_and_a_cap():
    assert budget(0.3, 500, 70) == 30  # 30 of 100 requests
    assert budget(0.3, 10, 70) == 10
    assert budget(1, 500, 0) == 500
    assert budget(0, 500, 1000) == 0
    share = 0.25
    for others in range(0, 200, 7):
        allowed = budget(share, 10**6, others)
        assert allowed <= share * (others + allowed)


def test_inline_diff_marks_chinese_characters():
    old, new = inline("应急管理部门负有重要职责。", "应急管理局负有重要职责。")
    assert (old, new) == ("应急管理[-部门-]负有重要职责。", "应急管理{+局+}负有重要职责。")
    old_lines, new_lines = ["不变。", "应急管理部门负有重要职责。"], ["不变。", "应急管理局负有重要职责。", "新增。"]
    lines = unified(old_lines, new_lines, "a", "b")
    assert lines == ["--- a", "+++ b", "@@ -1,2 +1,3 @@", " 不变。", "-应急管理[-部门-]负有重要职责。",
                     "+应急管理{+局+}负有重要职责。", "+新增。"]


def test_side_by_side_columns_line_up_with_wide_characters():
    rows = side_by_side(["应急管理部门负有为经济社会发展提供安全保障的重要职责。"], ["应急管理局负有职责。"], 60)
    # Each column is 28 terminal cells (a CJK character takes two), then the 3-cell gutter.
    assert width(rows[0].split(" | ")[0]) == 28 and rows[0].endswith(" | 应急管理{+局+}负有职责。")
    # The rest of the long paragraph wraps in the left column (the right one is done).
    assert "".join(row.split(" | ")[0] for row in rows).replace("[-", "").replace(
        "-]", "") == "应急管理部门负有为经济社会发展提供安全保障的重要职责。"


@pytest.fixture
def archive_with_events(tmp_path: Path):
    """An index holding one article in two versions, an edit and a deletion (no crawl)."""
    engine = open_index(index_url(tmp_path))
    with engine.begin() as conn:
        crawl = conn.execute(insert(crawls).values(spider="portal", site="s", started_at="2026-10-01T00:00:00Z",
                                                   status="finished")).inserted_primary_key[0]

        def capture(url: str, when: str, status: int = 200) -> int:
            return conn.execute(insert(captures).values(
                crawl_id=crawl, url=url, status=status, fetched_at=when, record_type="response",
                warc_file="a.warc.gz", warc_offset=len(url) + len(when) + status, warc_length=1,
                warc_record_id=f"<urn:{url}{when}>", method="GET")).inserted_primary_key[0]

        first = capture("http://s/a.html", "2026-10-01T00:00:00Z")
        second = capture("http://s/a.html", "2026-11-02T00:00:00Z")
        gone = capture("http://s/b.html", "2026-10-01T00:00:00Z")
        gone404 = capture("http://s/b.html", "2026-11-03T00:00:00Z", 404)
        old = conn.execute(insert(articles).values(capture_id=first, url="http://s/a.html", site="s", title="通知",
                                                   body="第一段。\n死亡3人。")).inserted_primary_key[0]
        conn.execute(insert(articles).values(capture_id=second, url="http://s/a.html", site="s", title="通知",
                                             body="第一段。\n死亡5人。"))
        b = conn.execute(insert(articles).values(capture_id=gone, url="http://s/b.html", site="s", title="旧闻",
                                                 body="正文。")).inserted_primary_key[0]
        conn.execute(insert(article_events), [
            {"url": "http://s/a.html", "site": "s", "kind": "edited", "detected_at": "2026-11-02T00:00:00Z",
             "crawl_id": crawl, "capture_id": second, "article_id": old, "previous_capture_id": first,
             "detail": "changed: body"},
            {"url": "http://s/b.html", "site": "s", "kind": "blocked", "detected_at": "2026-11-02T00:00:00Z",
             "crawl_id": crawl, "capture_id": None, "article_id": b, "previous_capture_id": gone,
             "detail": "TimeoutError"},
            {"url": "http://s/b.html", "site": "s", "kind": "deleted", "detected_at": "2026-11-03T00:00:00Z",
             "crawl_id": crawl, "capture_id": gone404, "article_id": b, "previous_capture_id": gone,
             "detail": "HTTP 404"},
        ])
    yield tmp_path, engine
    engine.dispose()


@pytest.mark.index
def test_views_answer_the_documented_questions(archive_with_events):
    _, engine = archive_with_events
    with engine.connect() as conn:
        status = {row.url: (row.status, row.gone, row.versions, row.last_kind)
                  for row in conn.execute(text("SELECT * FROM article_status"))}
        edits = conn.execute(text("SELECT old_body, new_body, old_fetched_at, new_fetched_at FROM article_edits")).all()
        deleted_per_site = conn.execute(text(
            "SELECT site, count(*) FROM article_events WHERE kind IN ('deleted', 'soft-deleted', 'redirected-away') "
            "AND substr(detected_at, 1, 7) = '2026-11' GROUP BY site")).all()
    assert status == {"http://s/a.html": ("edited", 0, 2, "edited"), "http://s/b.html": ("deleted", 1, 1, "deleted")}
    assert edits == [("第一段。\n死亡3人。", "第一段。\n死亡5人。", "2026-10-01T00:00:00Z", "2026-11-02T00:00:00Z")]
    assert deleted_per_site == [("s", 1)]


@pytest.mark.index
def test_index_api_and_cli_on_events(archive_with_events):
    path, engine = archive_with_events
    with Index(engine, path / "warc") as archive:
        assert [event["kind"] for event in archive.events()] == ["edited", "blocked", "deleted"]
        assert [event["kind"] for event in archive.events(kind=["deleted"], since="2026-11")] == ["deleted"]
        assert archive.events(since="2026-12") == []
        assert [version["body"] for version in archive.versions("http://s/a.html")] == ["第一段。\n死亡3人。",
                                                                                          "第一段。\n死亡5人。"]
        stats = archive.stats()["events"]
    assert stats == [("s", "2026-11", "blocked", 1), ("s", "2026-11", "deleted", 1), ("s", "2026-11", "edited", 1)]
    args = ["--archive", str(path), "--index", index_url(path)]
    diff = run([sys.executable, "-m", "archive.cli", "diff", "http://s/a.html", *args],
               capture_output=True, text=True, cwd=ROOT)
    assert diff.returncode == 0 and "-死亡[-3-]人。" in diff.stdout and "+死亡{+5+}人。" in diff.stdout
    one = run([sys.executable, "-m", "archive.cli", "diff", "http://s/b.html", *args],
              capture_output=True, text=True, cwd=ROOT)
    assert one.returncode == 1 and "only one version" in one.stderr and "Traceback" not in one.stderr


@pytest.mark.index
def test_repair_drops_a_dangling_capture_that_events_point_at(archive_with_events):
    _, engine = archive_with_events
    with engine.connect() as conn:
        event = conn.execute(text("SELECT capture_id, previous_capture_id FROM article_events "
                                  "WHERE kind = 'deleted'")).one()
    drop_dangling(engine, [event.capture_id, event.previous_capture_id], RepairReport())
    with engine.connect() as conn:
        after = conn.execute(text("SELECT kind, capture_id, previous_capture_id FROM article_events "
                                  "WHERE url = 'http://s/b.html' ORDER BY id")).all()
    assert after == [("blocked", None, None), ("deleted", None, None)]


def test_articles_pushed_off_the_end_of_a_page_are_not_evidence():
    before = ["s1", "a", "b", "c", "d", "e"]  # a sidebar entry, then the page's five entries
    # Two newer entries on top push d and e to the next page: same length, ends with c.
    assert pushed_down(before, ["s1", "x", "y", "a", "b", "c"], {"d", "e"}) == {"d", "e"}
    # e deleted, nothing moved up: the page shrank; e is evidence.
    assert pushed_down(before, ["s1", "a", "b", "c", "d"], {"e"}) == set()
    # e deleted and the list republished: f came up from the next page; e is evidence.
    assert pushed_down(before, ["s1", "a", "b", "c", "d", "f"], {"e"}) == set()
    # c deleted from the middle: not a tail at all.
    assert pushed_down(before, ["s1", "a", "b", "d", "e", "f"], {"c"}) == set()
