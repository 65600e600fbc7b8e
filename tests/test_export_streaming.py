"""Export formats. Whether export (and cdxj) streams, its memory flat however many rows the
index holds, is a measurement at scale: bench/streaming.py, recorded in BENCHMARKS.md."""

from __future__ import annotations

import sys

import pytest
from support import ROOT, archive_args, index
from zygote import run

from archive.models import articles

pytestmark = [pytest.mark.slow, pytest.mark.index]


def test_parquet_export(trs_portal, tmp_path):
    pyarrow = pytest.importorskip("pyarrow.parquet")
    target = tmp_path / "articles.parquet"
    run([sys.executable, "-m", "archive.cli", "export", *archive_args(trs_portal.archive), "--format",
         "parquet", "-o", str(target)], cwd=ROOT, check=True, capture_output=True)
    table = pyarrow.read_table(target)
    with index(trs_portal.archive).connect() as conn:
        total = conn.execute(articles.select()).all()
    assert table.num_rows == len(total)
    assert {"url", "title", "body", "published_at"} <= set(table.column_names)
