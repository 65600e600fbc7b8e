"""What earlier crawls archived, as an incremental crawl needs it.

Loaded once when a crawl starts: which URLs are known articles (not fetched again), which
were captured at all (so a listing can tell new links from old), the validators for a
conditional GET, and the way back to a page's last payload when the server answers 304.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, func, select

from archive.models import articles, captures, crawls
from archive.presence import missing_warc_files
from archive.warc_reader import WarcReadError, read_record


@dataclass
class Payload:
    body: bytes
    content_type: str | None


@dataclass
class History:
    engine: Engine
    warc_dir: Path
    known_articles: set[str] = field(default_factory=set)
    captured: set[str] = field(default_factory=set)
    # URL -> (ETag, Last-Modified) of its latest 200 response
    validators: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    # URLs whose latest 200 response was not HTML (attachments): never fetched again
    documents: set[str] = field(default_factory=set)
    # Did the site's last crawl run to its end? Only then may paging stop early: after a
    # killed or interrupted crawl, pages it never reached may hide unarchived articles.
    complete: bool = False

    @classmethod
    def load(cls, engine: Engine, warc_dir: Path, site: str | None = None) -> History:
        history = cls(engine, warc_dir)
        latest = (
            select(func.max(captures.c.id).label("id"))
            .where(captures.c.status == 200, captures.c.truncated.is_(None), captures.c.flags.is_(None))
            .group_by(captures.c.url)
            .subquery()
        )
        with engine.connect() as conn:
            last = conn.execute(
                select(crawls.c.status).where(crawls.c.site == site).order_by(crawls.c.id.desc()).limit(1)
            ).scalar()
            history.complete = last == "finished"
            # Rows whose WARC file is gone point at nothing: their URLs are fetched again.
            missing = missing_warc_files(conn, warc_dir)
            history.known_articles = {url for url, name in conn.execute(
                select(articles.c.url, captures.c.warc_file).distinct()
                .join(captures, captures.c.id == articles.c.capture_id)) if name not in missing}
            history.captured = {url for url, name in conn.execute(
                select(captures.c.url, captures.c.warc_file).distinct()) if name not in missing}
            for url, etag, modified, content_type, name in conn.execute(
                select(captures.c.url, captures.c.etag, captures.c.last_modified, captures.c.content_type,
                       captures.c.warc_file)
                .join(latest, latest.c.id == captures.c.id)
            ):
                if name in missing:
                    continue
                if content_type and not content_type.lower().startswith(("text/html", "application/xhtml")):
                    history.documents.add(url)
                if etag or modified:
                    history.validators[url] = (etag, modified)
        return history

    def __bool__(self) -> bool:
        return bool(self.captured)

    def payload(self, url: str) -> Payload | None:
        """The payload of the URL's latest full 200 response, content-decoded."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(captures.c.warc_file, captures.c.warc_offset)
                .where(captures.c.url == url, captures.c.status == 200, captures.c.record_type == "response")
                .order_by(captures.c.id.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        try:
            record, body = read_record(self.warc_dir / row.warc_file, row.warc_offset)
        except WarcReadError:
            return None
        return Payload(body, record.http_headers.get_header("Content-Type") if record.http_headers else None)
