"""Export streams: its memory stays flat however many articles the index holds."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import insert
from support import ROOT, archive_args, index, index_url

from archive.models import articles, open_index

pytestmark = pytest.mark.slow

ROWS, BODY_CHARS = 30_000, 3_000  # about 270 MB of UTF-8 text


def peak_rss_mib(command: list[str], out_path) -> float:
    with open(out_path, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return usage.ru_maxrss / 1024


def test_export_memory_does_not_grow_with_the_index(tmp_path):
    # ru_maxrss of a child counts the parent's pages it was forked with, so compare against
    # the same command on an empty index rather than with a fixed number.
    empty = tmp_path / "empty"
    open_index(index_url(empty)).dispose()
    baseline = peak_rss_mib([sys.executable, "-m", "archive.cli", "export", *archive_args(empty)],
                            tmp_path / "empty.jsonl")
    engine = open_index(index_url(tmp_path))
    body = "应急管理部门开展安全生产执法检查，排查整改重大隐患。" * (BODY_CHARS // 25)
    with engine.begin() as conn:
        for start in range(0, ROWS, 2000):
            conn.execute(insert(articles), [{"url": f"http://x.gov.cn/{n}.html", "title": f"文章{n}", "body": body,
                                             "site": "x.gov.cn"} for n in range(start, start + 2000)])
    engine.dispose()
    command = [sys.executable, "-m", "archive.cli", "export", *archive_args(tmp_path), "--format", "jsonl"]
    peak = peak_rss_mib(command, tmp_path / "out.jsonl")
    size_mib = (tmp_path / "out.jsonl").stat().st_size / 2**20
    with open(tmp_path / "out.jsonl", encoding="utf-8") as exported:
        count = sum(1 for _ in exported)
    assert count == ROWS and size_mib > 200
    assert peak - baseline < 50, f"export grew {peak - baseline:.0f} MiB for {size_mib:.0f} MiB of output"


def test_parquet_export(trs_portal, tmp_path):
    pyarrow = pytest.importorskip("pyarrow.parquet")
    target = tmp_path / "articles.parquet"
    subprocess.run([sys.executable, "-m", "archive.cli", "export", *archive_args(trs_portal.archive), "--format",
                    "parquet", "-o", str(target)], cwd=ROOT, check=True, capture_output=True)
    table = pyarrow.read_table(target)
    with index(trs_portal.archive).connect() as conn:
        total = conn.execute(articles.select()).all()
    assert table.num_rows == len(total)
    assert {"url", "title", "body", "published_at"} <= set(table.column_names)
