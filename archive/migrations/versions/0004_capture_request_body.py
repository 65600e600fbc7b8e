"""The request body of a POST capture, as replay tools key it.

Listing endpoints (Hanweb dataproxy.jsp) are asked by POST; the answer depends on the form
body, so pywb tells such captures apart by a query made of the body. ``request_body``
keeps that query (cdxj-indexer's ``requestBody``) so CDXJ lines come from the index alone.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("captures") as batch:
        batch.add_column(sa.Column("request_body", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("captures") as batch:
        batch.drop_column("request_body")
