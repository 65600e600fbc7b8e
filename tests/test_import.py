"""``portal-archive import`` on WARCs other tools wrote: a real wget's crawl of a loopback
portal, the WARC libraries' own test files, broken files, and an import killed half-way."""

from __future__ import annotations

import bz2
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from support import CORPUS, ROOT, archive_args, cli, index, needs_shared
from warcio.archiveiterator import ArchiveIterator
from zygote import popen, run

from archive.models import articles, captures, crawls, warc_files
from demo.server import DemoServer
from demo.site import build_site

pytestmark = pytest.mark.index
WARCS = CORPUS / "warc"
INDEXED = {"response", "revisit", "resource"}  # a request goes into its response's row


def _import(archive: Path, *paths: Path | str, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "archive.cli", "import", *archive_args(archive), *extra,
                *map(str, paths)], capture_output=True, text=True, cwd=ROOT, timeout=300)


def _counts(archive: Path) -> dict[str, int]:
    with index(archive).connect() as conn:
        return {table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in (captures, articles, crawls, warc_files)}


def _record_ids(path: Path) -> set[str]:
    """The captures a WARC holds (responses, revisits, resources), as warcio reads them."""
    with open(path, "rb") as stream:
        return {record.rec_headers.get_header("WARC-Record-ID") for record in ArchiveIterator(stream)
                if record.rec_type in INDEXED}


def _records(path: Path) -> int:
    return len(_record_ids(path))


@pytest.fixture(scope="module")
def wget_portal(tmp_path_factory: pytest.TempPathFactory):
    """The demo portal (never seen by the importer) crawled by a real ``wget -r --warc-file``."""
    site = build_site(style="trs")
    where = tmp_path_factory.mktemp("wget")
    with DemoServer(site) as server:
        # wget obeys the portal's robots.txt (which fences off its calendar trap).
        subprocess.run(["wget", "-r", "-l", "6", "-q", "--warc-file", str(where / "portal"), "-P",
                        str(where / "mirror"), server.url], cwd=where, timeout=120, check=False)
        base = server.url.rstrip("/")
    return site, where / "portal.warc.gz", base


def test_a_wget_crawl_imports_with_every_article(wget_portal, tmp_path: Path) -> None:
    site, warc, base = wget_portal
    archive = tmp_path / "archive"
    first = _import(archive, warc)
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr
    with index(archive).connect() as conn:
        rows = {url: title for url, title in conn.execute(select(articles.c.url, articles.c.title))}
        recorded = conn.execute(select(warc_files.c.path, warc_files.c.software, warc_files.c.status)).all()
    assert set(rows) == {base + path for path in site.articles}  # every article, no listing or stray page
    assert all(rows[base + path] == facts["title"] for path, facts in site.facts.items() if path in site.articles)
    assert len(recorded) == 1 and Path(recorded[0].path) == warc  # addressed in place, not copied
    assert recorded[0].status == "done" and recorded[0].software.startswith("Wget")
    assert not (archive / "warc" / warc.name).exists()
    assert _counts(archive)["captures"] == _records(warc)

    # The second import adds no row.
    before = _counts(archive)
    again = _import(archive, warc)
    assert again.returncode == 0, again.stderr
    assert "already imported" in again.stderr
    assert _counts(archive) == before

    # Search, show --raw (the bytes the server sent), history, cdxj and export read it.
    path, title = next(iter(site.articles.items()))
    found = cli(archive, "search", title)
    assert found.returncode == 0, found.stderr
    assert title in found.stdout and "(1 result)" in found.stderr, found.stdout
    raw = run([sys.executable, "-m", "archive.cli", "show", base + path, "--raw", *archive_args(archive)],
              capture_output=True, cwd=ROOT, timeout=120)
    assert raw.returncode == 0, raw.stderr
    assert raw.stdout == site.routes[path].body
    history = cli(archive, "history", base + path)
    assert history.returncode == 0 and history.stdout.count("\n") == 2, history.stdout  # header + one capture
    cdxj = cli(archive, "cdxj")
    assert cdxj.returncode == 0, cdxj.stderr
    assert any(f"{path} " in line and "portal.warc.gz" in line for line in cdxj.stdout.splitlines()), cdxj.stdout
    exported = cli(archive, "export", "--format", "jsonl", "--output", str(tmp_path / "out.jsonl"))
    assert exported.returncode == 0, exported.stderr
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert {json.loads(line)["url"] for line in lines} == set(rows)


