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

PostgreSQL (migration 0010) has a GIN expression index, ``ix_articles_grams``, over
``archive_grams(title, body)``: a tsvector of every pair of adjacent characters of the
title and body (ASCII letters folded) and the last character, computed by the server and
stored nowhere but in the index. A phrase is the AND of its pairs, one character a prefix
match. A search first walks the newest articles (common terms are found at once; a phrase
absent from the newest few hundred skips the rest of the walk); when that window is not
enough it takes the index's candidates in (published_at, id) order, a
chunk at a time, and checks each against the text, so any phrase of any length is found
through the index.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import Connection, Select, bindparam, cast, func, literal, or_, select
from sqlalchemy.dialects.postgresql import TSQUERY

from archive.models import articles

# Runs of letters and digits; punctuation and spaces separate runs (no bigram spans them).
_RUN = re.compile(r"[^\W_]+")
_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
ID_BITS = 32  # article ids below 2**32; the publication day takes the bits above
_ID_MASK = (1 << ID_BITS) - 1
_EPOCH = date(1900, 1, 1)

CREATE_SQLITE = ("CREATE VIRTUAL TABLE articles_search USING fts5("
                 "grams, content='', detail=none, tokenize='ascii')")
# Merge segments less eagerly than FTS5's default of 4: about a quarter less write work per
# article, searches as fast (measured with bench/index).
TUNE_SQLITE = "INSERT INTO articles_search(articles_search, rank) VALUES ('automerge', 8)"
# Newest-first rows a PostgreSQL search tests one by one before it asks the bigram index:
# enough for any term in over ~2% of articles. The first PG_PROBE of them are tested
# alone: when none holds the phrase it is rare (under ~1.5% of articles: 20 hits in the
# window are then unlikely), and the search goes to the index without testing the rest.
PG_WINDOW = 1_000
PG_PROBE = 200
_UPPER, _LOWER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"
_ASCII_LOWER = str.maketrans(_UPPER, _LOWER)
# A text longer than this many characters gets one marker lexeme instead of its pairs
# (a tsvector holds at most 1 MB of lexemes); every search takes such rows as candidates.
PG_MAX_CHARS = 100_000
PG_LONG_TEXT = "long text"  # three characters or more: never a pair or a last character
# The PostgreSQL index (migration 0010). Pairs come from two passes of '..' (even and odd
# offsets), each marking pair ends with \x01 (folded to a space beforehand) and split
# there: no per-character loop or row set (a third less CPU than one). The
# pass that ends one character short yields the last character. No locale enters
# (translate folds ASCII only; '.' is any character), so query and index agree on every
# server. COST keeps the planner from plans that evaluate it row by row.
_PG_FOLD = str.maketrans(_UPPER + "\x01", _LOWER + " ")
CREATE_PG_GRAMS = f"""CREATE FUNCTION archive_grams(title text, body text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE COST 10000 AS $$
  SELECT CASE WHEN length(t) > {PG_MAX_CHARS} THEN array_to_tsvector(ARRAY['{PG_LONG_TEXT}'])
         ELSE array_to_tsvector(array_remove(
             string_to_array(regexp_replace(t, '(..)', E'\\\\1\\x01', 'g'), E'\\x01')
             || string_to_array(regexp_replace(substr(t, 2), '(..)', E'\\\\1\\x01', 'g'), E'\\x01'), '')) END
  FROM (SELECT translate(coalesce(title, '') || E'\\n' || coalesce(body, ''),
                         E'{_UPPER}\\x01', '{_LOWER} ') AS t) AS folded
$$"""
CREATE_PG_GRAMS_INDEX = "CREATE INDEX ix_articles_grams ON articles USING gin (archive_grams(title, body))"


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


def _contains(query: str, dialect: str = "sqlite"):
    """Title or body contains the query (ASCII letters in any case), checked on the text."""
    needle = literal(ascii_lower(query))
    find = func.instr if dialect == "sqlite" else func.strpos
    if not any(char.isascii() and char.isalpha() for char in query):
        # No letter to fold: skip folding and the copy of every body it makes.
        return or_(find(articles.c.title, needle) > 0, find(articles.c.body, needle) > 0)
    if dialect == "sqlite":  # SQLite's lower() folds ASCII only
        return or_(find(func.lower(articles.c.title), needle) > 0, find(func.lower(articles.c.body), needle) > 0)
    return or_(find(func.translate(articles.c.title, _UPPER, _LOWER), needle) > 0,
               find(func.translate(articles.c.body, _UPPER, _LOWER), needle) > 0)


