"""What earlier crawls archived, as an incremental crawl needs it.

Which URLs are known articles (not fetched again), which were captured at all (so a
listing can tell new links from old), the validators for a conditional GET, and the way
back to a page's last payload when the server answers 304. Every answer is an indexed
lookup per URL (archive/lookup.py) with a small cache, so starting a crawl costs the same
on an archive of ten pages or of ten million; validators and the 304 payload come from the
same last *good* capture, never from a truncated or challenge page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, exists, func, select

from archive.lookup import ArchiveLookup
from archive.models import articles, attachment_links, captures, crawls
from archive.presence import missing_warc_files
from archive.warc_reader import WarcReadError, read_record

_HTML = ("text/html", "application/xhtml")


@dataclass
class Payload:
    body: bytes
    content_type: str | None


class _Query:
    """``url in history.known_articles`` and friends, answered by one indexed lookup."""

    def __init__(self, test, count=None) -> None:
        self._test, self._count = test, count

    def __contains__(self, url: object) -> bool:
        return isinstance(url, str) and bool(self._test(url))

    def __len__(self) -> int:
        return self._count() if self._count else 0


class _Validators:
    """``history.validators.get(url, default)``: (ETag, Last-Modified) of the last good capture."""

    def __init__(self, lookup: ArchiveLookup) -> None:
        self._lookup = lookup

    def get(self, url: str, default: tuple[str | None, str | None] | None = None):
        good = self._lookup.last_good(url)
        if good is None or not (good.etag or good.last_modified):
            return default
        return good.etag, good.last_modified

    def __contains__(self, url: object) -> bool:
        return isinstance(url, str) and self.get(url) is not None


@dataclass
class History:
    engine: Engine
    warc_dir: Path
    # Did the site's last crawl run to its end? Only then may paging stop early: after a
    # killed or interrupted crawl, pages it never reached may hide unarchived articles.
    complete: bool = False
    # WARC files the index names that are gone from disk: rows pointing into them are not
    # trusted, so their URLs are fetched again (archive/presence.py).
    missing_files: frozenset[str] = frozenset()
    lookup: ArchiveLookup = field(init=False)

    def __post_init__(self) -> None:
        self.lookup = ArchiveLookup(self.engine, missing_files=self.missing_files)
        self.known_articles = _Query(self.lookup.is_article, lambda: self._count(articles))
        self.captured = _Query(self.lookup.captured, lambda: self._count(captures))
        # URLs whose last good capture was not HTML (attachments): never fetched again.
        self.documents = _Query(self.is_document)
        self.validators = _Validators(self.lookup)

    @classmethod
    def load(cls, engine: Engine, warc_dir: Path, site: str | None = None) -> History:
        """The history of ``site`` (its last crawl's state); everything else is asked on demand."""
        with engine.connect() as conn:
            missing = frozenset(missing_warc_files(conn, warc_dir))
            last = conn.execute(
                select(crawls.c.status).where(crawls.c.site == site).order_by(crawls.c.id.desc()).limit(1)
            ).scalar()
            anything = bool(conn.execute(select(exists().where(captures.c.id.isnot(None)))).scalar())
        history = cls(engine, warc_dir, complete=last == "finished", missing_files=missing)
        history._any = anything
        return history

    def close(self) -> None:
        """Release the lookup connection and the engine (the spider calls this when it closes)."""
        self.lookup.close()
        self.engine.dispose()

    def _count(self, table) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

    def __bool__(self) -> bool:
        return getattr(self, "_any", True)

    def is_document(self, url: str) -> bool:
        good = self.lookup.last_good(url)
        return bool(good and good.content_type and not good.content_type.lower().startswith(_HTML))

    def attachments_of(self, url: str) -> list[str]:
        """The file URLs the latest archived version of the article at ``url`` links."""
        latest = select(func.max(articles.c.id)).where(articles.c.url == url).scalar_subquery()
        with self.engine.connect() as conn:
            return list(conn.execute(select(attachment_links.c.url).where(attachment_links.c.article_id == latest)
                                     .order_by(attachment_links.c.position)).scalars())

    def new_links(self, urls: Iterable[str]) -> list[str]:
        """The URLs never captured, in their order (one query for a whole page of links)."""
        urls = list(urls)
        known = self.lookup.captured_among(urls)
        return [url for url in urls if url not in known]

    def payload(self, url: str, before_crawl: int | None = None) -> Payload | None:
        """The payload of the URL's last good capture (or its latest 200 response archived before
        crawl ``before_crawl``, for comparing a listing with its earlier self), content-decoded."""
        if before_crawl is None:
            good = self.lookup.last_good(url)
        else:
            with self.engine.connect() as conn:
                good = conn.execute(
                    select(captures.c.warc_file, captures.c.warc_offset)
                    .where(captures.c.url == url, captures.c.status == 200, captures.c.record_type == "response",
                           captures.c.crawl_id < before_crawl)
                    .order_by(captures.c.id.desc()).limit(1)).first()
        if good is None or good.warc_file is None or good.warc_offset is None:
            return None
        try:
            record, body = read_record(self.warc_dir / good.warc_file, good.warc_offset)
        except WarcReadError:
            return None
        return Payload(body, record.http_headers.get_header("Content-Type") if record.http_headers else None)
