"""The index at scale: bigram search against known truth, migration 0008, on-demand lookups,
one "last good capture", and one article row per text across writers (SQLite and PostgreSQL;
crawls writing at once: tests/test_concurrent_writers.py)."""

from __future__ import annotations

import hashlib
import random
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, func, insert, select
from support import ROOT, index_url
from zygote import run

from archive import search
from archive.history import History
from archive.index import Index
from archive.lookup import ArchiveLookup
from archive.models import MIGRATIONS, articles, captures, crawls, open_index, schema_revision, upgrade
from archive.records import HttpExchange
from archive.store import ArchiveWriter, ArticleRow, index_rows

WORDS = ["消防", "安全", "检查", "应急", "管理", "宣传", "演练", "社区", "火灾", "隐患", "排查", "通道", "救援",
         "队伍", "培训", "值班", "GB", "Fire"]
PHRASES = ["消防", "隐患", "消防安全", "安全检", "消防安全检查工作", "全面开展隐患排查", "fire", "GB50016", "火"]


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def _corpus(count: int = 400) -> list[dict]:
    rng = random.Random(7)
    rows = []
    for number in range(count):
        body = "".join(rng.choice(WORDS) for _ in range(rng.randint(5, 60)))
        if number % 9 == 0:
            body += "，全面开展隐患排查，落实消防安全检查工作。"
        if number % 13 == 0:
            body += " 依据GB50016规范。"
        if number % 17 == 0:
            body += "安全，检查"  # both bigrams of 安全检, never adjacent: not a hit
        day = rng.randrange(1, 29)
        published = None if number % 23 == 0 else (
            f"2020-{1 + number % 12:02d}-{day:02d}" if number % 5 == 0
            else f"2020-{1 + number % 12:02d}-{day:02d}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00+08:00")
        rows.append({"url": f"http://x.gov.cn/a/{number}.html", "site": "x.gov.cn" if number % 3 else "y.gov.cn",
                     "channel": "要闻", "title": f"标题{number}" + ("消防" if number % 7 == 0 else ""),
                     "published_at": published, "body": body, "body_digest": _digest(body)})
    return rows


def _fill(url: str, rows: list[dict]) -> None:
    engine = open_index(url)
    with engine.begin() as conn:
        crawl = conn.execute(insert(crawls).values(spider="t", started_at="2020-01-01T00:00:00Z",
                                                   status="finished")).inserted_primary_key[0]
        capture_rows, article_rows = [], []
        for number, row in enumerate(rows):
            rid = f"<urn:uuid:t-{number}>"
            capture_rows.append({"crawl_id": crawl, "url": row["url"], "status": 200, "content_type": "text/html",
                                 "fetched_at": "2020-01-01T00:00:00Z", "warc_date": None, "payload_digest": None,
                                 "record_type": "response", "warc_file": "x.warc.gz", "warc_offset": number,
                                 "warc_length": 1, "warc_record_id": rid, "method": "GET", "payload_length": 1,
                                 "ip_address": None, "truncated": None, "request_offset": None,
                                 "request_length": None, "etag": None, "last_modified": None, "flags": None,
                                 "ref": None})
            article_rows.append({"rid": rid, **row})
        index_rows(conn, capture_rows, article_rows)
    engine.dispose()


def _truth(rows: list[dict], phrase: str, site: str | None = None) -> list[str]:
    def holds(text: str | None) -> bool:
        return phrase.lower() in (text or "").lower() if phrase.isascii() else phrase in (text or "")

    hits = [(row["published_at"] or "", number + 1, row["url"]) for number, row in enumerate(rows)
            if (holds(row["title"]) or holds(row["body"])) and (site is None or row["site"] == site)]
    return [url for _, _, url in sorted(hits, reverse=True)]


@pytest.mark.index
# A small window and probe make most searches go past them to the index (the probe of 3
# finds nothing of a rare phrase; of a common one it finds some, the window of 7 too few).
@pytest.mark.parametrize(("window", "probe"), [(search.PG_WINDOW, search.PG_PROBE), (7, 3)])
def test_search_finds_exactly_the_phrase_newest_first(tmp_path: Path, monkeypatch, window: int, probe: int):
    monkeypatch.setattr(search, "PG_WINDOW", window)
    monkeypatch.setattr(search, "PG_PROBE", probe)
    rows = _corpus()
    url = index_url(tmp_path)
    _fill(url, rows)
    index = Index(open_index(url, create=False), tmp_path / "warc")
    for phrase in PHRASES:
        truth = _truth(rows, phrase)
        assert truth, phrase
        for limit in (5, 20, 1000):
            hits = index.search(phrase, limit=limit)
            assert [hit["url"] for hit in hits] == truth[:limit], (phrase, limit)
        assert phrase.lower() in hits[0]["snippet"].lower() or phrase in hits[0]["title"]
    only_y = index.search("消防安全", site="y.gov.cn")
    assert [hit["url"] for hit in only_y] == _truth(rows, "消防安全", "y.gov.cn")[:20]
    assert index.search("完全不存在的短语") == []
    assert index.search("安全检")  # found where adjacent; the planted "安全，检查" rows are not hits
    assert not {hit["url"] for hit in index.search("安全检", limit=1000)} - set(_truth(rows, "安全检"))
    index.close()


