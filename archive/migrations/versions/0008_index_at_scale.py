"""Index at scale: bigram search table, one article row per (URL, text), ordering indexes.

- SQLite: the trigram FTS5 table (60% of the index, triggers on every write) becomes
  ``articles_search``, a contentless bigram FTS5 table keyed by publication order and kept
  by the archive writer (archive/search.py).
- Both: ``uq_articles_url_digest`` makes a second writer's copy of an article already
  indexed a no-op (two crawls of one portal into one index); it replaces ``ix_articles_url``,
  whose lookups it serves. Duplicate rows older crawls left are folded into the first.
- Both: ``ix_articles_published`` gives search and export the newest-first order without
  a sort, and ``ix_captures_url_status`` answers "last good capture of URL" from the index.

Revision ID: 0008
Revises: 0003
"""

from __future__ import annotations

from alembic import op

from archive import search

revision = "0008"
down_revision = "0003"
branch_labels = None
depends_on = None

_TRIGGERS = {
    "insert": """CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
        INSERT INTO articles_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END""",
    "delete": """CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
        END""",
    "update": """CREATE TRIGGER articles_fts_update AFTER UPDATE ON articles BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
        INSERT INTO articles_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END""",
}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for trigger in _TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS articles_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS articles_fts")
    # Keep the first row of each (url, body_digest); later copies only repeat its text.
    op.execute("""DELETE FROM articles WHERE body_digest IS NOT NULL AND id > (
        SELECT min(earlier.id) FROM articles earlier
        WHERE earlier.url = articles.url AND earlier.body_digest = articles.body_digest)""")
    op.drop_index("ix_articles_url", "articles")
    op.create_index("uq_articles_url_digest", "articles", ["url", "body_digest"], unique=True)
    op.create_index("ix_articles_published", "articles", ["published_at", "id"])
    op.create_index("ix_captures_url_status", "captures", ["url", "status", "id"])
    op.drop_index("ix_captures_url", "captures")
    if bind.dialect.name == "sqlite":
        op.execute(search.CREATE_SQLITE)
        op.execute(search.TUNE_SQLITE)
        search.rebuild(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("DROP TABLE articles_search")
        op.execute("CREATE VIRTUAL TABLE articles_fts USING fts5("
                   "title, body, content='articles', content_rowid='id', tokenize='trigram')")
        op.execute("INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')")
        for statement in _TRIGGERS.values():
            op.execute(statement)
    op.create_index("ix_captures_url", "captures", ["url"])
    op.drop_index("ix_captures_url_status", "captures")
    op.drop_index("ix_articles_published", "articles")
    op.drop_index("uq_articles_url_digest", "articles")
    op.create_index("ix_articles_url", "articles", ["url"])