@needs_shared
def test_the_warc_libraries_files_import_with_every_record(tmp_path: Path) -> None:
    """Files written by wget 1.14, wpull, warcio, pywb's and jwarc's test suites (Common Crawl,
    a gzip member with an extra field, revisits of the same payload): every record indexed."""
    files = sorted(WARCS.glob("*.warc*"))
    archive = tmp_path / "archive"
    result = _import(archive, *files)
    assert result.returncode == 0, result.stderr
    assert "error:" not in result.stderr
    # warcio's example.warc and example.warc.gz hold the same records: one row each.
    expected = len(set().union(*map(_record_ids, files)))
    assert _counts(archive)["captures"] == expected
    with index(archive).connect() as conn:
        unresolved = conn.execute(select(func.count()).select_from(captures).where(
            captures.c.record_type == "revisit", captures.c.refers_to_id.is_(None))).scalar_one()
    assert unresolved == 0  # each revisit points at its original (pywb's dupes: across the file)
    again = _import(archive, *files)  # the same files again: nothing new
    assert again.returncode == 0 and _counts(archive)["captures"] == expected


@needs_shared
def test_bad_input_is_one_error_line_per_file(tmp_path: Path) -> None:
    good = WARCS / "warcio__example.warc.gz"
    (tmp_path / "notes.warc").write_text("hello, not a WARC file at all\n")
    (tmp_path / "bzipped.warc.gz").write_bytes(bz2.compress((WARCS / "warcio__example.warc").read_bytes()))
    whole = (WARCS / "pywb__example-wget-1-14.warc.gz").read_bytes()
    (tmp_path / "cut.warc.gz").write_bytes(whole[: len(whole) // 2])
    bad = [tmp_path / "notes.warc", tmp_path / "bzipped.warc.gz", tmp_path / "cut.warc.gz"]
    archive = tmp_path / "archive"
    result = _import(archive, *bad, good)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == len(bad), result.stderr
    assert all(any(str(path) in line for line in errors) for path in bad)
    assert "not a WARC" in errors[0] and "bzip2" in errors[1] and "cut off" in errors[2]
    with index(archive).connect() as conn:
        urls = {url for (url,) in conn.execute(select(captures.c.url))}
    assert _records(good) and "http://example.com/" in urls  # the good file went on


@needs_shared
@pytest.mark.slow
def test_a_killed_import_resumes_without_double_rows(tmp_path: Path) -> None:
    from bench.portal_warcs import generate

    files = generate(tmp_path / "warcs", 1000, per_file=500)  # two files; killed inside the first
    expected = sum(_records(path) for path in files)
    archive = tmp_path / "archive"
    command = [sys.executable, "-m", "archive.cli", "import", *archive_args(archive), "--batch", "50",
               *map(str, files)]
    process = popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
        try:
            done = _counts(archive)["captures"]
        except Exception:  # noqa: BLE001 - the index is still being made
            continue
        if done > 400:
            break
    assert process.poll() is None, "the import ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert 0 < _counts(archive)["captures"] < expected  # killed half-way
    resumed = _import(archive, *files)
    assert resumed.returncode == 0, resumed.stderr
    with index(archive).connect() as conn:
        ids = conn.execute(select(func.count(captures.c.warc_record_id.distinct()))).scalar_one()
        article_urls = conn.execute(select(func.count(articles.c.url.distinct()))).scalar_one()
    counts = _counts(archive)
    assert counts["captures"] == ids == expected
    assert counts["articles"] == article_urls == 1000


def test_wacz_files_import_as_their_warcs(wget_portal, tmp_path: Path) -> None:
    """A WACZ this project wrote (``portal-archive wacz``) and one py-wacz built from the same
    wget WARC: each imports with every article, read in place inside the zip."""
    site, warc, base = wget_portal
    first = tmp_path / "first"
    assert _import(first, warc).returncode == 0
    ours = tmp_path / "ours.wacz"
    assert cli(first, "wacz", "-o", str(ours)).returncode == 0
    theirs = tmp_path / "theirs.wacz"
    built = subprocess.run([str(Path(sys.executable).parent / "wacz"), "create", "-o", str(theirs), str(warc)],
                           capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert built.returncode == 0, built.stderr
    path = next(iter(site.articles))
    for wacz in (ours, theirs):
        archive = tmp_path / wacz.stem
        result = _import(archive, wacz)
        assert result.returncode == 0 and "error:" not in result.stderr, result.stderr
        with index(archive).connect() as conn:
            urls = {url for (url,) in conn.execute(select(articles.c.url))}
        assert urls == {base + page for page in site.articles}
        raw = run([sys.executable, "-m", "archive.cli", "show", base + path, "--raw",
                   *archive_args(archive)], capture_output=True, cwd=ROOT, timeout=120)
        assert raw.returncode == 0 and raw.stdout == site.routes[path].body
        assert _import(archive, wacz).returncode == 0 and _counts(archive)["captures"] == _records(warc)


def test_reindex_brings_old_extractions_to_todays_without_edit_events(wget_portal, tmp_path: Path) -> None:
    """Rows an older extraction made (a channel ending glued to the title, a share line kept
    in the body, a wrong date) are read again from their WARC records: the report names each
    changed article and field, search follows, and no article event is written."""
    from sqlalchemy import update

    from archive.models import article_events
    from archive.search import rebuild

    site, warc, base = wget_portal
    archive = tmp_path / "archive"
    assert _import(archive, warc).returncode == 0
    engine = index(archive)
    with engine.begin() as conn:
        today = {row.id: row for row in conn.execute(select(articles).order_by(articles.c.id))}
        first, second, third = list(today)[:3]
        conn.execute(update(articles).where(articles.c.id == first).values(title=today[first].title + "_旧频道"))
        conn.execute(update(articles).where(articles.c.id == second).values(
            body="分享到：微信 微博 旧版正文\n" + today[second].body.split("\n")[0], body_digest="0" * 40))
        conn.execute(update(articles).where(articles.c.id == third).values(published_at="1999-01-01T00:00:00+08:00"))
        rebuild(conn)  # the search table as the older extraction left it (SQLite; PostgreSQL's follows)
    assert "(1 result)" in cli(archive, "search", "旧版正文").stderr

    result = cli(archive, "reindex")
    assert result.returncode == 0, result.stderr
    changed = [line for line in result.stdout.splitlines() if line.startswith("changed ")]
    assert changed == [f"changed {first} {today[first].url}: title",
                       f"changed {second} {today[second].url}: body",
                       f"changed {third} {today[third].url}: published_at"]
    assert "reindexed 36 article(s): 3 changed" in result.stdout
    with engine.connect() as conn:
        after = {row.id: row for row in conn.execute(select(articles).order_by(articles.c.id))}
        events = conn.execute(select(func.count()).select_from(article_events)).scalar_one()
    assert after == today  # every row exactly as today's extraction made it at import
    assert after[first].title == site.facts[after[first].url.removeprefix(base)]["title"]
    assert events == 0  # better extraction is not an edit of the portal's page
    assert "(0 results)" in cli(archive, "search", "旧版正文").stderr
    lost = today[second].body.rstrip().split("\n")[-1][-10:]  # what the older extraction had lost
    assert today[second].title in cli(archive, "search", lost, "--limit", "100").stdout
    again = cli(archive, "reindex", "--site", "127.0.0.1")
    assert "reindexed 36 article(s): 0 changed" in again.stdout
    nothing = cli(archive, "reindex", "--since", "2100")
    assert "reindexed 0 article(s)" in nothing.stdout


def _day(path: Path, url: str, body: bytes, when: str, revisit_of: tuple[str, str] | None = None) -> str:
    """One WARC file holding ``url`` as a response, or (``revisit_of`` = its original's date and
    digest) as an identical-payload revisit, the way a deduplicating crawler writes a later day."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
    with open(path, "wb") as stream:
        writer = WARCWriter(stream, gzip=True)
        if revisit_of is None:
            record = writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http,
                                               warc_headers_dict={"WARC-Date": when})
        else:
            original_date, digest = revisit_of
            record = writer.create_revisit_record(url, digest, url, original_date, http_headers=http,
                                                  warc_headers_dict={"WARC-Date": when})
        writer.write_record(record)
        return record.rec_headers.get_header("WARC-Payload-Digest")


@pytest.mark.parametrize("order", ["revisit file first", "in two imports, the revisit's first"])
def test_a_revisit_finds_its_original_in_another_file(tmp_path: Path, order: str) -> None:
    """Day 2's file holds only a revisit (payload unchanged since day 1); its original is in day
    1's file, read after it: in the same import, or in a later one."""
    url = "http://www.xf.gov.test/xfxw/202401/t20240102_1.html"
    body = "<html><head><title>关于开展消防安全检查的通知</title></head><body><p>正文</p></body></html>".encode()
    day1, day2 = tmp_path / "day1.warc.gz", tmp_path / "day2.warc.gz"
    digest = _day(day1, url, body, "2024-01-02T08:00:00Z")
    _day(day2, url, body, "2024-01-03T08:00:00Z", revisit_of=("2024-01-02T08:00:00Z", digest))
    archive = tmp_path / "archive"
    if order == "revisit file first":
        result = _import(archive, day2, day1)
        assert result.returncode == 0, result.stderr
    else:
        first = _import(archive, day2)
        assert first.returncode == 0, first.stderr
        with index(archive).connect() as conn:
            assert conn.execute(select(captures.c.refers_to_id).where(
                captures.c.record_type == "revisit")).scalar_one() is None  # day 1 not imported yet
        second = _import(archive, day1)
        assert second.returncode == 0, second.stderr
    with index(archive).connect() as conn:
        rows = {row.record_type: row for row in conn.execute(select(captures))}
    assert set(rows) == {"response", "revisit"}
    assert rows["revisit"].refers_to_id == rows["response"].id
    assert rows["response"].warc_file.endswith("day1.warc.gz") and rows["revisit"].warc_file.endswith("day2.warc.gz")
    shown = cli(archive, "show", "--raw", url)  # the newest capture is the revisit: its original's bytes
    assert shown.returncode == 0 and body.decode() in shown.stdout