@pytest.mark.index
def test_migration_0008_upgrades_an_index_with_data(tmp_path: Path):
    url = index_url(tmp_path)
    old = create_engine(url)
    upgrade(old, "0003")
    rows = _corpus(60)
    with old.begin() as conn:
        crawl = conn.execute(insert(crawls).values(spider="portal", started_at="2020-01-01T00:00:00Z",
                                                   status="finished")).inserted_primary_key[0]
        for number, row in enumerate(rows + rows[:3]):  # the first three indexed twice, as two crawls did
            capture = conn.execute(insert(captures).values(
                crawl_id=crawl, url=row["url"], status=200, fetched_at="2020-01-01T00:00:00Z",
                record_type="response", warc_file="a.warc.gz", warc_offset=number, warc_length=1,
                warc_record_id=f"<urn:{number}>", method="GET")).inserted_primary_key[0]
            conn.execute(insert(articles).values(capture_id=capture, **row))
    old.dispose()
    result = run([sys.executable, "-m", "archive.cli", "db", "upgrade", "--index", url],
                 capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    engine = open_index(url, create=False)
    # The newest migration (0008 or one added after it).
    assert schema_revision(engine) == ScriptDirectory(str(MIGRATIONS)).get_current_head()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(articles)).scalar_one() == len(rows)
    index = Index(engine, tmp_path / "warc")
    for phrase in ("消防", "安全检", "消防安全检查工作"):
        assert [hit["url"] for hit in index.search(phrase, limit=100)] == _truth(rows, phrase)[:100], phrase
    # New articles written after the upgrade are searchable too, and the rule holds.
    _fill(url, [{**rows[0], "url": "http://x.gov.cn/new.html"}, rows[1]])
    assert "http://x.gov.cn/new.html" in [hit["url"] for hit in index.search(rows[0]["body"][:2], limit=1000)]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(articles)).scalar_one() == len(rows) + 1
    index.close()


def _exchange(url: str, status: int, body: bytes, etag: str | None = None, truncated: str | None = None,
              content_type: str = "text/html; charset=utf-8") -> HttpExchange:
    headers = [(b"Content-Type", content_type.encode())] + ([(b"ETag", etag.encode())] if etag else [])
    return HttpExchange(url=url, status=status, response_headers=headers, body=body, truncated=truncated)


def _writer(tmp_path: Path) -> ArchiveWriter:
    writer = ArchiveWriter(tmp_path / "warc", index_url(tmp_path), warcinfo={"software": "test"}, fsync=False)
    writer.start_crawl("portal", "x", "test")
    return writer


def _finish(writer: ArchiveWriter) -> None:
    writer.drain()
    writer.finish_crawl("finished", {})


GOOD = "<html><body><p>第一版：消防安全检查全文。</p></body></html>".encode()
CHALLENGE = b"<html><script src='/wzws_cid.js'>var wzwschallenge=1;</script></html>"


@pytest.mark.index
def test_a_304_is_answered_from_the_last_good_capture_not_a_truncated_or_challenge_one(tmp_path: Path):
    page = "http://x.gov.cn/list.html"
    writer = _writer(tmp_path)
    good = _exchange(page, 200, GOOD, etag='"v1"')
    writer.add_exchange(good)
    _finish(writer)
    writer = _writer(tmp_path)
    writer.add_exchange(_exchange(page, 200, GOOD[:20], etag='"cut"', truncated="disconnect"))
    writer.add_exchange(_exchange(page, 200, CHALLENGE, etag='"challenge"'))
    _finish(writer)
    engine = open_index(index_url(tmp_path), create=False)
    history = History.load(engine, tmp_path / "warc", "x")
    assert history.validators.get(page) == ('"v1"', None)  # not the truncated or the challenge ETag
    assert history.payload(page).body == GOOD
    # The writer, too: a 304 now is a revisit of the good capture.
    writer = _writer(tmp_path)
    writer.add_exchange(_exchange(page, 304, b""))
    _finish(writer)
    with engine.connect() as conn:
        revisit = conn.execute(select(captures).where(captures.c.status == 304)).one()
        original = conn.execute(select(captures).where(captures.c.id == revisit.refers_to_id)).one()
        flagged = conn.execute(select(captures.c.flags).where(captures.c.flags.isnot(None))).scalars().all()
    assert original.warc_record_id == good.record_id
    assert sorted(flagged) == ["challenge:wzws", "truncated"]
    index = Index(engine, tmp_path / "warc")
    assert index.capture(page)["id"] == original.id  # `show URL` prefers the good capture too
    assert index.read_payload(index.capture(revisit.id)) == GOOD
    engine.dispose()


