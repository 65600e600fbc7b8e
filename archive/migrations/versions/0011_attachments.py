"""The documents behind the pages: attachment text, its links to articles, and search over it.

- ``attachments``: one row per attachment version (a capture of a PDF, OFD, DOC/DOCX,
  XLS/XLSX, ZIP ... whose text was read): type sniffed from the bytes, size, pages, text,
  status and error (archive/attachments.py; the text comes from crawler/extract/documents/).
- ``attachment_links``: an article version's attachment links, with their link text.
- SQLite: ``attachments_search``, a contentless bigram FTS5 table like ``articles_search``
  (0008), keyed by attachment id; existing rows are indexed here (none before 0011).
- PostgreSQL: ``ix_attachments_grams``, a GIN index over ``archive_grams('', text)`` (0010's
  function), as ``ix_articles_grams`` is over the articles.
- The view ``article_status`` no longer takes an ``attachment-changed`` event (a re-check of
  an article's attachment, archive/events.py) for the article's own status.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

CREATE_SQLITE_SEARCH = ("CREATE VIRTUAL TABLE attachments_search USING fts5("
                        "grams, content='', detail=none, tokenize='ascii')")
CREATE_PG_INDEX = "CREATE INDEX ix_attachments_grams ON attachments USING gin (archive_grams('', text))"

_STATUS_VIEW = """
        SELECT a.url, a.site, a.versions, a.latest_article_id,
               COALESCE(s.kind, 'archived') AS status, s.detected_at AS status_at,
               CASE WHEN s.kind IN ('deleted', 'redirected-away', 'soft-deleted') THEN 1 ELSE 0 END AS gone,
               l.kind AS last_kind, l.detected_at AS last_checked_at
        FROM (SELECT url, max(site) AS site, count(*) AS versions, max(id) AS latest_article_id
              FROM articles GROUP BY url) a
        LEFT JOIN article_events s ON s.id = (
            SELECT max(e.id) FROM article_events e WHERE e.url = a.url AND e.kind <> 'blocked'{extra})
        LEFT JOIN article_events l ON l.id = (SELECT max(e.id) FROM article_events e WHERE e.url = a.url{extra})"""


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("capture_id", sa.Integer, sa.ForeignKey("captures.id")),
        sa.Column("payload_digest", sa.String(100)),
        sa.Column("kind", sa.String(20)),
        sa.Column("content_type", sa.Text),
        sa.Column("size", sa.BigInteger),
        sa.Column("pages", sa.Integer),
        sa.Column("text", sa.Text),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("members", sa.JSON),
        sa.Column("extracted_at", sa.String(32), nullable=False),
    )
    op.create_index("uq_attachments_url_digest", "attachments", ["url", "payload_digest"], unique=True)
    op.create_index("ix_attachments_capture", "attachments", ["capture_id"])
    op.create_table(
        "attachment_links",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("attachment_id", sa.Integer, sa.ForeignKey("attachments.id")),
    )
    op.create_index("ix_attachment_links_article", "attachment_links", ["article_id", "position"])
    op.create_index("ix_attachment_links_url", "attachment_links", ["url"])
    op.create_index("ix_attachment_links_attachment", "attachment_links", ["attachment_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CREATE_PG_INDEX)
        op.execute("ALTER INDEX ix_attachments_grams ALTER COLUMN 1 SET STATISTICS 0")  # as 0010 does
    else:
        op.execute(CREATE_SQLITE_SEARCH)
    op.execute("DROP VIEW article_status")
    op.execute("CREATE VIEW article_status AS " + _STATUS_VIEW.format(extra=" AND e.kind NOT LIKE 'attachment-%'"))


def downgrade() -> None:
    op.execute("DROP VIEW article_status")
    op.execute("CREATE VIEW article_status AS " + _STATUS_VIEW.format(extra=""))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_attachments_grams")
    else:
        op.execute("DROP TABLE attachments_search")
    op.drop_table("attachment_links")
    op.drop_table("attachments")
