"""Template lines learned per site, kept between crawls.

A daily incremental crawl sees only a few new articles per site, too few to learn a
site's template again; the lines learned by earlier crawls are loaded instead.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site_templates",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("line", sa.Text, nullable=False),
        sa.Column("learned_at", sa.String(32), nullable=False),
        sa.UniqueConstraint("site", "line", name="uq_site_templates_site_line"),
    )


def downgrade() -> None:
    op.drop_table("site_templates")