@pytest.mark.index
def test_history_lookups_answer_what_the_loaded_sets_did(tmp_path: Path):
    writer = _writer(tmp_path)
    pages = [f"http://x.gov.cn/p{n}.html" for n in range(12)]
    for number, page in enumerate(pages):
        if number % 4 == 3:
            continue  # never captured
        pdf = number % 4 == 2
        writer.add_exchange(_exchange(page, 404 if number == 5 else 200, f"第{number}页".encode(),
                                      etag=f'"e{number}"' if number % 2 else None,
                                      content_type="application/pdf" if pdf else "text/html"))
    _finish(writer)
    engine = open_index(index_url(tmp_path), create=False)
    with engine.begin() as conn:
        rid = conn.execute(select(captures.c.warc_record_id).where(captures.c.url == pages[0])).scalar_one()
        index_rows(conn, [], [{"rid": rid, "url": pages[0], "title": "t", "body": "消防", "published_at": None,
                               "body_digest": _digest("消防")}])
    history = History.load(engine, tmp_path / "warc", "x")
    with engine.connect() as conn:
        # What History.load used to hold in memory, computed the old way.
        captured = set(conn.execute(select(captures.c.url).distinct()).scalars())
        known = set(conn.execute(select(articles.c.url).distinct()).scalars())
    assert history and history.complete  # the site's last crawl finished
    for page in pages + ["http://elsewhere.gov.cn/"]:
        assert (page in history.captured) == (page in captured), page
        assert (page in history.known_articles) == (page in known), page
    assert history.new_links(pages) == [page for page in pages if page not in captured]
    assert [page for page in pages if page in history.documents] == [pages[2], pages[6], pages[10]]
    assert history.validators.get(pages[1]) == ('"e1"', None)
    assert history.validators.get(pages[5]) is None  # a 404 is not a good capture
    assert history.validators.get(pages[0]) is None  # no validators sent
    engine.dispose()


@pytest.mark.index
def test_text_lookups_skip_sites_without_articles_yet_answer_right(tmp_path: Path):
    """The dedup lookup asks once whether a site has any article; its answers stay the ones a
    per-article query gives, for the site that has articles and the one that has none."""
    writer = _writer(tmp_path)
    page = "http://x.gov.cn/a/1.html"
    exchange = _exchange(page, 200, "消防".encode())
    writer.add_exchange(exchange)
    writer.add_article(ArticleRow(exchange.record_id, {"url": page, "site": "x", "title": "t", "body": "消防",
                                                       "published_at": None, "body_digest": _digest("消防")}))
    _finish(writer)
    engine = open_index(index_url(tmp_path), create=False)
    lookup = ArchiveLookup(engine)
    assert lookup.has_text(page, _digest("消防"), "x")
    assert not lookup.has_text(page, _digest("火灾"), "x")  # another version of a known article
    assert lookup.has_text(page, _digest("消防"))  # without the site: the per-article query
    assert not lookup.has_text("http://y.gov.cn/a/1.html", _digest("消防"), "y")  # a site with none
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    for number in range(20):
        assert not lookup.has_text(f"http://y.gov.cn/a/{number}.html", _digest(str(number)), "y")
    assert statements == []  # site y was asked about once, before
    lookup.close()
    engine.dispose()


