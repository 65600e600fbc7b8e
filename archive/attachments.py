"""Attachments in the index: their versions and text, their links to articles, search, files.

The crawl reads each attachment's text (crawler/extract/documents/, in the attachment workers) and
hands the archive writer an ``AttachmentRow``; the writer calls ``AttachmentIndexer`` in
the same transaction as the captures and articles:

- an article row's attachment links become ``attachment_links`` rows, each pointing at
  the attachment version captured with it (or the latest earlier one);
- an attachment row is one version: a new payload of a URL adds a row, and when an earlier
  version exists (a re-crawl found the file changed), every article linking it gets an
  ``attachment-changed`` event (archive/events.py), old and new capture named;
- its text goes into the search index: ``attachments_search`` on SQLite (bigrams, as
  archive/search.py does for articles), ``ix_attachments_grams`` on PostgreSQL.

Reading (``Index.attachments``, ``search(within=...)``, ``portal-archive attachments``) is
plain SQL over these tables.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from sqlalchemy import Connection, bindparam, cast, exists, func, insert, literal, literal_column, select, update
from sqlalchemy.dialects.postgresql import TSQUERY

from archive import search
from archive.events import ATTACHMENT_CHANGED
from archive.models import article_events, articles, attachment_links, attachments, capture_id_of, captures, utc_iso

# The columns an attachment search hit names besides its article's.
HIT_COLUMNS = ("found_in", "attachment_id", "attachment_url", "attachment_title", "attachment_kind")


@dataclass
class AttachmentRow:
    """An attachment version to index, tied to its capture by the response's WARC-Record-ID.

    ``fields``: url, content_type, kind, size, pages, text, status, error, members."""

    record_id: str
    fields: dict[str, Any]


class AttachmentIndexer:
    """Kept by the archive writer for one crawl."""

    def __init__(self, conn: Connection) -> None:
        # Articles with a higher id were written by crawls running now (this one included).
        self.floor = conn.execute(select(func.coalesce(func.max(articles.c.id), 0))).scalar_one()

    def link(self, conn: Connection, links: Sequence[tuple[str, list[tuple[str, str | None]]]]) -> None:
        """Link rows for newly written articles: (article record id, [(url, link text)])."""
        for record_id, urls in links:
            article_id = conn.execute(
                select(func.max(articles.c.id)).where(articles.c.capture_id == capture_id_of("rid")),
                {"rid": record_id}).scalar()
            if article_id is None or conn.execute(
                    select(exists().where(attachment_links.c.article_id == article_id))).scalar():
                continue  # an article already indexed (same text): its links are there
            latest = select(func.max(attachments.c.id)).where(attachments.c.url == bindparam("u")).scalar_subquery()
            conn.execute(insert(attachment_links).values(url=bindparam("u"), attachment_id=latest), [
                {"article_id": article_id, "position": position, "u": url, "title": title}
                for position, (url, title) in enumerate(urls)])

    def write(self, conn: Connection, rows: Sequence[AttachmentRow], crawl_id: int | None) -> int:
        """Insert attachment versions after their captures; returns how many were new."""
        added = 0
        for row in rows:
            capture = conn.execute(select(captures.c.id, captures.c.payload_digest)
                                   .where(captures.c.warc_record_id == row.record_id)).first()
            if capture is None:
                continue
            url = row.fields["url"]
            previous = conn.execute(select(attachments.c.id, attachments.c.capture_id, attachments.c.payload_digest)
                                    .where(attachments.c.url == url).order_by(attachments.c.id.desc()).limit(1)).first()
            values = {**row.fields, "capture_id": capture.id, "payload_digest": capture.payload_digest,
                      "extracted_at": utc_iso()}
            attachment_id = conn.execute(_insert(conn).values(**values).on_conflict_do_nothing()
                                         .returning(attachments.c.id)).scalar()
            if attachment_id is None:
                continue  # this payload of this URL is indexed already (another writer, or before)
            added += 1
            index_text(conn, attachment_id, values.get("text"))
            conn.execute(update(attachment_links).where(attachment_links.c.url == url,
                                                        attachment_links.c.article_id > self.floor)
                         .values(attachment_id=attachment_id))
            if previous is not None and previous.payload_digest != capture.payload_digest:
                self._changed(conn, url, capture.id, previous.capture_id, crawl_id)
        return added

    @staticmethod
    def _changed(conn: Connection, url: str, capture_id: int, previous_capture_id: int | None,
                 crawl_id: int | None) -> None:
        """An ``attachment-changed`` event for the latest version of every article linking ``url``."""
        linking = (select(articles.c.url, func.max(articles.c.id).label("id"))
                   .join(attachment_links, attachment_links.c.article_id == articles.c.id)
                   .where(attachment_links.c.url == url).group_by(articles.c.url).subquery())
        rows = conn.execute(select(articles.c.id, articles.c.url, articles.c.site)
                            .join(linking, linking.c.id == articles.c.id)).all()
        if rows:
            conn.execute(insert(article_events), [{
                "url": row.url, "site": row.site, "kind": ATTACHMENT_CHANGED, "detected_at": utc_iso(),
                "crawl_id": crawl_id, "capture_id": capture_id, "article_id": row.id,
                "previous_capture_id": previous_capture_id, "detail": f"attachment changed: {url}"}
                for row in rows])


def _insert(conn: Connection):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(attachments)


def index_text(conn: Connection, attachment_id: int, text: str | None) -> None:
    """Add one attachment's text to the SQLite search table (PostgreSQL keeps its own index)."""
    if conn.dialect.name == "sqlite" and text:
        conn.exec_driver_sql("INSERT INTO attachments_search(rowid, grams) VALUES (?, ?)",
                             (attachment_id, " ".join(search.bigrams(text))))


