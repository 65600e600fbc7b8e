"""Attachments end to end: a loopback portal whose article links real documents and hostile
files is crawled; their text is searchable (a phrase found only in an attachment), listed by
``show``, saved as served, exported; every hostile file ends as its status; a re-crawl asks
for unchanged files conditionally and records a changed one as a new version and an event."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import select, update
from support import cli, index, run_crawl

from archive.index import Index
from archive.models import article_events, articles, attachments, captures, utc_iso
from demo.server import DemoServer
from demo.site import Route, Site, build_site

pytestmark = [pytest.mark.slow, pytest.mark.index]

FIXTURES = Path(__file__).parent / "fixtures" / "attachments"
TRUTH = tomllib.loads((FIXTURES / "truth.toml").read_text(encoding="utf-8"))
# URL path on the portal -> (fixture file, Content-Type the server claims, link text)
SERVED = {
    "/uploads/report.pdf": ("notice.pdf", "application/pdf", "关于印发实施方案的通知.pdf"),
    "/uploads/form.doc": ("notice.doc", "application/msword", "消防安全检查申报表.doc"),
    "/uploads/notice.docx": ("notice.docx", "application/octet-stream", "实施方案（修订稿）"),
    "/uploads/table.xlsx": ("table.xlsx", "application/vnd.ms-excel", "火灾统计表.xlsx"),
    "/uploads/table.xls": ("table.xls", "application/vnd.ms-excel", "火灾统计表（旧版）.xls"),
    "/uploads/notice.ofd": ("notice.ofd", "application/ofd", "通知（版式文件）.ofd"),
    "/uploads/bundle.zip": ("bundle.zip", "application/zip", "附件打包下载.zip"),
    "/uploads/scanned.pdf": ("scanned.pdf", "application/pdf", "扫描件.pdf"),
    "/uploads/encrypted.pdf": ("encrypted.pdf", "application/pdf", "加密文件.pdf"),
    "/uploads/truncated.pdf": ("truncated.pdf", "application/pdf", "残缺文件.pdf"),
    "/uploads/loop.pdf": ("loop.pdf", "application/pdf", "循环引用.pdf"),
    "/uploads/bomb.zip": ("bomb.zip", "application/zip", "压缩炸弹.zip"),
    "/uploads/wrongtype.pdf": ("wrongtype.pdf", "application/pdf", "其实是网页.pdf"),
    # A download script naming its file in the query, serving a WPS 文字 file (Word binary format).
    "/module/download/downfile.jsp?filename=notice.wps": ("notice.doc", "application/kswps", "实施方案.wps"),
}
PHRASES = {"notice.pdf": "特勤消防站装备统筹调配机制", "notice.ofd": "国家版式文档标准第二页",
           "table.xlsx": "滨海新区高层建筑火灾隐患", "bundle.zip": "压缩包内的申报说明"}


def portal() -> tuple[Site, str]:
    """The demo portal, its attachment article linking every served file; that article's path."""
    site = build_site(channels=2, articles_per_channel=6, per_page=5)
    links = "<br>".join(f'<a href="{path.replace("&", "&amp;")}">{title}</a>'
                        for path, (_, _, title) in SERVED.items())
    for path, route in list(site.routes.items()):
        if b'class="fj"' in route.body:
            start = route.body.index(b'<div class="fj">')
            end = route.body.index(b"</div>", start) + len(b"</div>")
            route.body = route.body[:start] + f'<div class="fj">附件：{links}</div>'.encode() + route.body[end:]
            article = path
    for path, (name, content_type, _) in SERVED.items():
        site.routes[path] = Route(headers=[("Content-Type", content_type)], body=(FIXTURES / name).read_bytes())
    return site, article


@dataclass
class Crawled:
    archive: Path
    site: Site
    server: DemoServer
    article: str  # the attachment article's URL


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    archive = tmp_path_factory.mktemp("attachments")
    site, path = portal()
    with DemoServer(site) as server:
        run_crawl(archive, f"start_url={server.url}", settings={"ATTACHMENT_TIMEOUT": "30"})
        yield Crawled(archive, site, server, server.url.rstrip("/") + path)


def rows_by_url(archive: Path) -> dict[str, dict]:
    with index(archive).connect() as conn:
        rows = conn.execute(select(attachments).order_by(attachments.c.id)).mappings().all()
    return {row["url"].split("/", 3)[3]: dict(row) for row in rows}


