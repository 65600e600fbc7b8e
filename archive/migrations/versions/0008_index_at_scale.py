"""Index at scale: bigram search table, one article row per (URL, text), ordering indexes.

- SQLite: the trigram FTS5 table (60% of the index, triggers on every write) becomes
  ``articles_search``, a contentless bigram FTS5 table keyed by publication order and kept
  by the archive writer (archive/search.py).
- Both: ``uq_articles_url_digest`` makes a second writer's copy of an article already
  indexed a no-op (two crawls of one portal into one index); it replaces ``ix_articles_url``,
  whose lookups it serves. Duplicate rows older crawls left are folded into the first.
- Both: ``article_counts``, articles per (site, channel) and per (site, month of
  publication), kept by triggers, so ``stats`` reads a few hundred rows instead of counting a million.
- Both: ``ix_articles_published`` gives search and export the newest-first order without
  a sort, and ``ix_captures_url_status`` answers "last good capture of URL" from the index.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from archive import search

revision = "0008"
down_revision = "0007"
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


# Two counts per article: by (site, channel) and by (site, month of publication); a site
# with many channels and years would make their product as large as the articles table.
# NULL site/channel/month are kept as '' (a key column cannot be NULL); stats reads NULL.
_KEYS = {"channel": "coalesce({0}.channel, '')", "month": "coalesce(substr({0}.published_at, 1, 7), '')"}
_ADD = ("INSERT INTO article_counts(kind, site, value, articles) VALUES ('{kind}', coalesce({row}.site, ''), {key}, 1) "
        "ON CONFLICT (kind, site, value) DO UPDATE SET articles = article_counts.articles + 1")
_REMOVE = ("UPDATE article_counts SET articles = articles - 1 "
           "WHERE kind = '{kind}' AND site = coalesce({row}.site, '') AND value = {key}")


def _changes(template: str, row: str) -> str:
    return "; ".join(template.format(kind=kind, row=row, key=key.format(row)) for kind, key in _KEYS.items())


def _count_triggers() -> list[str]:
    add, remove = _changes(_ADD, "NEW"), _changes(_REMOVE, "OLD")
    if op.get_bind().dialect.name == "sqlite":
        return [
            f"CREATE TRIGGER article_counts_insert AFTER INSERT ON articles BEGIN {add}; END",
            f"CREATE TRIGGER article_counts_delete AFTER DELETE ON articles BEGIN {remove}; END",
            "CREATE TRIGGER article_counts_update AFTER UPDATE OF site, channel, published_at ON articles "
            f"BEGIN {remove}; {add}; END",
        ]
    return [
        f"""CREATE FUNCTION article_counts_keep() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP IN ('DELETE', 'UPDATE') THEN {remove}; END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') THEN {add}; END IF;
            RETURN NULL;
        END $$""",
        "CREATE TRIGGER article_counts_keep AFTER INSERT OR DELETE OR UPDATE OF site, channel, published_at "
        "ON articles FOR EACH ROW EXECUTE FUNCTION article_counts_keep()",
    ]


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
    op.create_table(
        "article_counts",
        sa.Column("kind", sa.String(10), primary_key=True),
        sa.Column("site", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, primary_key=True),
        sa.Column("articles", sa.BigInteger, nullable=False),
    )
    for kind, key in _KEYS.items():
        value = key.format("articles")
        op.execute(f"INSERT INTO article_counts(kind, site, value, articles) SELECT '{kind}', "
                   f"coalesce(site, ''), {value}, count(*) FROM articles GROUP BY coalesce(site, ''), {value}")
    for statement in _count_triggers():
        op.execute(statement)
    if bind.dialect.name == "sqlite":
        op.execute(search.CREATE_SQLITE)
        op.execute(search.TUNE_SQLITE)
        search.rebuild(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER article_counts_{trigger}")
    else:
        op.execute("DROP TRIGGER article_counts_keep ON articles")
        op.execute("DROP FUNCTION article_counts_keep()")
    op.drop_table("article_counts")
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