@pytest.mark.index
def test_two_writers_index_each_article_text_once(tmp_path: Path):
    """Two writers on one index, at the same time: one row per (URL, text), the rest skipped."""
    url = index_url(tmp_path)
    writers = [_writer(tmp_path), _writer(tmp_path)]
    texts = {f"http://x.gov.cn/a/{n}.html": f"第{n}篇，消防安全。" for n in range(40)}

    def crawl(writer: ArchiveWriter) -> None:
        for page, body in texts.items():
            exchange = _exchange(page, 200, body.encode())
            writer.add_exchange(exchange)
            writer.add_article(ArticleRow(exchange.record_id, {
                "url": page, "site": "x", "title": page, "body": body, "published_at": "2020-01-01",
                "body_digest": _digest(body)}))

    threads = [threading.Thread(target=crawl, args=(writer,)) for writer in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for writer in writers:
        _finish(writer)
    engine = open_index(url, create=False)
    with engine.connect() as conn:
        urls = conn.execute(select(articles.c.url)).scalars().all()
        capture_count = conn.execute(select(func.count()).select_from(captures)).scalar_one()
    assert sorted(urls) == sorted(texts)  # 40 rows, not 80
    assert capture_count == 80  # every capture is kept
    assert sum(writer.counts["articles"] for writer in writers) == 40
    assert sum(writer.counts["articles_already_indexed"] for writer in writers) == 40
    assert len(Index(engine, tmp_path / "warc").search("消防安全", limit=100)) == 40
    engine.dispose()


def _counted(rows: list[dict]) -> tuple[list, list]:
    from collections import Counter

    by_site = Counter(row["site"] for row in rows)
    by_month = Counter((row["site"], (row["published_at"] or "")[:7] or None) for row in rows)
    return sorted(by_site.items()), sorted(by_month.items(), key=lambda item: (item[0][0], item[0][1] or ""))


@pytest.mark.index
def test_stats_counts_follow_the_articles_table(tmp_path: Path):
    """stats reads article_counts (kept by triggers): it must equal counting the articles."""
    rows = _corpus(120)
    url = index_url(tmp_path)
    _fill(url, rows)
    engine = open_index(url, create=False)
    index = Index(engine, tmp_path / "warc")

    def check(expected_rows: list[dict]) -> None:
        stats = index.stats()
        by_site, by_month = _counted(expected_rows)
        assert stats["by_site"] == by_site
        assert sorted(stats["by_month"], key=lambda row: (row[0], row[1] or "")) == [
            (site, month, count) for (site, month), count in by_month]
        assert sum(count for _, _, count in stats["by_channel"]) == len(expected_rows)

    check(rows)
    with engine.begin() as conn:  # by hand, as researchers may: the counts follow
        conn.execute(articles.delete().where(articles.c.url == rows[0]["url"]))
        conn.execute(articles.update().where(articles.c.url == rows[1]["url"]).values(published_at="1999-12-31"))
    check([{**rows[1], "published_at": "1999-12-31"}] + rows[2:])
    engine.dispose()


def test_show_and_search_load_no_orm_alembic_or_warcio(tmp_path: Path):
    """`show` and `search` start at the floor of importing SQLAlchemy's Core: no ORM, no
    Alembic, no WARC reader (a fresh interpreter, so other tests' imports do not count)."""
    rows = _corpus(40)
    _fill(f"sqlite:///{tmp_path / 'index.sqlite'}", rows)
    heavy = ("sqlalchemy.orm", "alembic", "warcio", "surt", "scrapy")
    for args, wanted in ((["show", "8"], rows[7]["title"]), (["show", rows[7]["url"]], rows[7]["url"]),
                         (["search", "消防安全"], _truth(rows, "消防安全")[0])):
        probe = ("import contextlib, io, sys; from archive.cli import main; out = io.StringIO()\n"
                 f"with contextlib.redirect_stdout(out): code = main({['--archive', str(tmp_path), *args]!r})\n"
                 f"print(code, sorted({{m.split('.')[0] if m.split('.')[0] != 'sqlalchemy' else m "
                 f"for m in sys.modules}} & {set(heavy)!r}), {wanted!r} in out.getvalue())")
        result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["0", "[]", "True"], (args, result.stdout, result.stderr)


@pytest.mark.index
def test_missing_warc_files_are_found_by_file_not_by_row(tmp_path: Path):
    """What a crawl start distrusts: files named by captures but on neither disk nor another host."""
    import socket

    from archive.presence import missing_warc_files, warc_file_names

    engine = open_index(index_url(tmp_path))
    files = {"a-here.warc.gz": socket.gethostname(), "b-gone.warc.gz": socket.gethostname(),
             "c-other-host.warc.gz": "elsewhere.example", "d-no-host.warc.gz": None,
             "e-open.warc.gz": socket.gethostname()}
    with engine.begin() as conn:
        for number, (name, host) in enumerate(files.items()):
            crawl = conn.execute(insert(crawls).values(spider="t", started_at="x", status="finished",
                                                       hostname=host)).inserted_primary_key[0]
            conn.execute(insert(captures), [
                {"crawl_id": crawl, "url": f"http://x.gov.cn/{number}/{n}", "fetched_at": "x",
                 "record_type": "response", "warc_file": name, "warc_offset": n, "warc_length": 1,
                 "warc_record_id": f"<urn:{number}:{n}>"}
                for n in range(3)])
    warc_dir = tmp_path / "warc"
    warc_dir.mkdir()
    (warc_dir / "a-here.warc.gz").touch()
    (warc_dir / "e-open.warc.gz.open").touch()
    with engine.connect() as conn:
        assert list(warc_file_names(conn)) == sorted(files)
        assert missing_warc_files(conn, warc_dir) == {"b-gone.warc.gz", "d-no-host.warc.gz"}
    engine.dispose()