def test_every_file_ends_as_its_truth(crawled: Crawled) -> None:
    rows = rows_by_url(crawled.archive)
    for path, (name, content_type, _) in SERVED.items():
        row = rows[path.lstrip("/")]
        truth = TRUTH[name]
        assert (row["kind"], row["status"]) == (truth["type"], truth["status"]), (path, row["error"])
        assert row["content_type"] == content_type and row["size"] == (FIXTURES / name).stat().st_size
        for phrase in truth["phrases"]:
            assert phrase in (row["text"] or ""), (path, phrase)


def test_search_finds_a_phrase_that_is_only_in_an_attachment(crawled: Crawled) -> None:
    for name, phrase in PHRASES.items():
        articles_only = cli(crawled.archive, "search", phrase, "--format", "jsonl")
        assert articles_only.returncode == 1 and articles_only.stdout == ""  # in no article
        found = cli(crawled.archive, "search", phrase, "--in", "all", "--format", "jsonl")
        assert found.returncode == 0, found.stderr
        hits = [json.loads(line) for line in found.stdout.splitlines()]
        served = [path for path, served in SERVED.items() if served[0] == name]
        assert {hit["attachment_url"].split("/", 3)[3] for hit in hits} >= {path.lstrip("/") for path in served}
        for hit in hits:  # each hit names the attachment and its article
            assert hit["found_in"] == "attachment" and hit["url"] == crawled.article
            assert hit["attachment_title"] == SERVED["/" + hit["attachment_url"].split("/", 3)[3]][2]
            assert f"【{phrase}" in hit["snippet"] or phrase[:4] in hit["snippet"]
    with Index(index(crawled.archive), crawled.archive / "warc") as archive:
        hits = archive.search(PHRASES["notice.ofd"], within="attachments", site="127.0.0.1")
        assert [hit["attachment_kind"] for hit in hits] == ["ofd"]
        assert archive.search(PHRASES["notice.ofd"], within="attachments", site="elsewhere") == []


def test_show_lists_and_attachments_saves_the_files_as_served(crawled: Crawled, tmp_path: Path) -> None:
    shown = cli(crawled.archive, "show", crawled.article)
    assert shown.returncode == 0 and f"attachments: {len(SERVED)}" in shown.stdout
    assert "关于印发实施方案的通知.pdf" in shown.stdout and "[pdf, ok, " in shown.stdout
    out = tmp_path / "files"
    saved = cli(crawled.archive, "attachments", crawled.article, "-o", str(out))
    assert saved.returncode == 0, saved.stderr
    files = sorted(out.iterdir())
    assert len(files) == len(SERVED)
    by_bytes = {(FIXTURES / name).read_bytes() for name, _, _ in SERVED.values()}
    assert all(path.read_bytes() in by_bytes for path in files)
    assert (out / "13-notice.wps").read_bytes() == (FIXTURES / "notice.doc").read_bytes()
    again = cli(crawled.archive, "attachments", crawled.article, "-o", str(out))
    assert again.returncode == 2 and "exists: add --force" in again.stderr  # -o never destroys
    inside = cli(crawled.archive, "attachments", crawled.article, "-o", str(crawled.archive / "warc" / "x"))
    assert inside.returncode == 2 and "archive's own files" in inside.stderr


def test_export_can_include_attachment_text(crawled: Crawled) -> None:
    exported = cli(crawled.archive, "export", "--format", "jsonl", "--attachments")
    assert exported.returncode == 0, exported.stderr
    rows = {row["url"]: row for row in map(json.loads, exported.stdout.splitlines())}
    text = rows[crawled.article]["attachment_text"]
    assert all(phrase in text for phrase in PHRASES.values())
    assert "== 火灾统计表.xlsx (" in text
    plain = cli(crawled.archive, "export", "--format", "jsonl")
    assert "attachment_text" not in plain.stdout


