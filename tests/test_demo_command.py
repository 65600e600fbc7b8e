"""The README's main command: serve the demo portal on loopback and archive it; run it again
and it shows an incremental re-crawl of a portal that changed meanwhile (issue 25)."""

from __future__ import annotations

import subprocess
import sys
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from support import POSTGRES, ROOT
from zygote import run

from archive.models import article_events, articles, index_url_for, open_index
from demo.__main__ import NEW_ON_RERUN, README_ARTICLE
from demo.site import build_site

# The demo writes its own SQLite index (the README's main command): run in the SQLite pass.
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(bool(POSTGRES), reason="the demo writes SQLite: run in the SQLite pass")]


def demo(archive) -> subprocess.CompletedProcess[str]:
    result = run([sys.executable, "-m", "demo", "--archive", str(archive)], cwd=ROOT,
                 capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    return result


def test_python_m_demo_archives_the_demo_portal_and_a_rerun_is_incremental(tmp_path):
    everything = build_site()
    first = demo(tmp_path / "demo")
    published = len(everything.articles) - NEW_ON_RERUN
    assert f"articles indexed by this crawl: {published}" in first.stdout
    assert f"articles: {published} new, 0 changed" in first.stdout
    assert "captures by HTTP status: 200:" in first.stdout and "404: 1" in first.stdout
    assert list((tmp_path / "demo" / "warc").glob("*.warc.gz"))

    second = demo(tmp_path / "demo")
    assert "run 2: the portal has changed since the first run" in second.stdout
    assert f"articles: {NEW_ON_RERUN} new, 1 changed, 1 deleted" in second.stdout
    with open_index(index_url_for(tmp_path / "demo"), create=False).connect() as conn:
        urls = conn.execute(select(articles.c.url)).scalars().all()
        events = conn.execute(select(article_events.c.kind, article_events.c.url)).all()
    # The same URLs both times: every article once, the corrected one twice (two versions).
    assert len({urlsplit(url).port for url in urls}) == 1
    assert sorted(urlsplit(url).path for url in urls) == sorted([*everything.articles, README_ARTICLE])
    assert {(kind, urlsplit(url).path) for kind, url in events if kind != "unchanged"} == {
        ("edited", README_ARTICLE), ("deleted", sorted(p for p in everything.articles if p != README_ARTICLE)[0])}
