"""Rare short phrases through the index (issue 12c): exact hits newest first on both backends,
and on PostgreSQL through ``ix_articles_grams`` (migration 0010), never a full scan."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from support import index_url
from test_index_scale import _corpus, _fill, _truth

from archive import search
from archive.index import Index
from archive.models import alembic_config, open_index, upgrade

pytestmark = pytest.mark.index

# (phrase planted, every how many articles): rare 1-, 2-, 3- and 8-character phrases, and
# phrases that need the tsquery's quoting, the ASCII folding or the \x01 folding.
PLANTED = [("鲸", 41), ("鲸鱼", 53), ("潜水艇", 59), ("深入开展消防演习", 67), ("a'b\\c", 71), ("Rare Term", 73),
           ("鲨\x01鳍", 79)]
RARE = ["鲸", "鲸鱼", "鱼", "潜水艇", "水艇", "深入开展消防演习", "a'b\\c", "'b", "\\", "RARE TERM", "e t",
        "鲨\x01鳍", "\x01"]
ABSENT = ["鲨 鳍", "鲨鱼", "鲨鱼馆", "完全不存在的短语", "'x", "鲸潜"]


def _planted(count: int = 400) -> list[dict]:
    rows = _corpus(count)
    for number, row in enumerate(rows):
        for phrase, every in PLANTED:
            if number % every == 0 and number:
                row["body"] += f"，{phrase}。"
                if number % 2:
                    row["title"] += phrase  # some in titles only
                    row["body"] = row["body"].replace(f"，{phrase}。", "，")
    return rows


# A small window and probe make most searches go past them to the index (the probe of 3
# finds nothing of a rare phrase; of a common one it finds some, the window of 7 too few).
@pytest.mark.parametrize(("window", "probe"), [(search.PG_WINDOW, search.PG_PROBE), (7, 3)])
def test_rare_and_absent_short_phrases_are_exact_and_newest_first(tmp_path: Path, monkeypatch, window: int, probe: int):
    monkeypatch.setattr(search, "PG_WINDOW", window)
    monkeypatch.setattr(search, "PG_PROBE", probe)
    rows = _planted()
    url = index_url(tmp_path)
    _fill(url, rows)
    index = Index(open_index(url, create=False), tmp_path / "warc")
    for phrase in RARE:
        truth = _truth(rows, phrase)
        assert truth, phrase
        for limit in (1, 3, 20, 1000):
            assert [hit["url"] for hit in index.search(phrase, limit=limit)] == truth[:limit], (phrase, limit)
        only_y = [hit["url"] for hit in index.search(phrase, site="y.gov.cn", limit=1000)]
        assert only_y == _truth(rows, phrase, "y.gov.cn"), phrase
    for phrase in ABSENT:
        assert _truth(rows, phrase) == [], phrase
        assert index.search(phrase) == [], phrase
    index.close()


@pytest.mark.postgres_only
def test_postgres_asks_the_bigram_index_for_every_length(tmp_path: Path):
    url = index_url(tmp_path)
    _fill(url, _planted())
    engine = open_index(url, create=False)
    with engine.connect() as conn:
        conn.execute(text("ANALYZE articles"))
        for phrase in ("鲸", "鲸鱼", "潜水艇", "深入开展消防演习", "鲨鱼"):
            statement = search.pg_candidates(phrase).limit(20)
            compiled = statement.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
            plan = "\n".join(line for (line,) in conn.execute(text(f"EXPLAIN {compiled}")))
            assert "ix_articles_grams" in plan, (phrase, plan)
            assert "Seq Scan" not in plan, (phrase, plan)
    engine.dispose()


@pytest.mark.postgres_only
def test_postgres_finds_phrases_in_texts_too_long_for_a_tsvector(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(search, "PG_WINDOW", 1)
    rows = _corpus(30)
    # 120,000 characters of 5,000 distinct ones: more pairs than a tsvector holds.
    long_body = "".join(chr(0x4E00 + (i * 7919) % 5000) for i in range(120_000)) + "鲸鱼馆"
    assert len(long_body) > search.PG_MAX_CHARS
    rows[5]["body"] = long_body
    rows[5]["body_digest"] = "long"
    rows[9]["body"] += "鲸鱼馆"
    url = index_url(tmp_path)
    _fill(url, rows)  # the insert itself must not fail
    index = Index(open_index(url, create=False), tmp_path / "warc")
    assert [hit["url"] for hit in index.search("鲸鱼馆", limit=100)] == _truth(rows, "鲸鱼馆")
    assert len(_truth(rows, "鲸鱼馆")) == 2
    assert index.search("鲨鱼馆") == []
    index.close()


def test_migration_0010_indexes_the_articles_already_there(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(search, "PG_WINDOW", 3)
    url = index_url(tmp_path)
    old = create_engine(url)
    upgrade(old, "0009")
    old.dispose()
    rows = _planted(150)
    _fill(url, rows)  # written by the 0009 schema (pg_trgm, no bigram index)
    engine = open_index(url)  # upgrades to head
    index = Index(engine, tmp_path / "warc")
    for phrase in ("鲸", "鲸鱼", "潜水艇", "深入开展消防演习", "消防"):
        assert [hit["url"] for hit in index.search(phrase, limit=1000)] == _truth(rows, phrase), phrase
    names = {entry["name"] for entry in inspect(engine).get_indexes("articles")}
    if engine.dialect.name == "postgresql":
        assert "ix_articles_grams" in names
        assert not {"ix_articles_title_trgm", "ix_articles_body_trgm"} & names
        with engine.begin() as conn:  # and back: the trigram indexes return, the function goes
            command.downgrade(alembic_config(conn), "0009")
        names = {entry["name"] for entry in inspect(engine).get_indexes("articles")}
        assert {"ix_articles_title_trgm", "ix_articles_body_trgm"} <= names and "ix_articles_grams" not in names
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM pg_proc WHERE proname = 'archive_grams'")).scalar() == 0
    index.close()
