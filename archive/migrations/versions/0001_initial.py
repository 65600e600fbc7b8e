"""The first schema: crawls, captures, articles.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crawls",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("spider", sa.String(100), nullable=False),
        sa.Column("site", sa.String(200)),
        sa.Column("started_at", sa.String(32), nullable=False),
        sa.Column("finished_at", sa.String(32)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("hostname", sa.String(200)),
        sa.Column("pid", sa.Integer),
        sa.Column("stats", sa.JSON),
    )
    op.create_table(
        "captures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("crawl_id", sa.Integer, sa.ForeignKey("crawls.id"), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("status", sa.Integer),
        sa.Column("content_type", sa.String(200)),
        sa.Column("fetched_at", sa.String(32), nullable=False),
        sa.Column("payload_digest", sa.String(100)),
        sa.Column("record_type", sa.String(20), nullable=False),
        sa.Column("warc_file", sa.String(300), nullable=False),
        sa.Column("warc_offset", sa.BigInteger, nullable=False),
        sa.Column("warc_length", sa.BigInteger, nullable=False),
        sa.Column("warc_record_id", sa.String(100), nullable=False, unique=True),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("payload_length", sa.BigInteger),
        sa.Column("ip_address", sa.String(64)),
        sa.Column("truncated", sa.String(20)),
        sa.Column("request_offset", sa.BigInteger),
        sa.Column("request_length", sa.BigInteger),
        sa.Column("warc_date", sa.String(40)),
        sa.Column("etag", sa.String(300)),
        sa.Column("last_modified", sa.String(100)),
        sa.Column("flags", sa.String(200)),
        sa.Column("refers_to_id", sa.Integer, sa.ForeignKey("captures.id")),
    )
    op.create_index("ix_captures_url", "captures", ["url"])
    op.create_index("ix_captures_digest", "captures", ["payload_digest"])
    op.create_index("ix_captures_file_offset", "captures", ["warc_file", "warc_offset"])
    op.create_index("ix_captures_crawl", "captures", ["crawl_id"])
    op.create_table(
        "articles",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("capture_id", sa.Integer, sa.ForeignKey("captures.id")),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("site", sa.String(200)),
        sa.Column("channel", sa.String(200)),
        sa.Column("title", sa.Text),
        sa.Column("published_at", sa.String(40)),
        sa.Column("source", sa.String(300)),
        sa.Column("author", sa.String(300)),
        sa.Column("views", sa.Integer),
        sa.Column("body", sa.Text),
        sa.Column("site_name", sa.String(200)),
        sa.Column("encoding", sa.String(100)),
        sa.Column("body_digest", sa.String(40)),
    )
    op.create_index("ix_articles_url", "articles", ["url"])
    op.create_index("ix_articles_site_published", "articles", ["site", "published_at"])
    op.create_index("ix_articles_capture", "articles", ["capture_id"])


def downgrade() -> None:
    op.drop_table("articles")
    op.drop_table("captures")
    op.drop_table("crawls")
