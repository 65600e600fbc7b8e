"""PostgreSQL short-term search: a bigram GIN expression index replaces the trigram ones.

- PostgreSQL: ``archive_grams(title, body)`` (archive/search.py) makes a tsvector of every
  pair of adjacent characters and the last character; ``ix_articles_grams`` is a GIN index
  over it. Nothing is stored in a table: the text lives once, in ``articles``, and the
  index is built from the rows already there (the backfill) and kept by the server on
  every write. It serves phrases of any length, one and two characters included, which the
  pg_trgm indexes of 0002 could not; those are dropped (they cost write time and 38% of
  the index's size).
- SQLite: nothing (its bigram table is 0008's ``articles_search``).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

from archive import search

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(search.CREATE_PG_GRAMS)
    op.execute(search.CREATE_PG_GRAMS_INDEX)
    # No planner statistics for the expression: ANALYZE would compute archive_grams for
    # every sampled row (80 s instead of 0.3 s at 20,000 articles), and the plans do not
    # need them (the function's COST already rules out row-by-row plans).
    op.execute("ALTER INDEX ix_articles_grams ALTER COLUMN 1 SET STATISTICS 0")
    op.execute("DROP INDEX IF EXISTS ix_articles_title_trgm")
    op.execute("DROP INDEX IF EXISTS ix_articles_body_trgm")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE INDEX ix_articles_title_trgm ON articles USING gin (title gin_trgm_ops)")
    op.execute("CREATE INDEX ix_articles_body_trgm ON articles USING gin (body gin_trgm_ops)")
    op.execute("DROP INDEX ix_articles_grams")
    op.execute("DROP FUNCTION archive_grams(text, text)")
