"""Index rows in bulk, the way each backend takes them fastest: COPY on PostgreSQL, one
prepared statement over many rows in one transaction on SQLite.

The crawl's writer adds a few hundred rows per transaction as pages arrive (archive/store.py);
``import`` and ``verify --repair`` have whole files of records at once. They go through here:
captures first (a record indexed before, by any writer, is skipped by its WARC-Record-ID),
then articles (a text indexed before is skipped by the unique (url, body_digest) rule), each
batch in the caller's transaction, so a batch is all in the index or none of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from archive import search
from archive.models import article_images, articles, capture_id_of, captures, utc_iso
from archive.warc_reader import RecordInfo

CAPTURE_COLUMNS = ("crawl_id", "url", "status", "content_type", "fetched_at", "payload_digest", "record_type",
                   "warc_file", "warc_offset", "warc_length", "warc_record_id", "method", "payload_length",
                   "ip_address", "truncated", "request_offset", "request_length", "warc_date", "etag",
                   "last_modified", "flags", "request_body")
ARTICLE_INSERT_COLUMNS = ("capture_id", "url", "site", "channel", "title", "published_at", "source", "author",
                          "views", "body", "site_name", "encoding", "body_digest", "confidence",
                          "extraction_warnings", "index_no", "issuer", "written_at", "doc_no", "topic", "validity")
# Rows per IN (...) lookup: well under SQLite's parameter limit.
_CHUNK = 500


def capture_row(item: RecordInfo, warc_file: str, crawl_id: int | None) -> dict[str, Any]:
    """A ``captures`` row for a record read back from a WARC file (``ref``: the WARC-Refers-To
    record id, resolved to ``refers_to_id`` on insert)."""
    date = item.date or ""
    return {
        "crawl_id": crawl_id,
        "url": item.url,
        "status": item.status,
        "content_type": item.content_type,
        "fetched_at": date[:19] + "Z" if date else utc_iso(),
        "warc_date": date or None,
        "payload_digest": item.payload_digest,
        "record_type": item.record_type,
        "warc_file": warc_file,
        "warc_record_id": item.record_id,
        "ip_address": item.ip_address,
        "truncated": item.truncated,
        "etag": item.etag,
        "last_modified": item.last_modified,
        "ref": item.refers_to,
        "browser": item.browser,
        "warc_offset": item.offset,
        "warc_length": item.length,
        "method": "GET",
        "payload_length": item.payload_length,
        "request_offset": None,
        "request_length": None,
        "flags": "truncated" if item.truncated else None,
        "request_body": None,
    }


def insert_captures(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Insert capture rows, skipping WARC-Record-IDs already indexed; returns how many were added.

    A revisit's ``ref`` becomes its ``refers_to_id`` when its original is indexed (earlier,
    or in this batch); one whose original is not there yet stays NULL (the import resolves
    those when it has read every file).
    """
    if not rows:
        return 0
    if conn.dialect.name == "postgresql":
        return _copy_captures(conn, rows)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    before = conn.exec_driver_sql("SELECT total_changes()").scalar()
    conn.execute(sqlite_insert(captures).values(refers_to_id=capture_id_of("ref")).on_conflict_do_nothing(),
                 list(rows))
    return conn.exec_driver_sql("SELECT total_changes()").scalar() - before


def _copy_captures(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """PostgreSQL: COPY into a temporary table, then one INSERT … SELECT that skips known records."""
    columns = CAPTURE_COLUMNS + ("ref",)
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS stage_captures ON COMMIT DELETE ROWS AS "
        f"SELECT {', '.join(CAPTURE_COLUMNS)}, warc_record_id AS ref FROM captures WITH NO DATA")
    _copy(conn, "stage_captures", columns, ([row.get(column) for column in columns] for row in rows))
    names = ", ".join(CAPTURE_COLUMNS)
    added = conn.exec_driver_sql(
        f"INSERT INTO captures ({names}) SELECT {names} FROM stage_captures "
        "ON CONFLICT (warc_record_id) DO NOTHING").rowcount
    # Originals in this same batch, or indexed before: one UPDATE for all.
    conn.exec_driver_sql(
        "UPDATE captures SET refers_to_id = original.id FROM stage_captures stage "
        "JOIN captures original ON original.warc_record_id = stage.ref "
        "WHERE stage.ref IS NOT NULL AND captures.warc_record_id = stage.warc_record_id "
        "AND captures.refers_to_id IS NULL")
    conn.exec_driver_sql("TRUNCATE stage_captures")
    return added


