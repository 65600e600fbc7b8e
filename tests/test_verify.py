"""``portal-archive verify`` finds every kind of damage, and ``--repair`` fixes it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update
from support import index, run_crawl, verify, warc_files

from archive.models import articles, captures, crawls
from archive.warc_writer import OPEN_SUFFIX
from demo.server import DemoServer
from demo.site import build_site

pytestmark = [pytest.mark.slow, pytest.mark.index]


def test_verify_reports_damage_and_repair_fixes_it(tmp_path: Path):
    with DemoServer(build_site(channels=1, articles_per_channel=6, extras=False)) as server:
        run_crawl(tmp_path, f"start_url={server.url}", settings={"WARC_MAX_SIZE": "20000"})
    files = warc_files(tmp_path)
    assert len(files) >= 2
    with index(tmp_path).begin() as conn:
        orphan = conn.execute(select(captures).where(captures.c.warc_file == files[0].name).limit(1)).one()
        conn.execute(update(articles).where(articles.c.capture_id == orphan.id).values(capture_id=None))
        conn.execute(captures.delete().where(captures.c.id == orphan.id))
        row = dict(orphan._mapping, id=None, warc_offset=10**9, warc_record_id="<urn:uuid:dangling>")
        conn.execute(insert(captures).values(**{k: v for k, v in row.items() if k != "id"}))
    shutil.move(files[-1], str(files[-1]) + OPEN_SUFFIX)

    damaged = verify(tmp_path)
    assert damaged.returncode == 1
    assert "dangling index row" in damaged.stdout and "orphan record" in damaged.stdout
    assert "unclosed WARC file" in damaged.stdout

    repaired = verify(tmp_path, "--repair")
    assert repaired.returncode == 0, repaired.stdout
    assert "repair: indexed" in repaired.stdout and repaired.stdout.strip().splitlines()[-1].startswith("OK:")
    assert verify(tmp_path).returncode == 0


def test_rows_of_another_hosts_warc_directory_are_not_dangling(tmp_path: Path):
    with DemoServer(build_site(channels=1, articles_per_channel=2, extras=False)) as server:
        run_crawl(tmp_path, f"start_url={server.url}")
    with index(tmp_path).begin() as conn:
        crawl = conn.execute(insert(crawls).values(spider="portal", started_at="2026-01-01T00:00:00Z",
                                                   status="finished", hostname="another-machine"))
        conn.execute(insert(captures).values(
            crawl_id=crawl.inserted_primary_key[0], url="http://x.gov.cn/", status=200,
            fetched_at="2026-01-01T00:00:00Z", record_type="response", warc_file="portal-x-00001-1~other.warc.gz",
            warc_offset=0, warc_length=10, warc_record_id="<urn:uuid:elsewhere>", method="GET"))
    result = verify(tmp_path)
    assert result.returncode == 0, result.stdout
    assert "1 rows of other hosts' files not checked" in result.stdout
