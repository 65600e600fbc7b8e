"""The index schema: migrations build exactly the models, and an old index upgrades in place."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import String, Text, create_engine, insert, select, text
from support import ROOT, index_url
from zygote import run

from archive.index import Index
from archive.models import MIGRATIONS, articles, captures, crawls, metadata, open_index, schema_revision, upgrade

pytestmark = pytest.mark.index


def head_revision() -> str:
    """The newest migration (engineers add migrations in parallel; the test follows them)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def test_migrations_build_the_models(tmp_path: Path):
    engine = open_index(index_url(tmp_path))
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    # The search tables (0008, 0011) and PostgreSQL's search indexes (0010, 0011: expressions
    # over a SQL function) are made by migrations, not by the models.
    extra = [entry for entry in diff if not (
        isinstance(entry, tuple) and entry[0] == "remove_table"
        and entry[1].name.startswith(("articles_search", "attachments_search"))
        or isinstance(entry, tuple) and entry[0] == "remove_index"
        and entry[1].name in ("ix_articles_grams", "ix_attachments_grams")
        or engine.dialect.name == "sqlite" and _same_affinity(entry)
    )]
    assert extra == []
    engine.dispose()


def _same_affinity(entry) -> bool:
    """VARCHAR(n) -> TEXT on SQLite: the same column to SQLite (TEXT affinity, lengths never
    enforced), so migration 0006 alters only PostgreSQL."""
    changes = entry if isinstance(entry, list) else [entry]
    return all(change[0] == "modify_type" and isinstance(change[5], String) and isinstance(change[6], Text)
               for change in changes)


def test_an_index_made_with_the_first_schema_upgrades_in_place(tmp_path: Path):
    url = index_url(tmp_path)
    old = create_engine(url)
    upgrade(old, "0001")
    assert schema_revision(old) == "0001"
    with old.begin() as conn:
        crawl = conn.execute(insert(crawls).values(spider="portal", started_at="2020-01-01T00:00:00Z",
                                                   status="finished")).inserted_primary_key[0]
        capture = conn.execute(insert(captures).values(
            crawl_id=crawl, url="http://x.gov.cn/a.html", status=200, fetched_at="2020-01-01T00:00:00Z",
            record_type="response", warc_file="a.warc.gz", warc_offset=0, warc_length=1, warc_record_id="<urn:a>",
            method="GET")).inserted_primary_key[0]
        conn.execute(insert(articles).values(capture_id=capture, url="http://x.gov.cn/a.html", title="旧文章",
                                             body="消防安全检查正文", published_at="2020-01-01T08:00+08:00"))
    old.dispose()
    result = run([sys.executable, "-m", "archive.cli", "db", "upgrade", "--index", url],
                 capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    engine = open_index(url, create=False)
    assert schema_revision(engine) == head_revision()
    with engine.connect() as conn:
        assert conn.execute(select(articles.c.title)).scalar_one() == "旧文章"
        assert conn.execute(text("SELECT articles FROM articles_per_month")).scalar_one() == 1
    hits = Index(engine, tmp_path / "warc").search("安全检")
    assert [hit["title"] for hit in hits] == ["旧文章"]
    engine.dispose()
