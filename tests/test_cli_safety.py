"""The command line never destroys the archive, reads it from read-only media, and answers
bad input with one clear line (issue 10: items 19, 21, 22, 23, 24)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from functools import partial
from pathlib import Path

import pytest
import support
from archive_factory import write_archive
from support import POSTGRES, archive_args, index_url
from warcio.warcwriter import WARCWriter

URL = "http://127.0.0.1/a/1.html"


cli = partial(support.cli, None)  # each test names the archive (or a file) its own way


def one_clear_line(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    """The command failed with one ``error:`` line (no traceback) containing ``expected``."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "error:" in line]
    assert len(errors) == 1, result.stderr
    for text in expected:
        assert text in errors[0], errors[0]
    return errors[0]


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli-archive")
    write_archive(path, 4)
    return path


# --- 19: -o never destroys the archive ------------------------------------------------------


@pytest.mark.index
def test_output_onto_the_archives_own_files_is_refused(archive: Path, tmp_path: Path):
    [warc] = sorted((archive / "warc").glob("*.warc.gz"))
    before = warc.read_bytes()
    refused = cli("cdxj", *archive_args(archive), "-o", str(warc), "--force")
    one_clear_line(refused, "archive's own files")
    assert warc.read_bytes() == before
    link = tmp_path / "innocent.cdxj"
    link.symlink_to(warc)
    one_clear_line(cli("cdxj", *archive_args(archive), "-o", str(link), "--force"), "archive's own files")
    assert warc.read_bytes() == before
    if not POSTGRES:
        index_file = archive / "index.sqlite"
        size = index_file.stat().st_size
        one_clear_line(cli("export", *archive_args(archive), "-o", str(index_file), "--force"), "archive's own")
        one_clear_line(cli("wacz", *archive_args(archive), "-o", str(index_file), "--force"), "archive's own")
        assert index_file.stat().st_size == size
        assert cli("search", *archive_args(archive), "消防安全").returncode == 0


@pytest.mark.index
def test_an_existing_file_is_overwritten_only_with_force(archive: Path, tmp_path: Path):
    target = tmp_path / "out.jsonl"
    target.write_text("keep me\n")
    one_clear_line(cli("export", *archive_args(archive), "-o", str(target)), "exists", "--force")
    assert target.read_text() == "keep me\n"
    done = cli("export", *archive_args(archive), "-o", str(target), "--force")
    assert done.returncode == 0, done.stderr
    assert len(target.read_text().splitlines()) == 4


@pytest.mark.index
def test_a_symbolic_link_is_not_followed(archive: Path, tmp_path: Path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    link = tmp_path / "out.cdxj"
    link.symlink_to(victim)
    for extra in ([], ["--force"]):
        one_clear_line(cli("cdxj", *archive_args(archive), "-o", str(link), *extra), "symbolic link")
    assert victim.read_text() == "precious\n"
    dangling = tmp_path / "dangling.cdxj"
    dangling.symlink_to(tmp_path / "nowhere.txt")
    one_clear_line(cli("cdxj", *archive_args(archive), "-o", str(dangling)))
    assert not (tmp_path / "nowhere.txt").exists()


@pytest.mark.index
def test_output_to_a_directory_is_one_clear_line(archive: Path, tmp_path: Path):
    for command in ("export", "cdxj", "wacz"):
        one_clear_line(cli(command, *archive_args(archive), "-o", str(tmp_path)), "is a directory")


# --- 21: read-only media ---------------------------------------------------------------------


@pytest.fixture
def read_only_copy(archive: Path, tmp_path: Path):
    """The archive copied to a file system mounted read-only (root), or to directories and
    files without write permission (anyone else)."""
    media = tmp_path / "media"
    media.mkdir()
    if os.geteuid() == 0:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", str(media)],
                                 capture_output=True, text=True)
        if mounted.returncode != 0:
            pytest.skip(f"root, but cannot mount a tmpfs to make read-only: {mounted.stderr.strip()}")
    copy = media / "archive"
    shutil.copytree(archive, copy)
    if os.geteuid() == 0:
        remounted = subprocess.run(["mount", "-o", "remount,ro", str(media)], capture_output=True, text=True)
        if remounted.returncode != 0:
            subprocess.run(["umount", str(media)], check=False)
            pytest.skip(f"cannot remount read-only: {remounted.stderr.strip()}")
    else:
        for path in sorted(copy.rglob("*"), reverse=True) + [copy]:
            path.chmod(0o555 if path.is_dir() else 0o444)
    assert not os.access(copy, os.W_OK)
    yield copy
    if os.geteuid() == 0:
        subprocess.run(["umount", str(media)], check=False)
    else:
        for path in [copy, *copy.rglob("*")]:
            path.chmod(0o755)


