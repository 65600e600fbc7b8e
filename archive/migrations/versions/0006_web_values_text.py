"""Web values in TEXT columns: a server decides their length, not the schema.

A 400-character ETag or a 300-character ``ColumnName`` meta overflowed a VARCHAR(n) on
PostgreSQL and stopped indexing. Every column that stores a value taken from a response
or a page becomes TEXT. SQLite never enforced the lengths (its columns already hold any
length), so only PostgreSQL is altered; the views that read these columns are dropped and
recreated around the change, as PostgreSQL requires.

Revision ID: 0006
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None

# table -> {column: its former VARCHAR length}
WEB_VALUES = {
    "captures": {"content_type": 200, "etag": 300, "last_modified": 100, "truncated": 20, "flags": 200},
    "articles": {"site": 200, "channel": 200, "published_at": 40, "source": 300, "author": 300,
                 "site_name": 200, "encoding": 100},
    "crawls": {"site": 200},
    "site_templates": {"site": 200},
}


def _alter(to_text: bool) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    views = bind.execute(sa.text(
        "SELECT viewname, definition FROM pg_views WHERE schemaname = current_schema()")).all()
    for name, _ in views:
        op.execute(f'DROP VIEW IF EXISTS "{name}" CASCADE')
    for table, columns in WEB_VALUES.items():
        for column, length in columns.items():
            old, new = (sa.String(length), sa.Text()) if to_text else (sa.Text(), sa.String(length))
            op.alter_column(table, column, type_=new, existing_type=old)
    for name, definition in views:
        op.execute(f'CREATE VIEW "{name}" AS {definition}')


def upgrade() -> None:
    _alter(to_text=True)


def downgrade() -> None:
    _alter(to_text=False)