def _copy(conn: Connection, table: str, columns: Iterable[str], values: Iterable[list[Any]]) -> None:
    """COPY rows into ``table`` through psycopg's copy API, inside the caller's transaction."""
    cursor = conn.connection.driver_connection.cursor()
    try:
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in values:
                copy.write_row(row)
    finally:
        cursor.close()


def capture_ids(conn: Connection, record_ids: Iterable[str]) -> dict[str, int]:
    """``captures.id`` of each WARC-Record-ID that is indexed."""
    wanted = list(dict.fromkeys(record_ids))
    found: dict[str, int] = {}
    statement = select(captures.c.warc_record_id, captures.c.id).where(
        captures.c.warc_record_id.in_(bindparam("ids", expanding=True)))
    for start in range(0, len(wanted), _CHUNK):
        found.update((record_id, capture_id) for record_id, capture_id
                     in conn.execute(statement, {"ids": wanted[start:start + _CHUNK]}))
    return found


def insert_articles(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Insert article rows (``capture_id`` set), skipping texts (url, body_digest) already
    indexed; returns the rows added, each with its new ``id``. SQLite's search table gets them."""
    if not rows:
        return []
    if conn.dialect.name == "postgresql":
        # Writers sharing the index take turns at adding articles (as archive/store.py does):
        # the unique rule and the article_counts rows would otherwise let two lock each other.
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7202611281)")
        # The bigram GIN index takes new entries into its pending list and merges the list
        # into the tree when it passes the limit: merging 64 MB at a time (sorted in work_mem)
        # costs about a quarter less per article than the default 4 MB. ``finish_bulk`` merges
        # what is left, so searches never scan a long list.
        conn.exec_driver_sql("SET LOCAL gin_pending_list_limit = '64MB'")
        conn.exec_driver_sql("SET LOCAL work_mem = '256MB'")
        conn.exec_driver_sql(
            f"CREATE TEMP TABLE IF NOT EXISTS stage_articles ON COMMIT DELETE ROWS AS "
            f"SELECT {', '.join(ARTICLE_INSERT_COLUMNS)} FROM articles WITH NO DATA")
        _copy(conn, "stage_articles", ARTICLE_INSERT_COLUMNS,
              ([row.get(column) for column in ARTICLE_INSERT_COLUMNS] for row in rows))
        names = ", ".join(ARTICLE_INSERT_COLUMNS)
        returned = conn.exec_driver_sql(
            f"INSERT INTO articles ({names}) SELECT {names} FROM stage_articles "
            "ON CONFLICT (url, body_digest) DO NOTHING RETURNING id, url, body_digest").all()
        conn.exec_driver_sql("TRUNCATE stage_articles")
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = (sqlite_insert(articles).on_conflict_do_nothing()
                     .returning(articles.c.id, articles.c.url, articles.c.body_digest))
        values = [{column: row.get(column) for column in ARTICLE_INSERT_COLUMNS} for row in rows]
        returned = conn.execute(statement, values).all()
    by_key = {(url, digest): article_id for article_id, url, digest in returned}
    added, seen = [], set()
    for row in rows:
        key = (row["url"], row["body_digest"])
        if key in by_key and key not in seen:
            seen.add(key)
            added.append({**row, "id": by_key[key]})
    search.index_articles(conn, added)
    return added


def finish_bulk(conn: Connection) -> None:
    """After bulk inserts: PostgreSQL merges the search index's pending list now (see
    ``insert_articles``), not in the first crawl or search that meets it."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL work_mem = '256MB'")
        conn.exec_driver_sql("SELECT gin_clean_pending_list('ix_articles_grams'::regclass)")


def insert_images(conn: Connection, images: Iterable[tuple[int, Sequence[str]]]) -> None:
    """``article_images`` rows (article id, image URLs in body order), not yet linked to captures."""
    rows = [{"article_id": article_id, "position": position, "url": url}
            for article_id, urls in images for position, url in enumerate(urls)]
    if rows:
        conn.execute(insert(article_images), rows)


def link_images(conn: Connection, floor: int, crawl_id: int) -> int:
    """Point unlinked image rows at their image's latest capture with a payload: rows of
    articles above ``floor`` (this run's), and rows whose image this run (``crawl_id``) captured."""
    latest = (select(captures.c.id).where(captures.c.url == article_images.c.url, captures.c.status == 200)
              .order_by(captures.c.id.desc()).limit(1).scalar_subquery())
    this_run = select(captures.c.url).where(captures.c.crawl_id == crawl_id, captures.c.status == 200)
    result = conn.execute(
        update(article_images)
        .where(article_images.c.capture_id.is_(None),
               (article_images.c.article_id > floor) | article_images.c.url.in_(this_run))
        .values(capture_id=latest))
    return result.rowcount or 0
