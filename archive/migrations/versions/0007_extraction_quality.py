"""Extraction quality and 信息公开 fields on articles.

``confidence`` (0-1) and ``extraction_warnings`` (comma-separated names) say how far an
article's text can be trusted; the 信息公开 (government information disclosure) block's
索引号, 发布机构/发文机关, 成文日期, 文号/发文字号, 主题分类 and 有效性 get their own columns so
researchers can query government documents by issuer, document number or index number.
Values read from the page are TEXT (a page may hold any length; PostgreSQL enforces VARCHAR sizes).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COLUMNS = (
    ("confidence", sa.Float),
    ("extraction_warnings", sa.Text),
    ("index_no", sa.Text),
    ("issuer", sa.Text),
    ("written_at", sa.String(40)),
    ("doc_no", sa.Text),
    ("topic", sa.Text),
    ("validity", sa.Text),
)


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        for name, kind in COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
    op.create_index("ix_articles_issuer", "articles", ["issuer"])
    op.create_index("ix_articles_doc_no", "articles", ["doc_no"])
    op.create_index("ix_articles_index_no", "articles", ["index_no"])


def downgrade() -> None:
    for name in ("ix_articles_index_no", "ix_articles_doc_no", "ix_articles_issuer"):
        op.drop_index(name, table_name="articles")
    with op.batch_alter_table("articles") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
