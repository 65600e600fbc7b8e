"""Images inside an article's body, linked to their captures, so an article can be exported
with its pictures (a notice is often its photo or its scanned document).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "article_images",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("capture_id", sa.Integer, sa.ForeignKey("captures.id")),
    )
    op.create_index("ix_article_images_article", "article_images", ["article_id", "position"])
    op.create_index("ix_article_images_url", "article_images", ["url"])


def downgrade() -> None:
    op.drop_index("ix_article_images_url", table_name="article_images")
    op.drop_index("ix_article_images_article", table_name="article_images")
    op.drop_table("article_images")