def _quoted(lexeme: str) -> str:
    """A tsquery operand taken as it is (quotes doubled, backslashes escaped)."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def pg_tsquery(query: str) -> str:
    """The tsquery for ``archive_grams``: all the query's pairs, or its one character as a
    prefix; or-ed with the marker of texts too long to index."""
    folded = query.translate(_PG_FOLD)
    if len(folded) == 1:
        terms = [_quoted(folded) + ":*"]
    else:
        terms = [_quoted(pair) for pair in dict.fromkeys(folded[i:i + 2] for i in range(len(folded) - 1))]
    return f"({' & '.join(terms)}) | {_quoted(PG_LONG_TEXT)}"


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


def pg_candidates(query: str, conditions: list = ()) -> Select:
    """Ids of the articles whose ``archive_grams`` hold every pair of ``query``, newest first."""
    grams = func.archive_grams(articles.c.title, articles.c.body).op("@@")(cast(literal(pg_tsquery(query)), TSQUERY))
    return _newest_first([articles.c.id]).where(grams, *conditions)


def _search_postgres(conn: Connection, query: str, columns: list, conditions: list,
                     limit: int) -> list[dict[str, Any]]:
    contains = _contains(query, "postgresql")

    def newest(rows_tested: int) -> list[dict[str, Any]]:
        """The hits among the newest ``rows_tested`` dated articles, in (published_at, id)
        index order, tested one by one until ``limit`` hit: a common term stops after a few
        dozen rows, and a rare one costs a bounded window whatever the archive's size.
        (Undated articles sort last, so the window may leave them out.)"""
        window = (select(*columns, contains.label("hit"))
                  .where(articles.c.published_at.isnot(None), *conditions)
                  .order_by(articles.c.published_at.desc(), articles.c.id.desc()).limit(rows_tested).subquery())
        return [dict(row) for row in conn.execute(
            select(*(window.c[column.name] for column in columns)).where(window.c.hit).limit(limit)).mappings()]

    rows = newest(PG_PROBE)
    if rows and len(rows) < limit and PG_WINDOW > PG_PROBE:
        rows = newest(PG_WINDOW)
    if len(rows) == limit:
        return rows
    # Rarer: the bigram index's candidates, newest first a chunk at a time (reading only
    # their ids), each chunk checked against the text. Chunks follow one another in the
    # same total order, so the hits come out in it.
    # For this transaction only: archive_grams' COST (which keeps the planner off row-by-row
    # plans) makes estimates large enough to start JIT compilation, 15-50 ms of nothing
    # here, and parallel workers, whose start (5-10 ms) outweighs the sort of a chunk of
    # candidates; and a bitmap that outgrew work_mem would go lossy and recompute
    # archive_grams for every row of its pages.
    conn.exec_driver_sql("SET LOCAL jit = off")
    conn.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
    conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")
    found: list[dict[str, Any]] = []
    offset, chunk = 0, max(limit * 4, 100)
    while True:
        ids = conn.execute(pg_candidates(query, conditions).offset(offset).limit(chunk)).scalars().all()
        if ids:
            found += [dict(row) for row in conn.execute(
                _newest_first(columns).where(articles.c.id.in_(ids), contains)).mappings()]
        if len(found) >= limit or len(ids) < chunk:
            return found[:limit]
        offset += chunk
        chunk = min(chunk * 4, 20_000)


# Characters of context on each side of a search hit's query.
SNIPPET_CONTEXT = 30


def snippet(body: str | None, query: str, context: int = SNIPPET_CONTEXT) -> str:
    """The query in its context: ``…前文【query】后文…``."""
    body = (body or "").replace("\n", " ")
    at = body.find(query)
    if at < 0:  # search matches ASCII letters in any case
        at = ascii_lower(body).find(ascii_lower(query))
    if at < 0:
        return body[: 2 * context] + ("…" if len(body) > 2 * context else "")
    start, end = max(0, at - context), min(len(body), at + len(query) + context)
    return ("…" if start else "") + body[start:at] + f"【{body[at:at + len(query)]}】" + body[at + len(query):end] + (
        "…" if end < len(body) else "")
