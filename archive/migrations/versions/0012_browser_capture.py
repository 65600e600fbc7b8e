"""Browser captures: ``captures.browser`` names the browser that made the request.

A page only a browser can read (issue 19) is opened in headless Chromium, and every request
the page makes goes through the crawler's downloader; those captures carry the browser's
product/version here (and ``WARC-Browser`` in their records), NULL for plain requests, so
nobody takes a browser capture for a plain one.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("captures") as batch:
        batch.add_column(sa.Column("browser", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("captures") as batch:
        batch.drop_column("browser")