@pytest.mark.index
def test_every_reading_command_works_on_read_only_media(archive: Path, read_only_copy: Path, tmp_path: Path):
    # With PostgreSQL only the WARC files are on the media; the index stays on its server.
    args = ["--archive", str(read_only_copy)] + (["--index", index_url(archive)] if POSTGRES else [])
    searched = cli("search", *args, "消防安全", "--format", "jsonl")
    assert searched.returncode == 0, searched.stderr
    assert len(searched.stdout.splitlines()) == 4
    shown = cli("show", *args, URL)
    assert shown.returncode == 0 and "第1篇文章" in shown.stdout, shown.stderr
    raw = cli("show", *args, "--raw", URL)
    assert raw.returncode == 0 and raw.stdout.startswith("<html><p>第1篇 正文"), raw.stderr
    assert cli("history", *args, URL).returncode == 0
    stats = cli("stats", *args)
    assert stats.returncode == 0 and "127.0.0.1: 4" in stats.stdout, stats.stderr
    exported = cli("export", *args, "-o", str(tmp_path / "out.jsonl"))
    assert exported.returncode == 0 and len((tmp_path / "out.jsonl").read_text().splitlines()) == 4
    checked = cli("verify", *args)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.splitlines()[-1].startswith("OK: 1 files, 9 records, 4 index rows")


# --- 22: captures in a file still being written ------------------------------------------------


@pytest.mark.index
def test_show_reads_a_capture_from_a_file_still_being_written(tmp_path: Path):
    write_archive(tmp_path, 2)
    [warc] = sorted((tmp_path / "warc").glob("*.warc.gz"))
    warc.rename(warc.with_name(warc.name + ".open"))
    raw = cli("show", *archive_args(tmp_path), "--raw", URL)
    assert raw.returncode == 0, raw.stderr
    assert raw.stdout == "<html><p>第1篇 正文</p></html>" * 40
    headers = cli("show", *archive_args(tmp_path), "--headers", URL)
    assert headers.stdout.startswith("HTTP/1.1 200"), headers.stderr


# --- 23: one clear line instead of a traceback ---------------------------------------------------


@pytest.mark.parametrize("content", [b"", b"this is not a database at all" * 100, "foreign"])
def test_a_broken_or_foreign_index_is_one_clear_line(tmp_path: Path, content):
    (tmp_path / "warc").mkdir()
    index_file = tmp_path / "index.sqlite"
    if content == "foreign":
        with sqlite3.connect(index_file) as conn:
            conn.execute("CREATE TABLE recipes (name TEXT)")
    else:
        index_file.write_bytes(content)
    for command in (["search", "消防"], ["show", URL], ["stats"], ["verify"], ["export"]):
        result = cli(command[0], "--archive", str(tmp_path), *command[1:])
        one_clear_line(result, str(index_file))


def test_malformed_or_unreachable_index_urls_are_one_clear_line_without_the_password(tmp_path: Path):
    one_clear_line(cli("stats", "--index", "nonsense://::what"), "index")
    unreachable = cli("stats", "--index", "postgresql+psycopg://reader:s3cret@127.0.0.1:1/archive")
    line = one_clear_line(unreachable, "cannot open the index")
    assert "s3cret" not in unreachable.stderr and "***@127.0.0.1:1" in line


@pytest.mark.index
@pytest.mark.parametrize("key", ["99999999999999999999", "²", "-1"])
def test_impossible_ids_find_nothing_without_a_traceback(archive: Path, key: str):
    for extra in ([], ["--raw"]):
        result = cli("show", *archive_args(archive), *extra, "--", key)
        one_clear_line(result, "nothing archived")


@pytest.mark.index
def test_an_impossible_limit_is_refused_clearly(archive: Path):
    result = cli("search", *archive_args(archive), "消防", "--limit", "9" * 30)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--limit" in result.stderr and "not a number from 1 to" in result.stderr


@pytest.mark.index
def test_headers_of_a_capture_without_http_are_one_clear_line(tmp_path: Path):
    """An ftp-style response record (no HTTP headers) indexed by repair, then shown."""
    write_archive(tmp_path, 1)
    builder = WARCWriter(None, gzip=True, warc_version="1.1")
    with open(tmp_path / "warc" / "ftp-00001.warc.gz", "wb") as out:
        builder.out = out
        from io import BytesIO
        record = builder.create_warc_record("ftp://127.0.0.1/notice.txt", "response",
                                            payload=BytesIO(b"plain text over ftp\n"),
                                            warc_content_type="text/plain")
        builder.write_record(record)
    repaired = cli("verify", *archive_args(tmp_path), "--repair")
    assert "repair: indexed 1 record(s)" in repaired.stdout, repaired.stdout + repaired.stderr
    one_clear_line(cli("show", *archive_args(tmp_path), "--headers", "ftp://127.0.0.1/notice.txt"),
                   "without HTTP headers")


# --- 24: --at ---------------------------------------------------------------------------------


@pytest.mark.index
@pytest.mark.parametrize("moment", ["yesterday", "2020-13-01", "20201", "2020-01-15T25:00", "２０２０", "1/2/2020"])
def test_malformed_at_values_are_rejected(archive: Path, moment: str):
    result = cli("show", *archive_args(archive), URL, "--at", moment)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--at" in result.stderr and "not a moment" in result.stderr


@pytest.mark.index
def test_well_formed_at_values_pick_the_capture(archive: Path):
    for moment in ("2099", "20991231", "2099-12-31T23:59:59Z", "2099-12-31T23:59:59+08:00"):
        result = cli("show", *archive_args(archive), URL, "--at", moment, "--headers")
        assert result.returncode == 0 and result.stdout.startswith("HTTP/1.1 200"), (moment, result.stderr)
    early = cli("show", *archive_args(archive), URL, "--at", "2001-01-01")
    one_clear_line(early, "nothing archived")