# --- search ----------------------------------------------------------------------------------

def _contains(query: str, dialect: str):
    """The text holds the query (ASCII letters in any case), checked on the text itself."""
    needle = literal(search.ascii_lower(query))
    find = func.instr if dialect == "sqlite" else func.strpos
    text = attachments.c.text
    if any(char.isascii() and char.isalpha() for char in query):
        text = func.lower(text) if dialect == "sqlite" else func.translate(text, search._UPPER, search._LOWER)
    return find(text, needle) > 0


def _linked(conditions: list):
    """Some article linking the attachment's URL meets the conditions (none: always true)."""
    if not conditions:
        return literal(True)
    return exists().where(attachment_links.c.url == attachments.c.url, articles.c.id == attachment_links.c.article_id,
                          *conditions)


def search_attachments(conn: Connection, query: str, conditions: list, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` attachment versions whose text contains ``query``, each with the
    latest article linking it (that meets ``conditions``: site, channel, dates of the article)."""
    if limit <= 0 or not query:
        return []
    verify = [_contains(query, conn.dialect.name), _linked(conditions)]
    found: list[int] = []
    chunk, before = max(limit * 4, 100), None
    while len(found) < limit:
        ids = _candidates(conn, query, before, chunk)
        if ids is None:  # no bigram in the query: scan
            found = conn.execute(select(attachments.c.id).where(*verify).order_by(attachments.c.id.desc())
                                 .limit(limit)).scalars().all()
            break
        if ids:
            hits = set(conn.execute(select(attachments.c.id).where(attachments.c.id.in_(ids), *verify)).scalars())
            found += [attachment_id for attachment_id in ids if attachment_id in hits]
            before = ids[-1]
        if len(ids) < chunk:
            break
        chunk = min(chunk * 4, 20_000)
    return [_hit(conn, attachment_id, query, conditions) for attachment_id in found[:limit]]


def _candidates(conn: Connection, query: str, before: int | None, chunk: int) -> list[int] | None:
    """Attachment ids whose bigrams hold the query's, newest first, below ``before``."""
    if conn.dialect.name == "sqlite":
        match = search._match(query)
        if match is None:
            return None
        return [key for (key,) in conn.exec_driver_sql(
            "SELECT rowid FROM attachments_search WHERE attachments_search MATCH ? AND rowid < ? "
            "ORDER BY rowid DESC LIMIT ?", (match, before if before is not None else (1 << 63) - 1, chunk))]
    grams = func.archive_grams(literal_column("''"), attachments.c.text).op("@@")(
        cast(literal(search.pg_tsquery(query)), TSQUERY))
    statement = select(attachments.c.id).where(grams)
    if before is not None:
        statement = statement.where(attachments.c.id < before)
    conn.exec_driver_sql("SET LOCAL jit = off")  # as in archive/search.py
    return list(conn.execute(statement.order_by(attachments.c.id.desc()).limit(chunk)).scalars())


def _hit(conn: Connection, attachment_id: int, query: str, conditions: list) -> dict[str, Any]:
    from archive.search import snippet

    row = conn.execute(select(attachments.c.id, attachments.c.url, attachments.c.kind, attachments.c.text)
                       .where(attachments.c.id == attachment_id)).one()
    article = conn.execute(
        select(articles.c.id, articles.c.url, articles.c.title, articles.c.published_at, articles.c.source,
               articles.c.site, articles.c.channel, attachment_links.c.title.label("link_title"))
        .join(attachment_links, attachment_links.c.article_id == articles.c.id)
        .where(attachment_links.c.url == row.url, *conditions)
        .order_by(articles.c.id.desc()).limit(1)).first()
    hit: dict[str, Any] = dict.fromkeys(("id", "url", "title", "published_at", "source", "site", "channel"))
    if article is not None:
        hit.update({key: value for key, value in article._mapping.items() if key != "link_title"})
    hit.update({"snippet": snippet(row.text, query), "found_in": "attachment", "attachment_id": row.id,
                "attachment_url": row.url, "attachment_title": article.link_title if article else None,
                "attachment_kind": row.kind})
    return hit


# --- reading -------------------------------------------------------------------------------

def attachments_of(conn: Connection, article_id: int) -> list[dict[str, Any]]:
    """An article version's attachment links in page order, each with its version's fields
    (NULL ones when the file was never read) and ``latest_id``, the URL's newest version."""
    versions = attachments.alias("versions")
    latest = (select(func.max(versions.c.id)).where(versions.c.url == attachment_links.c.url)
              .correlate(attachment_links).scalar_subquery())
    rows = conn.execute(
        select(attachment_links.c.position, attachment_links.c.url, attachment_links.c.title,
               attachment_links.c.attachment_id, attachments.c.capture_id, attachments.c.kind, attachments.c.status,
               attachments.c.size, attachments.c.pages, attachments.c.error, attachments.c.text,
               latest.label("latest_id"))
        .join(attachments, attachments.c.id == attachment_links.c.attachment_id, isouter=True)
        .where(attachment_links.c.article_id == article_id).order_by(attachment_links.c.position))
    return [dict(row._mapping) for row in rows]


def articles_linking(conn: Connection, url: str) -> list[dict[str, Any]]:
    """The articles (latest version of each URL) that link attachment ``url``, with the link text."""
    newest = (select(func.max(articles.c.id)).select_from(articles)
              .join(attachment_links, attachment_links.c.article_id == articles.c.id)
              .where(attachment_links.c.url == url).group_by(articles.c.url))
    rows = conn.execute(select(articles.c.id, articles.c.url, articles.c.title, attachment_links.c.title.label("link"))
                        .join(attachment_links, attachment_links.c.article_id == articles.c.id)
                        .where(articles.c.id.in_(newest), attachment_links.c.url == url).order_by(articles.c.id))
    return [dict(row._mapping) for row in rows]


_EXTENSION = re.compile(r"\.([A-Za-z0-9]{2,5})$")
_UNSAFE = re.compile(r"[^\w.\-@（）()]+")


def file_name(position: int, url: str, title: str | None, kind: str | None) -> str:
    """``NN-name.ext`` for a saved attachment: the URL's file name, or the file name a download
    script is given (``downfile.jsp?filename=…``), or the link text; the sniffed type's
    extension when the name has none."""
    parts = urlsplit(url)
    candidates = [PurePosixPath(unquote(parts.path)).name]
    candidates += [value for _, value in parse_qsl(parts.query) if _EXTENSION.search(value)]
    candidates.append(title or "")
    name = next((PurePosixPath(c.replace("\\", "/")).name for c in candidates
                 if _EXTENSION.search(c) and not c.lower().endswith((".jsp", ".php", ".asp", ".aspx", ".do"))),
                candidates[0] or "attachment")
    name = _UNSAFE.sub("_", name).strip("._") or "attachment"
    if kind and not _EXTENSION.search(name) and kind.isalnum():
        name = f"{name}.{kind}"
    return f"{position:02d}-{name[:150]}"


def save_attachments(index, article_id: int, directory: Path, protected, force: bool = False):
    """Write an article's attachments into ``directory`` (``index``: an ``archive.index.Index``),
    bytes as served (content-decoded);
    returns (link, file name or None when never archived). ``-o`` rules: archive/outputs.py."""
    from archive.outputs import open_output, output_directory

    directory = output_directory(directory, protected)
    with index.engine.connect() as conn:
        links = attachments_of(conn, article_id)
    saved = []
    for link in links:
        capture = index.capture(link["capture_id"]) if link["capture_id"] is not None else index.capture(link["url"])
        if capture is None or capture.get("status") != 200:
            saved.append((link, None))
            continue
        name = file_name(link["position"], link["url"], link["title"], link["kind"])
        with open_output(directory / name, protected, force, binary=True) as out:
            out.write(index.read_payload(capture))
        saved.append((link, name))
    return saved

