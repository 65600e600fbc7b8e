"""``portal-archive`` as a newcomer meets it (issue 25): input that would match nothing is
refused with one line that says why, a closed pipe ends quietly, ``images -o`` never replaces
a file, and each message says what to do next."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest
import support
from alembic.script import ScriptDirectory
from support import ROOT, archive_args, index, index_url
from test_cli_safety import one_clear_line
from zygote import popen, run

from archive.models import MIGRATIONS, captures, crawls
from archive.records import HttpExchange
from archive.store import ArchiveWriter, ArticleRow

pytestmark = pytest.mark.index

PAGE = "http://127.0.0.1/news/t20200115_1.html"
PHOTO = "http://127.0.0.1/uploads/photo.gif"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00" \
      b"\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
MORE = 200  # articles beyond PAGE: an export of them does not fit in a pipe's buffer


def _exchange(url: str, body: bytes, content_type: bytes = b"text/html; charset=utf-8") -> HttpExchange:
    return HttpExchange(url=url, status=200, response_headers=[(b"Content-Type", content_type)], body=body,
                        request_headers=[(b"User-Agent", b"test")], ip_address="127.0.0.1")


def _crawl(archive: Path, body: str, more: int = 0) -> None:
    """One crawl by the real archive writer: PAGE (with its photo) carrying ``body``."""
    writer = ArchiveWriter(archive / "warc", index_url(archive), warcinfo={"software": "test"}, prefix="t",
                           fsync=False)
    writer.start_crawl("portal", "127.0.0.1", socket.gethostname())
    page = _exchange(PAGE, f"<html><p>{body}</p><img src='/uploads/photo.gif'></html>".encode())
    writer.add_exchange(page)
    writer.add_article(ArticleRow(page.record_id, {"url": PAGE, "title": "消防安全通知", "site": "127.0.0.1",
                                                    "body": body, "published_at": "2020-01-15T08:00:00+08:00"},
                                  images=[PHOTO]))
    writer.add_exchange(_exchange(PHOTO, GIF, b"image/gif"))
    for n in range(more):
        other = _exchange(f"http://127.0.0.1/news/t20200116_{n}.html", f"<p>第{n}篇</p>".encode())
        writer.add_exchange(other)
        writer.add_article(ArticleRow(other.record_id, {"url": other.url, "title": f"第{n}篇 消防", "site": "127.0.0.1",
                                                         "body": f"消防安全检查 第{n}篇 正文 " * 8}))
    writer.drain()
    writer.finish_crawl("finished", {})


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """Two crawls: the second finds PAGE edited."""
    path = tmp_path_factory.mktemp("feedback")
    _crawl(path, "第一段。\n死亡3人。", more=MORE)
    _crawl(path, "第一段。\n死亡5人。")
    return path


cli = partial(support.cli, at=1)  # portal-archive SUBCOMMAND --archive ... ARGS


def first_capture(archive: Path, url: str) -> str:
    with index(archive).connect() as conn:
        return conn.execute(captures.select().where(captures.c.url == url).order_by(captures.c.id)).first().fetched_at


# --- 4: images -o ------------------------------------------------------------------------------


def test_images_never_replace_a_file_and_label_their_columns(archive: Path, tmp_path: Path):
    out = tmp_path / "photos"
    out.mkdir()
    mine = out / "00-photo.gif"
    mine.write_bytes(b"my own picture")
    refused = cli(archive, "images", PAGE, "-o", str(out))
    assert refused.returncode == 2
    one_clear_line(refused, str(mine), "--force")
    assert mine.read_bytes() == b"my own picture"
    saved = cli(archive, "images", PAGE, "-o", str(out), "--force")
    assert saved.returncode == 0, saved.stderr
    assert mine.read_bytes() == GIF
    header, row = saved.stdout.splitlines()
    assert header.split("\t") == ["position", "url", "file", "bytes", "capture_id"]
    position, url, name, size, capture_id = row.split("\t")
    assert (position, url, name, int(size)) == ("0", PHOTO, "00-photo.gif", len(GIF))
    with index(archive).connect() as conn:
        assert conn.execute(captures.select().where(captures.c.id == int(capture_id))).first().url == PHOTO
    fresh = cli(archive, "images", PAGE, "-o", str(tmp_path / "new" / "dir"))
    assert fresh.returncode == 0 and (tmp_path / "new" / "dir" / "00-photo.gif").read_bytes() == GIF


# --- 5: a closed pipe ------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [
    ["export", "--format", "csv"], ["export"], ["search", "消防", "--limit", "300", "--format", "csv"],
    ["changes", "--format", "jsonl"], ["cdxj"], ["history", PAGE], ["show", PAGE, "--raw"], ["stats"],
])
def test_a_reader_that_goes_away_ends_the_command_quietly(archive: Path, command: list[str]):
    """`portal-archive export | head`: head exits; the command ends without a word, status 0."""
    process = popen([sys.executable, "-m", "archive.cli", command[0], *archive_args(archive),
                     *command[1:]], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    process.stdout.close()  # the reader is gone before the first line
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr.decode()
    assert "Traceback" not in stderr.decode() and "Exception ignored" not in stderr.decode(), stderr.decode()


# --- 7: input that would match nothing -------------------------------------------------------------


@pytest.mark.parametrize("args, expected", [
    (["search", "消防", "--since", "2020-13"], "not a date: '2020-13'"),
    (["search", "消防", "--since", "yesterday"], "not a date: 'yesterday'"),
    (["search", "消防", "--until", "2020-02-30"], "not a date"),
    (["export", "--since", "last week"], "not a date"),
    (["changes", "--since", "2026-1"], "not a date"),
    (["search", ""], "the query is empty"),
    (["search", "  "], "the query is empty"),
])
def test_dates_and_queries_that_match_nothing_are_refused(archive: Path, args: list[str], expected: str):
    result = cli(archive, *args)
    assert result.returncode == 2
    one_clear_line(result, expected)


def test_well_formed_dates_still_filter(archive: Path):
    for since in ("2020", "2020-01", "2020-01-15", "20200115"):
        hits = cli(archive, "search", "消防安全通知", "--since", since, "--format", "csv")
        assert hits.returncode == 0 and PAGE in hits.stdout, (since, hits.stderr)
    assert cli(archive, "search", "消防安全通知", "--since", "2020-01-16").returncode == 1


@pytest.mark.parametrize("command", [["search", "消防"], ["export"], ["changes"]])
def test_an_unknown_site_lists_the_known_ones(archive: Path, command: list[str]):
    result = cli(archive, *command, "--site", "demo")
    assert result.returncode == 2
    one_clear_line(result, "no site 'demo'", "its sites: 127.0.0.1")
    assert cli(archive, *command, "--site", "127.0.0.1").returncode == 0


def test_before_the_first_capture_says_when_that_is(archive: Path):
    first = first_capture(archive, PAGE)
    for command in (["show", PAGE, "--at", "2001"], ["show", PAGE, "--at", "2001", "--raw"],
                    ["diff", PAGE, "--from", "2001"], ["diff", PAGE, "--to", "2001-01-01"]):
        result = cli(archive, *command)
        assert result.returncode == 1, command
        one_clear_line(result, "first", first, "crawl 1")


def test_an_impossible_id_is_bad_input(archive: Path):
    for key in ("abc", "www.example.gov.cn/a.html", "99999999999999999999"):
        for command in (["show", key], ["show", key, "--raw"], ["images", key, "-o", "x"]):
            result = cli(archive, *command)
            assert result.returncode == 2, (command, result.stderr)
            one_clear_line(result, key)
    assert cli(archive, "show", "999999").returncode == 1  # a possible id: just not there


def test_a_misspelt_option_is_named(archive: Path):
    result = run([sys.executable, "-m", "archive.cli", "--archvie", str(archive), "search", "消防"],
                 capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2
    one_clear_line(result, "--archvie", "did you mean --archive?")
    assert "invalid choice" not in result.stderr
    assert cli(archive, "search", "消防", "--lim", "1", "--format", "csv").returncode == 0  # abbreviations still work


# --- moments: crawl:N ------------------------------------------------------------------------------


def test_moments_name_a_crawl(archive: Path):
    old = cli(archive, "show", PAGE, "--at", "crawl:1")
    assert old.returncode == 0 and "死亡3人" in old.stdout, old.stderr
    assert "死亡5人" in cli(archive, "show", PAGE, "--at", "crawl:2").stdout
    diff = cli(archive, "diff", PAGE, "--from", "crawl:1", "--to", "crawl:2")
    assert diff.returncode == 0 and "死亡[-3-]人" in diff.stdout and "死亡{+5+}人" in diff.stdout, diff.stderr
    missing = cli(archive, "diff", PAGE, "--from", "crawl:9")
    assert missing.returncode == 2
    one_clear_line(missing, "no crawl 9", "crawls 1 to 2")


# --- 10: db upgrade on a current index ---------------------------------------------------------------


def test_db_upgrade_on_a_current_index_says_so(archive: Path):
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    result = subprocess.run(
        [sys.executable, "-m", "archive.cli", "db", "upgrade", *archive_args(archive)],
        capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"index schema already at {head}: nothing to do"
    with index(archive).connect() as conn:
        assert conn.execute(crawls.select()).all()  # untouched


# --- 14: pywb ------------------------------------------------------------------------------------------


def test_pywb_says_how_to_get_wayback(archive: Path, tmp_path: Path):
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                           if not (Path(p) / "wayback").exists())
    result = cli(archive, "pywb", str(tmp_path / "pywb" / "collections" / "portal"), env={**os.environ, "PATH": path})
    assert result.returncode == 0, result.stderr
    beside = ROOT / ".venv-pywb" / "bin" / "wayback"  # where scripts/replay-tools installs it
    if beside.exists():
        assert f"serve it: cd {tmp_path / 'pywb'} && {beside}  (then" in result.stderr
    else:
        assert f"serve it: cd {tmp_path / 'pywb'} && wayback" in result.stderr
        assert "bash scripts/replay-tools" in result.stderr and "pipx install pywb" in result.stderr
