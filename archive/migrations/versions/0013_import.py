"""WARC files of other tools, indexed in place by ``portal-archive import``.

``warc_files`` says where the bytes of each imported file are (its absolute path, or the
WACZ holding it and where the entry starts), under the name ``captures.warc_file`` holds;
and how far an interrupted import got (``status``, ``resume_offset``). Files of the
archive's own WARC directory need no row: ``captures.warc_file`` names them there.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "warc_files",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(300), nullable=False, unique=True),
        sa.Column("path", sa.Text),
        sa.Column("member", sa.Text),
        sa.Column("base_offset", sa.BigInteger, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("mtime_ns", sa.BigInteger),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("resume_offset", sa.BigInteger, nullable=False),
        sa.Column("crawl_id", sa.Integer, sa.ForeignKey("crawls.id")),
        sa.Column("software", sa.Text),
        sa.Column("records", sa.Integer),
        sa.Column("captures", sa.Integer),
        sa.Column("articles", sa.Integer),
        sa.Column("imported_at", sa.String(32)),
    )
    op.create_index("ix_warc_files_path", "warc_files", ["path", "member"])


def downgrade() -> None:
    op.drop_index("ix_warc_files_path", "warc_files")
    op.drop_table("warc_files")
