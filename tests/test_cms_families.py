"""Every CMS family of the catalogue, crawled from its home page with no site profile.

Each fixture portal (tests/cms_portals.py) knows its articles and logs every request, so
these tests check what the issue asks of a crawl: every article archived and indexed, no
hit counter ever requested, every WARC file valid by ``warcio check``, the family in the
crawl stats; plus the listing mechanisms' own promises (POST bodies archived and keyed as
cdxj-indexer keys them, continuation pages joined to their article, challenges flagged,
uncovered channels reported, incremental paging of endpoints).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from cms_portals import BUILDERS, PortalServer
from sqlalchemy import text
from support import ROOT, archive_args, index, run_crawl, warc_files, warcio_check
from warcio.archiveiterator import ArchiveIterator
from zygote import run

from archive.warc_reader import read_record

# Most crawls run their page work inline (quicker to start); these two go through the page
# worker process, as production does, so endpoint specs and continuations cross it.
WORKER_PORTALS = {"hanweb", "trs_a"}
FAMILY_PORTALS = [name for name in BUILDERS if name not in ("gates", "uncovered")]
# Tests that read the same portal's crawl (the `crawl` cache below) run on one xdist worker,
# so each portal is crawled once.
SHARED_CRAWLS = {"hanweb": "cms-hanweb", "trs_a": "cms-trs_a", "trs_c": "cms-trs_c",
                 **dict.fromkeys(("dedecms", "empirecms", "jeecms", "phpcms", "vsb"), "cms-counters")}


def on_its_worker(name: str):
    return pytest.param(name, marks=pytest.mark.xdist_group(SHARED_CRAWLS.get(name, f"cms-{name}")))


@dataclass
class Crawled:
    server: PortalServer
    archive: Path
    log: str

    def stats(self, crawl: int = -1) -> dict:
        with index(self.archive).connect() as conn:
            rows = [row[0] for row in conn.execute(text("SELECT stats FROM crawls ORDER BY id"))]
        value = rows[crawl]
        return json.loads(value) if isinstance(value, str) else value

    def rows(self, sql: str) -> list:
        with index(self.archive).connect() as conn:
            return list(conn.execute(text(sql)))


_crawls: dict[str, Crawled] = {}


def crawl(name: str, tmp_path_factory: pytest.TempPathFactory) -> Crawled:
    """One crawl per portal per session, from its home page, with no profile."""
    if name not in _crawls:
        server = PortalServer(name).start()
        archive = tmp_path_factory.mktemp(f"cms-{name}")
        settings = {"PAGE_WORKERS": "1" if name in WORKER_PORTALS else "0"}
        try:
            result = run_crawl(archive, f"start_url={server.url}", settings=settings, timeout=300)
        finally:
            server.stop()
        _crawls[name] = Crawled(server, archive, result.stderr)
    return _crawls[name]


@pytest.mark.crawl
@pytest.mark.slow
@pytest.mark.parametrize("name", [on_its_worker(name) for name in FAMILY_PORTALS])
def test_a_portal_of_each_family_is_archived_whole(name: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    crawled = crawl(name, tmp_path_factory)
    portal = crawled.server.portal
    indexed = {row.url for row in crawled.rows("SELECT url FROM articles")}
    assert indexed == portal.articles, (sorted(portal.articles - indexed)[:5], sorted(indexed - portal.articles)[:5])
    assert len(portal.articles) >= 10
    assert crawled.server.counter_hits() == []
    warcio_check(warc_files(crawled.archive))
    host = crawled.server.url.split("//", 1)[1].rstrip("/")
    stats = crawled.stats()
    assert stats[f"discover/family/{host}"] == portal.family
    assert stats["summary"]["families"] == {host: portal.family}
    assert [site["family"] for site in stats["sites"].values()] == [portal.family]  # per portal too
    assert f"site {host} recognised as {portal.family}" in crawled.log
    assert stats["summary"]["uncovered"] == {}
    # Every article row points at the 200 capture of its own URL.
    bad = crawled.rows("SELECT a.url FROM articles a JOIN captures c ON c.id = a.capture_id "
                       "WHERE c.url != a.url OR c.status != 200")
    assert bad == []


@pytest.mark.crawl
@pytest.mark.slow
@pytest.mark.xdist_group("cms-counters")
def test_link_families_never_request_their_hit_counters(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The pages link and script their counters; the guard drops every one, counted."""
    for name in ("dedecms", "empirecms", "jeecms", "phpcms", "vsb"):
        crawled = crawl(name, tmp_path_factory)
        assert crawled.stats()["summary"]["counters_not_requested"] >= 1, name
        assert crawled.server.counter_hits() == [], name
        assert "hit counter, never requested" in crawled.log


