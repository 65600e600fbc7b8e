"""`cdxj` at scale: memory stays flat however many captures the index holds (sorted runs on
disk, merged), and the output is the full, sorted index."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import insert
from support import ROOT, archive_args, index_url

from archive.models import captures, crawls, open_index

pytestmark = pytest.mark.slow

ROWS, URL_CHARS, RECORD = 400_000, 200, 100  # about 250 MB of CDXJ


def peak_rss_mib(command: list[str], out_path) -> float:
    with open(out_path, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, process.stderr.read().decode()
    return usage.ru_maxrss / 1024


def fill(archive, rows: int) -> None:
    """``rows`` captures in one WARC file whose every listed offset starts a gzip member."""
    (archive / "warc").mkdir(parents=True)
    record = b"\x1f\x8b" + b"\0" * (RECORD - 2)
    with open(archive / "warc" / "big.warc.gz", "wb") as out:
        for _ in range(0, rows, 10_000):
            out.write(record * 10_000)
    engine = open_index(index_url(archive))
    with engine.begin() as conn:
        crawl_id = conn.execute(insert(crawls).values(spider="portal", started_at="2026-01-01T00:00:00Z",
                                                      status="finished")).inserted_primary_key[0]
        pad = "x" * (URL_CHARS - 40)
        # Descending numbers, so the database's order is not the index's.
        for start in range(0, rows, 5000):
            conn.execute(insert(captures), [{
                "crawl_id": crawl_id, "url": f"http://www.example.gov.cn/{pad}/{rows - n:07d}.html", "status": 200,
                "content_type": "text/html", "fetched_at": "2026-01-01T00:00:00Z", "payload_digest": "sha1:X",
                "record_type": "response", "warc_file": "big.warc.gz", "warc_offset": n * RECORD,
                "warc_length": RECORD, "warc_record_id": f"<urn:uuid:{n}>"}
                for n in range(start, min(rows, start + 5000))])
    engine.dispose()


def test_cdxj_memory_does_not_grow_with_the_index(tmp_path):
    small, big = tmp_path / "small", tmp_path / "big"
    fill(small, 10)
    fill(big, ROWS)
    baseline = peak_rss_mib([sys.executable, "-m", "archive.cli", "cdxj", *archive_args(small)], tmp_path / "s.cdxj")
    peak = peak_rss_mib([sys.executable, "-m", "archive.cli", "cdxj", *archive_args(big)], tmp_path / "b.cdxj")
    size_mib = (tmp_path / "b.cdxj").stat().st_size / 2**20
    previous, count = "", 0
    with open(tmp_path / "b.cdxj", encoding="utf-8") as lines:
        for line in lines:
            assert line >= previous
            previous, count = line, count + 1
    assert count == ROWS and size_mib > 200
    assert peak - baseline < 100, f"cdxj grew {peak - baseline:.0f} MiB for {size_mib:.0f} MiB of output"
