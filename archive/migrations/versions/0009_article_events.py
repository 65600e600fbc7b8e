"""Article events: what each re-check of a known article found, and views over them.

``article_events`` gets a row per re-check (archive/events.py); ``article_status`` gives
each article's current status, ``article_edits`` both texts of every edit with their WARC
records. ``revisit_claims`` keeps crawlers that share the index from re-checking one
article twice (crawler/schedule/revisit.py).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

VIEWS = {
    # Each archived article URL: how many text versions, and what the last re-check that
    # reached the server said (status 'archived' = never re-checked; blocked checks skipped).
    "article_status": """
        SELECT a.url, a.site, a.versions, a.latest_article_id,
               COALESCE(s.kind, 'archived') AS status, s.detected_at AS status_at,
               CASE WHEN s.kind IN ('deleted', 'redirected-away', 'soft-deleted') THEN 1 ELSE 0 END AS gone,
               l.kind AS last_kind, l.detected_at AS last_checked_at
        FROM (SELECT url, max(site) AS site, count(*) AS versions, max(id) AS latest_article_id
              FROM articles GROUP BY url) a
        LEFT JOIN article_events s ON s.id = (
            SELECT max(e.id) FROM article_events e WHERE e.url = a.url AND e.kind <> 'blocked')
        LEFT JOIN article_events l ON l.id = (SELECT max(e.id) FROM article_events e WHERE e.url = a.url)""",
    # Every edit with the text before and after, each with its WARC record.
    "article_edits": """
        SELECT e.id AS event_id, e.url, e.site, e.detected_at, e.detail,
               o.id AS old_article_id, o.title AS old_title, o.published_at AS old_published_at, o.body AS old_body,
               oc.fetched_at AS old_fetched_at, oc.warc_file AS old_warc_file, oc.warc_offset AS old_warc_offset,
               n.id AS new_article_id, n.title AS new_title, n.published_at AS new_published_at, n.body AS new_body,
               nc.fetched_at AS new_fetched_at, nc.warc_file AS new_warc_file, nc.warc_offset AS new_warc_offset
        FROM article_events e
        JOIN articles o ON o.id = e.article_id
        LEFT JOIN captures oc ON oc.id = o.capture_id
        LEFT JOIN articles n ON n.capture_id = e.capture_id
        LEFT JOIN captures nc ON nc.id = e.capture_id
        WHERE e.kind = 'edited'""",
}


def upgrade() -> None:
    op.create_table(
        "article_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("site", sa.String(200)),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("detected_at", sa.String(32), nullable=False),
        sa.Column("crawl_id", sa.Integer, sa.ForeignKey("crawls.id")),
        sa.Column("capture_id", sa.Integer, sa.ForeignKey("captures.id")),
        sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id")),
        sa.Column("previous_capture_id", sa.Integer, sa.ForeignKey("captures.id")),
        sa.Column("detail", sa.Text),
    )
    op.create_index("ix_article_events_url", "article_events", ["url"])
    op.create_index("ix_article_events_site_detected", "article_events", ["site", "detected_at"])
    op.create_index("ix_article_events_kind", "article_events", ["kind"])
    op.create_table(
        "revisit_claims",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("url", sa.Text, nullable=False, unique=True),
        sa.Column("crawl_id", sa.Integer, sa.ForeignKey("crawls.id"), nullable=False),
        sa.Column("claimed_at", sa.String(32), nullable=False),
    )
    for name, query in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {query}")


def downgrade() -> None:
    for name in VIEWS:
        op.execute(f"DROP VIEW {name}")
    op.drop_table("revisit_claims")
    op.drop_table("article_events")