@pytest.mark.crawl
@pytest.mark.slow
@pytest.mark.xdist_group("cms-hanweb")
def test_hanweb_post_windows_are_archived_with_their_body(tmp_path_factory: pytest.TempPathFactory) -> None:
    crawled = crawl("hanweb", tmp_path_factory)
    posts = [entry for entry in crawled.server.requests if entry.method == "POST"]
    # Column 102: 25 records in windows of 9 (perPage 3 x groupSize 3) -> 3 windows; column 103:
    # 20 records in windows of 6 -> 4 windows. No window past the stated total is asked for.
    assert sorted(entry.target.split("?")[0] for entry in posts) == (
        ["/module/jpage/dataproxy.jsp"] * 3 + ["/module/jslib/jquery/jpage/dataproxy.jsp"] * 4)
    assert all(b"columnid=" in entry.body for entry in posts)
    rows = crawled.rows("SELECT url, method, request_body, warc_file, request_offset FROM captures "
                        "WHERE method = 'POST' ORDER BY id")
    assert len(rows) == 7
    for row in rows:
        record, body = read_record(crawled.archive / "warc" / row.warc_file, row.request_offset)
        assert record.rec_type == "request" and record.http_headers.protocol == "POST"
        assert b"columnid=" in body and "columnid=" in row.request_body
    # GET page=N (nextgroup) and morecolumndataproxy: pages until the stated page count.
    gets = [entry.target for entry in crawled.server.requests
            if "dataproxy.jsp" in entry.target and entry.method == "GET"]
    assert sum("columnid=101" in target for target in gets) == 4
    assert sum("morecolumndataproxy" in target for target in gets) == 3


