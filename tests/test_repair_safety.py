"""``verify --repair`` keeps every row whose record can be read, leaves a live writer alone,
and never indexes a cut-off record; a full disk never leaves one in a closed file."""

from __future__ import annotations

import os
import random
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from archive_factory import exchange, write_archive
from sqlalchemy import func, select
from support import ROOT, archive_args, index, index_url, on_a_terminal, verify
from zygote import run

from archive.models import articles, captures
from archive.store import ArchiveWriter
from archive.warc_reader import WarcReadError, scan_records

pytestmark = pytest.mark.index


def rows(archive: Path) -> dict[str, tuple[str, int, int]]:
    """URL -> (file, offset, length) of every capture row."""
    with index(archive).connect() as conn:
        return {row.url: (row.warc_file, row.warc_offset, row.warc_length) for row in conn.execute(
            select(captures.c.url, captures.c.warc_file, captures.c.warc_offset, captures.c.warc_length))}


def test_one_damaged_record_costs_one_row_not_the_rest_of_the_file(tmp_path: Path):
    write_archive(tmp_path, 12)  # warcinfo + 12 request/response pairs = 25 records in one file
    [path] = sorted((tmp_path / "warc").glob("*.warc.gz"))
    assert sum(1 for _ in scan_records(path)) == 25
    before = rows(tmp_path)
    damaged_url = "http://127.0.0.1/a/3.html"
    _, offset, length = before[damaged_url]
    data = bytearray(path.read_bytes())
    data[offset + length // 2: offset + length // 2 + 16] = b"\0" * 16
    path.write_bytes(bytes(data))

    checked = verify(tmp_path)
    assert checked.returncode == 1
    lines = checked.stdout.splitlines()
    assert sum(line.startswith("error:") for line in lines) == 1, checked.stdout
    assert [line for line in lines if line.startswith("dangling index row")] == [
        line for line in lines if line.startswith("dangling index row") and damaged_url in line]
    assert sum(line.startswith("dangling index row") for line in lines) == 1, checked.stdout
    assert "orphan record (no index row)" not in checked.stdout

    repaired = verify(tmp_path, "--repair")
    assert "repair: dropped 1 index row(s)" in repaired.stdout, repaired.stdout
    after = rows(tmp_path)
    assert after == {url: where for url, where in before.items() if url != damaged_url}
    with index(tmp_path).connect() as conn:
        linked = conn.execute(select(func.count()).select_from(articles).where(articles.c.capture_id.is_not(None)))
        assert linked.scalar_one() == 11


def test_closing_an_abandoned_file_cuts_only_its_partial_end_not_what_follows_a_damaged_record(tmp_path: Path):
    """A killed writer's ``.open`` file with one damaged record in the middle and a partial
    record at the end: recovery cuts the partial end only."""
    write_archive(tmp_path, 12)
    [path] = sorted((tmp_path / "warc").glob("*.warc.gz"))
    before = rows(tmp_path)
    damaged_url = "http://127.0.0.1/a/3.html"
    _, offset, length = before[damaged_url]
    data = bytearray(path.read_bytes())
    data[offset + length // 2: offset + length // 2 + 16] = b"\0" * 16
    partial = b"\x1f\x8b\x08" + b"\0" * 40  # a member the writer never finished
    opened = path.with_name(path.name + ".open")
    opened.write_bytes(bytes(data) + partial)
    path.unlink()

    repaired = verify(tmp_path, "--repair")
    assert f"closed 1 unfinished WARC file(s) ({len(partial)} bytes of partial records cut)" in repaired.stdout, (
        repaired.stdout + repaired.stderr)
    assert path.read_bytes() == bytes(data)
    assert rows(tmp_path) == {url: where for url, where in before.items() if url != damaged_url}


def test_a_cut_off_record_is_never_indexed_by_repair(tmp_path: Path):
    """A file cut inside its last response (a full disk, a truncated copy): repair indexes
    the complete records it lacks rows for, and not the cut-off one."""
    write_archive(tmp_path, 6)
    [path] = sorted((tmp_path / "warc").glob("*.warc.gz"))
    before = rows(tmp_path)
    last, first_lost = "http://127.0.0.1/a/5.html", "http://127.0.0.1/a/4.html"
    _, offset, length = before[last]
    with open(path, "r+b") as handle:
        handle.truncate(offset + length // 2)
    with index(tmp_path).begin() as conn:  # the writer had not committed the last batch's rows
        lost = select(captures.c.id).where(captures.c.url.in_([last, first_lost]))
        conn.execute(articles.update().where(articles.c.capture_id.in_(lost)).values(capture_id=None))
        conn.execute(captures.delete().where(captures.c.url.in_([last, first_lost])))

    checked = verify(tmp_path)
    assert "record cut off" in checked.stdout and "orphan record (no index row)" in checked.stdout
    repaired = verify(tmp_path, "--repair")
    assert "repair: indexed 1 record(s)" in repaired.stdout, repaired.stdout
    after = rows(tmp_path)
    assert first_lost in after and last not in after
    shown = run([sys.executable, "-m", "archive.cli", "show", "--raw", last, *archive_args(tmp_path)],
                capture_output=True, cwd=ROOT)
    assert shown.returncode == 1 and shown.stdout == b""


@pytest.mark.parametrize("fraction", [0.02, 0.1, 0.5, 0.95])
def test_a_truncated_copy_is_cut_back_by_repair_and_then_verifies(tmp_path: Path, fraction: float):
    """Issue 25: after ``--repair`` on a truncated file, ``verify`` exited 1 forever and said
    nothing to do (and a cut inside a record's headers was a traceback). Repair now cuts the
    incomplete last record, keeping its bytes aside, and verify passes."""
    write_archive(tmp_path, 6)
    [path] = sorted((tmp_path / "warc").glob("*.warc.gz"))
    last = "http://127.0.0.1/a/5.html"
    _, offset, length = rows(tmp_path)[last]
    original = path.read_bytes()  # the last response (its request record follows it)
    cut = offset + max(1, int(length * fraction))
    with open(path, "r+b") as handle:
        handle.truncate(cut)

    checked = verify(tmp_path)
    assert checked.returncode == 1 and "Traceback" not in checked.stderr, checked.stderr
    assert "record cut off" in checked.stdout
    assert "next step: portal-archive verify --repair" in checked.stdout
    repaired = verify(tmp_path, "--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "repair: cut the incomplete last record of 1 closed WARC file(s)" in repaired.stdout
    assert "repair: dropped 1 index row(s)" in repaired.stdout  # the row of the record that lost its end
    assert path.read_bytes() == original[:offset]
    [kept] = (tmp_path / "warc" / "damaged").iterdir()
    assert kept.name == f"{path.name}.tail-{offset}" and kept.read_bytes() == original[offset:cut]
    again = verify(tmp_path)
    assert again.returncode == 0 and "next step" not in again.stdout, again.stdout
    assert last not in rows(tmp_path) and len(rows(tmp_path)) == 5


def test_a_damaged_record_says_what_would_mend_it(tmp_path: Path):
    """A record damaged in the middle of a file cannot be mended here: verify says so, before
    and after --repair, and names the file to restore."""
    write_archive(tmp_path, 6)
    [path] = sorted((tmp_path / "warc").glob("*.warc.gz"))
    _, offset, length = rows(tmp_path)["http://127.0.0.1/a/2.html"]
    data = bytearray(path.read_bytes())
    data[offset + length // 2: offset + length // 2 + 16] = b"\0" * 16
    path.write_bytes(bytes(data))
    for args in ((), ("--repair",), ()):
        result = verify(tmp_path, *args)
        assert result.returncode == 1
        assert f"next step: restore {path.name} from a copy made before the damage" in result.stdout, result.stdout
    assert "cut the incomplete last record of 0" in verify(tmp_path, "--repair").stdout
    assert path.read_bytes() == bytes(data)  # never cut: the damage is not at its end


LIVE_WRITER = """
import socket, sys, time
from pathlib import Path
from sqlalchemy import func, select
from archive.models import captures
from archive.records import HttpExchange
from archive.store import ArchiveWriter

writer = ArchiveWriter(Path(sys.argv[1]), sys.argv[2], warcinfo={"software": "test"}, prefix="live", fsync=False)
writer.start_crawl("portal", "127.0.0.1", socket.gethostname())
for n in range(10):
    writer.add_exchange(HttpExchange(url=f"http://127.0.0.1/live/{n}.html", status=200,
                                     response_headers=[(b"Content-Type", b"text/html")], body=b"<p>%d</p>" % n))
while True:
    with writer.engine.connect() as conn:
        if conn.execute(select(func.count()).select_from(captures)).scalar() >= 10:
            break
    time.sleep(0.05)
print("ready", flush=True)
sys.stdin.read()  # alive, its file open and locked, until the test lets it finish
writer.drain()
writer.finish_crawl("finished", {})
"""


def test_repair_leaves_a_live_writers_files_and_rows_alone(tmp_path: Path):
    write_archive(tmp_path, 3)
    live = subprocess.Popen([sys.executable, "-c", LIVE_WRITER, str(tmp_path / "warc"), index_url(tmp_path)],
                            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert live.stdout.readline().strip() == "ready"
        before = rows(tmp_path)
        assert len(before) == 13
        checked = verify(tmp_path)
        assert "unclosed WARC file" in checked.stdout and "dangling" not in checked.stdout.replace(
            "0 dangling rows", "")
        assert "10 rows of files still being written not checked" in checked.stdout
        refused = verify(tmp_path, "--repair")
        assert refused.returncode == 2
        assert "repair refused while the archive is being written" in refused.stderr
        assert "is being written" in refused.stderr
        assert rows(tmp_path) == before
        assert len(list((tmp_path / "warc").glob("*.open"))) == 1
    finally:
        live.communicate("", timeout=120)
    assert live.returncode == 0
    done = verify(tmp_path)
    assert done.returncode == 0, done.stdout
    assert len(rows(tmp_path)) == 13


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A 200 kB tmpfs: a WARC volume that fills up (root only)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tiny tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(disk)], capture_output=True,
                             text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    yield disk
    subprocess.run(["umount", str(disk)], check=False)


def test_a_full_disk_leaves_only_complete_indexed_records(tmp_path: Path, tiny_disk: Path):
    noise = random.Random(7)
    writer = ArchiveWriter(tiny_disk, index_url(tmp_path), warcinfo={"software": "test"}, prefix="t", fsync=False,
                           batch_size=2)
    writer.start_crawl("portal", "127.0.0.1", socket.gethostname())
    sent = 0
    with pytest.raises(RuntimeError, match="archive failed"):
        for n in range(200):  # 200 x 10 kB of incompressible bytes: far more than the disk holds
            writer.add_exchange(exchange(n, noise.randbytes(10_000)))
            sent += 1
            if n % 5 == 4:
                time.sleep(0.05)  # let some batches commit before the disk fills
    writer.drain()
    with pytest.raises(RuntimeError):
        writer.finish_crawl("interrupted", {})
    assert not list(tiny_disk.glob("*.open")), "a closed file or none, never one left open"
    [path] = sorted(tiny_disk.glob("*.warc.gz"))
    found = list(scan_records(path))
    assert not [item for item in found if isinstance(item, WarcReadError)]
    responses = {item.url: (path.name, item.offset, item.length) for item in found if item.record_type == "response"}
    indexed = rows(tmp_path)
    assert indexed and indexed == responses  # every record complete and indexed, or absent
    assert len(indexed) < sent


def test_verify_reports_progress_to_the_log_and_a_live_line_on_a_terminal(tmp_path: Path):
    write_archive(tmp_path, 12)
    logged = verify(tmp_path, "--progress-every", "0")
    assert logged.returncode == 0, logged.stdout
    assert "verify: 1/1 files, 25 records" in logged.stderr and "records/s" in logged.stderr
    # Then the index rows, counted up to all of them (one per response record).
    counted = [int(n) for n in re.findall(r"verify: (\d+)/12 index rows cross-checked", logged.stderr)]
    assert counted == sorted(counted) and counted[-1] == 12, logged.stderr
    assert "\r" not in logged.stderr  # no live line when standard error is not a terminal
    status, stdout, screen = on_a_terminal([sys.executable, "-m", "archive.cli", "verify", *archive_args(tmp_path)])
    assert status == 0 and stdout.strip().splitlines()[-1].startswith("OK: 1 files, 25 records")
    assert "\r" in screen and "verify" in screen  # tqdm's redrawn line
