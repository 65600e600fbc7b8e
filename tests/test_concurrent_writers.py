"""Several crawler processes write into one index (and one WARC directory) at once."""

from __future__ import annotations

import subprocess
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select
from support import ROOT, crawl_command, index, verify, warc_files
from zygote import popen

from archive.models import articles, captures, crawls
from demo.server import DemoServer
from demo.site import build_site

pytestmark = [pytest.mark.slow, pytest.mark.index]


def test_crawlers_of_one_and_of_two_portals_share_one_index_without_duplicate_or_lost_rows(tmp_path):
    """Three crawls at once into one archive: two of the same portal (issue 10 item 10: each
    article indexed once, none missing) and one of another (no row lost or doubled)."""
    sites = [build_site(style="trs"), build_site(style="art", seed=3)]
    with DemoServer(sites[0]) as first, DemoServer(sites[1]) as second:
        processes = []
        for server in (first, first, second):
            # All at once, on purpose (ARCHIVE_BUSY=share): what this file tests.
            command = crawl_command(tmp_path, f"start_url={server.url}", settings={"ARCHIVE_BUSY": "share"})
            processes.append(popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        errors = [process.communicate(timeout=300)[1].decode() for process in processes]
        assert [process.returncode for process in processes] == [0, 0, 0], [error[-3000:] for error in errors]
        ports = {urlsplit(first.url).port: sites[0], urlsplit(second.url).port: sites[1]}
    with index(tmp_path).connect() as conn:
        runs = conn.execute(select(crawls.c.id, crawls.c.stats)).all()
        rows = conn.execute(select(func.count()).select_from(captures)).scalar_one()
        distinct = conn.execute(select(func.count(captures.c.warc_record_id.distinct()))).scalar_one()
        urls = conn.execute(select(articles.c.url)).scalars().all()
    assert len(runs) == 3
    assert rows == distinct == sum(run.stats["warc/captures"] for run in runs)
    per_site = {port: sorted(urlsplit(url).path for url in urls if urlsplit(url).port == port) for port in ports}
    assert per_site == {port: sorted(site.articles) for port, site in ports.items()}  # once each, none missing
    assert sum(run.stats["warc/articles"] for run in runs) == len(urls)
    assert len({path.name.split("-")[-1] for path in warc_files(tmp_path)}) == 3  # one writer, one pid each
    result = verify(tmp_path)
    assert result.returncode == 0, result.stdout
