"""Chinese full-text search without a segmenter, and views for the common questions.

SQLite gets an FTS5 table with the trigram tokenizer, kept in step with ``articles`` by
triggers; PostgreSQL gets pg_trgm GIN indexes, which serve LIKE '%...%' searches.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

VIEWS = {
    # Every article with where its capture sits: the join researchers write most.
    "article_captures": """
        SELECT a.id AS article_id, a.url, a.site, a.channel, a.title, a.published_at, a.source, a.author,
               a.views, a.body, c.id AS capture_id, c.crawl_id, c.fetched_at, c.status, c.record_type,
               c.payload_digest, c.warc_file, c.warc_offset, c.warc_length, c.warc_record_id
        FROM articles a JOIN captures c ON c.id = a.capture_id""",
    # Articles per site and month of publication.
    "articles_per_month": """
        SELECT site, substr(published_at, 1, 7) AS month, count(*) AS articles
        FROM articles GROUP BY site, substr(published_at, 1, 7)""",
    # The latest capture of each URL.
    "latest_captures": """
        SELECT c.* FROM captures c
        JOIN (SELECT url, max(id) AS id FROM captures GROUP BY url) latest ON latest.id = c.id""",
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE articles_fts USING fts5("
                   "title, body, content='articles', content_rowid='id', tokenize='trigram')")
        op.execute("INSERT INTO articles_fts(rowid, title, body) SELECT id, title, body FROM articles")
        op.execute("""CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
            INSERT INTO articles_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END""")
        op.execute("""CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
            INSERT INTO articles_fts(articles_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
            END""")
        op.execute("""CREATE TRIGGER articles_fts_update AFTER UPDATE ON articles BEGIN
            INSERT INTO articles_fts(articles_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
            INSERT INTO articles_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END""")
    else:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_articles_title_trgm ON articles USING gin (title gin_trgm_ops)")
        op.execute("CREATE INDEX ix_articles_body_trgm ON articles USING gin (body gin_trgm_ops)")
    for name, query in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {query}")
    op.create_index("ix_captures_fetched", "captures", ["fetched_at"])
    op.create_index("ix_articles_channel", "articles", ["site", "channel"])


def downgrade() -> None:
    op.drop_index("ix_articles_channel", "articles")
    op.drop_index("ix_captures_fetched", "captures")
    for name in VIEWS:
        op.execute(f"DROP VIEW {name}")
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER articles_fts_{trigger}")
        op.execute("DROP TABLE articles_fts")
    else:
        op.execute("DROP INDEX ix_articles_body_trgm")
        op.execute("DROP INDEX ix_articles_title_trgm")