@pytest.mark.crawl
@pytest.mark.slow
@pytest.mark.xdist_group("cms-hanweb")
def test_post_captures_in_cdxj_match_cdxj_indexer(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Our CDXJ keys POST captures by their body, with method/requestBody, as cdxj-indexer does."""
    crawled = crawl("hanweb", tmp_path_factory)
    ours = run([sys.executable, "-m", "archive.cli", "cdxj", *archive_args(crawled.archive)],
               capture_output=True, text=True, cwd=ROOT, check=True).stdout
    indexer = Path(sys.executable).with_name("cdxj-indexer")
    theirs = subprocess.run([str(indexer), "--post-append", *[path.name for path in warc_files(crawled.archive)]],
                            capture_output=True, text=True, cwd=crawled.archive / "warc", check=True).stdout

    def posts(cdxj: str) -> set[tuple]:
        out = set()
        for line in cdxj.splitlines():
            key, _, fields = line.split(" ", 2)
            data = json.loads(fields)
            if data.get("method") == "POST":
                out.add((key, data["filename"], data["offset"], data["requestBody"]))
        return out

    assert len(posts(theirs)) == 7
    assert posts(ours) == posts(theirs)


@pytest.mark.crawl
@pytest.mark.slow
@pytest.mark.xdist_group("cms-trs_a")
def test_continuation_page_text_joins_its_article(tmp_path_factory: pytest.TempPathFactory) -> None:
    crawled = crawl("trs_a", tmp_path_factory)
    [(url, marker)] = crawled.server.portal.continuations.items()
    [row] = crawled.rows(f"SELECT body FROM articles WHERE url = '{url}'")
    assert marker in row.body
    continuation = url.replace(".html", "_1.html")
    assert crawled.rows(f"SELECT id FROM articles WHERE url = '{continuation}'") == []
    assert crawled.rows(f"SELECT status FROM captures WHERE url = '{continuation}'")[0].status == 200


@pytest.mark.slow
@pytest.mark.xdist_group("cms-trs_c")
@pytest.mark.crawl
def test_trs_inline_count_beats_the_stale_commented_call(tmp_path_factory: pytest.TempPathFactory) -> None:
    crawled = crawl("trs_c", tmp_path_factory)
    fetched = {entry.target for entry in crawled.server.requests}
    assert {f"/zcb/gjzc/index_{n}.html" for n in range(1, 7)} <= fetched
    assert "/zcb/gjzc/index_7.html" not in fetched


@pytest.mark.crawl
@pytest.mark.slow
def test_challenges_are_archived_flagged_and_named(tmp_path_factory: pytest.TempPathFactory) -> None:
    """412/200 瑞数, 521 加速乐, 418 创宇盾, 200 WZWS, all served gzip-encoded."""
    crawled = crawl("gates", tmp_path_factory)
    base = crawled.server.url.rstrip("/")
    flags = {row.url[len(base):]: (row.status, row.flags)
             for row in crawled.rows("SELECT url, status, flags FROM captures WHERE flags IS NOT NULL")}
    assert flags == {"/rs412/index.html": (412, "challenge:ruishu"), "/rs200/index.html": (200, "challenge:ruishu"),
                     "/jsl/index.html": (521, "challenge:jsl"), "/cyd/index.html": (418, "challenge:chuangyudun"),
                     "/wzws/index.html": (200, "challenge:wzws")}
    # Served gzip-encoded (so detection had to decode them), archived as received: the
    # Content-Encoding header kept and the stored block still gzip.
    for row in crawled.rows("SELECT warc_file, warc_offset FROM captures WHERE flags IS NOT NULL"):
        with open(crawled.archive / "warc" / row.warc_file, "rb") as stream:
            stream.seek(row.warc_offset)
            record = next(iter(ArchiveIterator(stream)))
            assert record.http_headers.get_header("Content-Encoding") == "gzip"
            assert record.raw_stream.read(2) == b"\x1f\x8b"
    summary = crawled.stats()["summary"]
    # One plain capture per gate; a browser, where one is installed, tried them too (its captures
    # are flagged the same and marked as the browser's: crawler/fetch/browser/).
    plain = crawled.rows("SELECT count(*) FROM captures WHERE flags LIKE 'challenge:%' AND browser IS NULL")
    assert plain[0][0] == 5 and summary["challenges"] >= 5
    if summary["browser"]:  # a plain browser gets past none of these stubs
        assert summary["browser"]["not_passed"] >= 1 and "rendered" not in summary["browser"]
    assert {url[len(base):]: kind for url, kind in summary["behind_challenge"].items()} == {
        "/rs412/index.html": "ruishu", "/rs200/index.html": "ruishu", "/jsl/index.html": "jsl",
        "/cyd/index.html": "chuangyudun", "/wzws/index.html": "wzws"}
    indexed = {row.url for row in crawled.rows("SELECT url FROM articles")}
    assert indexed == crawled.server.portal.articles
    assert "anti-bot challenge" in crawled.log
    warcio_check(warc_files(crawled.archive))


@pytest.mark.crawl
@pytest.mark.slow
def test_what_cannot_be_covered_is_reported(tmp_path_factory: pytest.TempPathFactory) -> None:
    crawled = crawl("uncovered", tmp_path_factory)
    base = crawled.server.url.rstrip("/")
    uncovered = {url[len(base):]: why for url, why in crawled.stats()["summary"]["uncovered"].items()}
    assert uncovered == {
        "/dynamic/zwgk/govInfoPub.html?categorynum=003002":
            "epoint: script endpoint /EWB-FRONT/rest/lightfrontaction/getgovinfolist",
        "/zwdt/index.html": "epoint: script endpoint /api/news/list",
        "/kong/index.html": """no articles from this channel (fingerprint 'createPageHTML(3, 0, "index", "html"')""",
    }
    for where in uncovered:
        assert f"not covered: {base}{where}" in crawled.log
    assert {row.url for row in crawled.rows("SELECT url FROM articles")} == crawled.server.portal.articles


@pytest.mark.crawl
@pytest.mark.slow
@pytest.mark.parametrize("name", ["gkmlpt", "hanweb"])
def test_recrawl_stops_paging_endpoints_at_known_articles(name: str, tmp_path: Path) -> None:
    """A second crawl into the same archive asks each endpoint for its first page only (all
    known), conditionally where it is a GET, and fetches no article again."""
    archive = tmp_path / "archive"
    with PortalServer(name) as server:
        run_crawl(archive, f"start_url={server.url}", settings={"PAGE_WORKERS": "0"}, timeout=300)
        first = len(server.requests)
        run_crawl(archive, f"start_url={server.url}", settings={"PAGE_WORKERS": "0"}, timeout=300)
        second = server.requests[first:]
    article_paths = {url.split("/", 3)[3] for url in server.portal.articles}
    assert not [entry for entry in second if entry.target.lstrip("/") in article_paths]
    endpoint = "/gkmlpt/api/" if name == "gkmlpt" else "dataproxy.jsp"
    first_pages = [entry for entry in second if endpoint in entry.target]
    # One page per endpoint: gkmlpt 2 categories; Hanweb 1 GET, 2 POST columns, 1 merged column.
    assert len(first_pages) == (2 if name == "gkmlpt" else 4), [entry.target for entry in first_pages]
    crawled = Crawled(server, archive, "")
    stats = crawled.stats()
    assert stats["incremental/pagination_stopped"] >= len(first_pages)
    assert stats["summary"]["articles_new"] == 0 and stats["summary"]["uncovered"] == {}
    if name == "gkmlpt":
        assert stats["summary"]["not_modified"] >= 2  # the JSON pages were asked conditionally
    shutil.rmtree(archive)
