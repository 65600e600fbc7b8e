"""Chinese full-text search that stays fast at millions of articles.

Chinese has no spaces, so words cannot be indexed. On SQLite the index is a contentless
FTS5 table, ``articles_search``, over each article's title and body cut into overlapping
character bigrams ("消防安全" -> "消防 防安 安全" plus the run's last character, so a
one-character query is a prefix query). Any phrase of two or more characters is then the
AND of its bigrams; every candidate is checked against the text itself, so hits are exact.

The table stores no text (``content=''``) and no positions (``detail=none``): the article
text lives once, in ``articles``. Its rowid is not the article id but a sort key, the
publication time in the high bits and the article id in the low ones, so FTS5 walks the
hits newest first and a search stops after the first ``limit`` verified ones instead of
sorting every match. The archive writer keeps the table in step (``index_articles``) in the
same transaction as the rows; ``rebuild`` makes it again from ``articles``.

PostgreSQL keeps its pg_trgm GIN indexes and an index on (published_at, id): a search first
walks the newest articles (common terms are found at once), and only falls back to the
trigram index, or a full scan for one or two characters, when that window is not enough.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, literal, or_, select

from archive.models import articles

# Runs of letters and digits; punctuation and spaces separate runs (no bigram spans them).
_RUN = re.compile(r"[^\W_]+")
_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
ID_BITS = 32  # article ids below 2**32; the publication day takes the bits above
_ID_MASK = (1 << ID_BITS) - 1
_EPOCH = date(1900, 1, 1)
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

CREATE_SQLITE = ("CREATE VIRTUAL TABLE articles_search USING fts5("
                 "grams, content='', detail=none, tokenize='ascii')")
# Merge segments less eagerly than FTS5's default of 4: about a quarter less write work per
# article, searches as fast (measured with bench/index).
TUNE_SQLITE = "INSERT INTO articles_search(articles_search, rank) VALUES ('automerge', 8)"
# Newest-first rows a PostgreSQL search tests one by one before it asks the trigram index
# (or, under three characters, scans): enough for any term in over ~2% of articles.
PG_WINDOW = 1_000


def bigrams(value: str | None) -> list[str]:
    """Overlapping two-character tokens of every letter/digit run, and each run's last character."""
    tokens: list[str] = []
    for run in _RUN.findall(value or ""):
        tokens.extend(map(operator.add, run, run[1:]))  # pairs made in C: 20% faster than slicing
        tokens.append(run[-1])
    return tokens


def grams(title: str | None, body: str | None) -> str:
    """What ``articles_search`` indexes for one article: its tokens, space separated."""
    return " ".join(bigrams(title) + bigrams(body))


def day_number(published_at: str | None) -> int:
    """Days from 1900-01-01 to the publication day, plus one; 0 when there is no readable date."""
    match = _DAY.match(published_at or "")
    if match:
        try:
            days = (date(*(int(part) for part in match.groups())) - _EPOCH).days
        except ValueError:
            days = -1
        if days >= 0:
            return days + 1
    return 0


def sort_key(published_at: str | None, article_id: int) -> int:
    """The search table's rowid: publication day in the high bits, article id in the low ones.

    FTS5 then lists hits day by day, newest day first; within a day the few candidates are
    put in exact (published_at, id) order by SQL. A day, not the second, keeps the rowid
    deltas FTS5 stores small: the table is about a third of the size it would be.
    """
    if article_id > _ID_MASK:
        raise ValueError(f"article id {article_id} is beyond the search key's {ID_BITS} bits")
    return (day_number(published_at) << ID_BITS) | article_id


def index_articles(conn: Connection, rows: Iterable[dict[str, Any]]) -> None:
    """Add articles (dicts with id, published_at, title, body) to the search table (SQLite)."""
    if conn.dialect.name != "sqlite":
        return  # PostgreSQL maintains its own indexes
    params = [(sort_key(row.get("published_at"), row["id"]), grams(row.get("title"), row.get("body")))
              for row in rows]
    if params:
        conn.exec_driver_sql("INSERT INTO articles_search(rowid, grams) VALUES (?, ?)", params)


def rebuild(conn: Connection, batch: int = 5000) -> int:
    """Empty the search table and index every article again (SQLite); returns the count."""
    if conn.dialect.name != "sqlite":
        return 0
    conn.exec_driver_sql("INSERT INTO articles_search(articles_search) VALUES ('delete-all')")
    count, last = 0, 0
    while True:
        rows = conn.execute(
            select(articles.c.id, articles.c.published_at, articles.c.title, articles.c.body)
            .where(articles.c.id > last).order_by(articles.c.id).limit(batch)
        ).mappings().all()
        if not rows:
            return count
        index_articles(conn, rows)
        count += len(rows)
        last = rows[-1]["id"]


def _match(query: str) -> str | None:
    """The FTS5 query for ``query``: all its bigrams; a lone character as a prefix."""
    terms = []
    for run in _RUN.findall(query):
        if len(run) == 1:
            terms.append(f'"{run}"*')
        else:
            terms.extend(f'"{run[i:i + 2]}"' for i in range(len(run) - 1))
    return " AND ".join(dict.fromkeys(terms)) or None