def test_recrawl_asks_conditionally_and_records_a_changed_file(crawled: Crawled) -> None:
    """Two days later the portal replaced one file; the article is re-checked (daily schedule)
    and so are its files: the unchanged ones answer 304 (nothing downloaded), the changed one
    is a new version with an attachment-changed event naming both captures."""
    archive, server = crawled.archive, crawled.server
    then = utc_iso(datetime.now(UTC) - timedelta(days=2))
    with index(archive).begin() as conn:
        conn.execute(update(captures).values(fetched_at=then))
    before = len(server.requests)
    crawled.site.routes["/uploads/table.xlsx"].body = (FIXTURES / "notice.docx").read_bytes()
    run_crawl(archive, f"start_url={server.url}", settings={"REVISIT_SCHEDULE": "*:1", "REVISIT_SHARE": "1"})
    second = [entry for entry in server.requests[before:] if entry.path in SERVED]
    asked = {entry.path: dict(entry.headers) for entry in second}
    assert "/uploads/report.pdf" in asked and "If-None-Match" in asked["/uploads/report.pdf"]
    assert len([entry for entry in second if entry.path == "/uploads/report.pdf"]) == 1
    rows = rows_by_url(archive)
    with index(archive).connect() as conn:
        versions = conn.execute(select(attachments.c.url, attachments.c.kind, attachments.c.id)
                                .order_by(attachments.c.id)).all()
        events = conn.execute(select(article_events)
                              .where(article_events.c.kind == "attachment-changed")).mappings().all()
        article_id = conn.execute(select(articles.c.id).where(articles.c.url == crawled.article)).scalar()
    changed = [row for row in versions if row.url.endswith("/uploads/table.xlsx")]
    assert [row.kind for row in changed] == ["xlsx", "docx"]
    assert sum(1 for row in versions if row.url.endswith("/uploads/report.pdf")) == 1  # a 304: no new version
    assert rows["uploads/table.xlsx"]["id"] == changed[-1].id
    assert len(events) == 1 and events[0]["url"] == crawled.article and events[0]["article_id"] == article_id
    assert events[0]["detail"].endswith("/uploads/table.xlsx")
    assert events[0]["capture_id"] != events[0]["previous_capture_id"]
    listed = cli(archive, "changes", "--kind", "attachment-changed", "--format", "jsonl")
    assert listed.returncode == 0 and "table.xlsx" in listed.stdout
    shown = cli(archive, "show", crawled.article)
    assert "newer version" in shown.stdout  # the article version captured first links the old file


@pytest.mark.crawl  # when files are fetched: the crawl's
def test_files_never_take_a_pages_politeness_turn(tmp_path: Path) -> None:
    """An article's file is fetched in the article's page visit (issue 20, as requisites are in
    issue 26): right after its article, on the host's requisite slot, while the pages keep their
    pace. Before, files waited for page turns of their own: all of them after the last page,
    each costing the crawl a politeness delay."""
    delay = 0.4
    site = build_site(channels=1, articles_per_channel=8, per_page=4, extras=False)
    files = {}
    for n, path in enumerate(sorted(site.articles)):
        upload = f"/uploads/{n}.docx"
        files[upload] = path
        route = site.routes[path]
        route.body = route.body.replace(b"</body>", f'<a href="{upload}">附件{n}.docx</a></body>'.encode(), 1)
        site.routes[upload] = Route(headers=[("Content-Type", "application/octet-stream")],
                                    body=(FIXTURES / "notice.docx").read_bytes())
    with DemoServer(site) as server:
        run_crawl(tmp_path, f"start_url={server.url}",
                  settings={"DOWNLOAD_DELAY": str(delay), "RANDOMIZE_DOWNLOAD_DELAY": "0",
                            "CONCURRENT_REQUESTS_PER_DOMAIN": "1", "AUTOTHROTTLE_ENABLED": "0"})
        log = list(server.requests)
    asked = {entry.path: entry.at for entry in log}
    assert set(files) <= set(asked) and set(site.articles) <= set(asked)
    # Each file within its article's visit (old: all after the last article, 8 turns later or more):
    # after its article is parsed (in the page worker: slower on a busy machine, 0.82 s once in CI).
    late = {upload: round(asked[upload] - asked[article], 2) for upload, article in files.items()
            if not 0 < asked[upload] - asked[article] < 3 * delay}
    assert not late, late
    # The pages keep one turn each: no gap between two of them holds a file's turn.
    pages = [entry.at for entry in log if entry.path in site.articles or entry.path in site.listings]
    assert max(b - a for a, b in pairwise(pages)) < 1.5 * delay
    rows = rows_by_url(tmp_path)
    assert {upload: rows[upload.lstrip("/")]["status"] for upload in files} == dict.fromkeys(files, "ok")