def ascii_lower(value: str) -> str:
    """Lower-case ASCII letters only (what SQLite's lower() and the ascii tokenizer do)."""
    return value.translate(_ASCII_LOWER)


def _contains(query: str):
    """Title or body contains the query (ASCII letters in any case), checked on the text."""
    needle = literal(ascii_lower(query))
    if not any(char.isascii() and char.isalpha() for char in query):
        # No letter to fold: skip lower() and the copy of every body it makes.
        return or_(func.instr(articles.c.title, needle) > 0, func.instr(articles.c.body, needle) > 0)
    return or_(func.instr(func.lower(articles.c.title), needle) > 0,
               func.instr(func.lower(articles.c.body), needle) > 0)


def search(conn: Connection, query: str, columns: list, conditions: list, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` articles containing ``query`` that meet ``conditions``."""
    if limit <= 0 or not query:
        return []
    if conn.dialect.name == "sqlite":
        match = _match(query)
        if match is not None:
            return _search_sqlite(conn, query, match, columns, conditions, limit)
        return _scan(conn, _contains(query), columns, conditions, limit)
    return _search_postgres(conn, query, columns, conditions, limit)


def _search_sqlite(conn: Connection, query: str, match: str, columns: list, conditions: list,
                   limit: int) -> list[dict[str, Any]]:
    """Walk the hits day by day from the newest; each finished day is ordered exactly in SQL."""
    found: list[int] = []
    pending: list[int] = []  # keys of the day the walk is still in
    before, chunk = (1 << 63) - 1, max(limit * 4, 100)
    contains = _contains(query)
    while len(found) < limit:
        keys = [key for (key,) in conn.exec_driver_sql(
            "SELECT rowid FROM articles_search WHERE articles_search MATCH ? AND rowid < ? "
            "ORDER BY rowid DESC LIMIT ?", (match, before, chunk))]
        if keys:
            before = keys[-1]
            pending += keys
            open_day = keys[-1] >> ID_BITS
            done = [key for key in pending if key >> ID_BITS > open_day]
            pending = [key for key in pending if key >> ID_BITS == open_day]
        else:
            done, pending = pending, []
        if done:
            found += _verified(conn, done, contains, conditions, limit - len(found))
        if not keys:
            break
        chunk = min(chunk * 4, 20_000)
    if not found:
        return []
    rows = {row["id"]: dict(row) for row in conn.execute(select(*columns).where(articles.c.id.in_(found))).mappings()}
    return [rows[article_id] for article_id in found if article_id in rows]


def _verified(conn: Connection, keys: list[int], contains, conditions: list, wanted: int) -> list[int]:
    """Ids of the candidates that hold the phrase and meet the filters, newest first (at most ``wanted``)."""
    by_id = {key & _ID_MASK: key for key in keys}
    rows = conn.execute(
        select(articles.c.id, articles.c.published_at)
        # Ids inline (literal_execute): a busy day may hold more candidates than SQL parameters.
        .where(articles.c.id.in_(bindparam("ids", list(by_id), expanding=True, literal_execute=True)),
               contains, *conditions)
        .order_by(articles.c.published_at.desc(), articles.c.id.desc())
    )
    # An entry left by a row deleted by hand (its id since reused) has a stale key: skipped.
    ids = [row.id for row in rows if sort_key(row.published_at, row.id) == by_id[row.id]]
    return ids[:wanted]


def _newest_first(columns: list):
    """Newest first; undated articles last on both backends (PostgreSQL puts NULLs first)."""
    return select(*columns).order_by(articles.c.published_at.desc().nulls_last(), articles.c.id.desc())


def _scan(conn: Connection, contains, columns: list, conditions: list, limit: int) -> list[dict[str, Any]]:
    statement = _newest_first(columns).where(contains, *conditions).limit(limit)
    return [dict(row) for row in conn.execute(statement).mappings()]


def _search_postgres(conn: Connection, query: str, columns: list, conditions: list,
                     limit: int) -> list[dict[str, Any]]:
    lowered = query.lower()
    contains = or_(func.strpos(func.lower(articles.c.title), lowered) > 0,
                   func.strpos(func.lower(articles.c.body), lowered) > 0)
    # The newest PG_WINDOW dated articles, in (published_at, id) index order, tested one by
    # one until ``limit`` hit: a common term stops after a few dozen rows, and a rare one
    # costs a bounded window whatever the archive's size. (Undated articles sort last, so
    # the window may leave them out.)
    window = (select(*columns, contains.label("hit"))
              .where(articles.c.published_at.isnot(None), *conditions)
              .order_by(articles.c.published_at.desc(), articles.c.id.desc()).limit(PG_WINDOW).subquery())
    rows = [dict(row) for row in conn.execute(
        select(*(window.c[column.name] for column in columns)).where(window.c.hit).limit(limit)).mappings()]
    if len(rows) == limit:
        return rows
    if len(query) >= 3:
        # ILIKE lets the planner use the pg_trgm GIN indexes (three characters or more).
        escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        contains = and_(or_(articles.c.title.ilike(pattern, escape="\\"),
                            articles.c.body.ilike(pattern, escape="\\")), contains)
    return _scan(conn, contains, columns, conditions, limit)
