"""What the archive already holds, asked per URL from the index when a crawl needs it.

A crawl used to load one entry per archived URL before its first request (the writer's
revisit originals, the incremental history, the dedup pipeline's digests): 1.65 GiB and
40 s at a million captures, even for a re-crawl making eight requests. Each question is
now an indexed lookup, with a small LRU cache in front, so a crawl's memory and start-up
time do not grow with the archive, and a writer sees what another writer sharing the
index committed since it started.

"Last good capture" has one definition, here, used by the writer (what a revisit refers
to), the history (validators for a conditional GET, the payload a 304 is answered from)
and ``Index``: a full ``response`` record of an HTTP 200 that was neither cut short nor
an anti-bot challenge page.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine, and_, bindparam, exists, not_, or_, select

from archive.models import articles, captures

K = TypeVar("K")
V = TypeVar("V")

CACHE_SIZE = 10_000  # entries per cache: bounded memory, whatever the archive's size
_MISSING = object()


def good_capture_condition():
    """SQL: the capture is a good one (see the module docstring)."""
    return and_(
        captures.c.status == 200,
        captures.c.record_type == "response",
        captures.c.truncated.is_(None),
        or_(captures.c.flags.is_(None),
            and_(not_(captures.c.flags.like("%challenge:%")), not_(captures.c.flags.like("%truncated%")))),
    )


def is_good_capture(status: int | None, record_type: str, truncated: str | None, flags: str | None) -> bool:
    """The same rule as ``good_capture_condition``, for a capture being written."""
    return (status == 200 and record_type == "response" and not truncated
            and not (flags and ("challenge:" in flags or "truncated" in flags)))


@dataclass(frozen=True)
class GoodCapture:
    """The latest good capture of a URL: what a revisit refers to and a 304 is answered from."""

    id: int | None
    url: str
    warc_date: str
    payload_digest: str | None
    record_id: str
    warc_file: str | None = None
    warc_offset: int | None = None
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None


def _last_good_statement(at: bool):
    statement = select(
        captures.c.id, captures.c.url, captures.c.warc_date, captures.c.fetched_at, captures.c.payload_digest,
        captures.c.warc_record_id, captures.c.warc_file, captures.c.warc_offset, captures.c.content_type,
        captures.c.etag, captures.c.last_modified,
    ).where(captures.c.url == bindparam("url"), good_capture_condition())
    if at:
        statement = statement.where(captures.c.fetched_at <= bindparam("at"))
    return statement.order_by(captures.c.id.desc()).limit(1)


# Built once: a crawl asks these for every request, and building SQLAlchemy statements
# costs more than running them.
_LAST_GOOD = {False: _last_good_statement(False), True: _last_good_statement(True)}
_CAPTURED = select(captures.c.url).where(captures.c.url.in_(bindparam("urls", expanding=True))).distinct()
_IS_ARTICLE = select(exists().where(articles.c.url == bindparam("url")))
_HAS_TEXT = select(exists().where(articles.c.url == bindparam("url"), articles.c.body_digest == bindparam("digest")))
_SITE_HAS_ARTICLES = select(exists().where(articles.c.site == bindparam("site")))


def last_good_capture(conn: Connection, url: str, at: str | None = None) -> GoodCapture | None:
    """The URL's latest good capture (fetched at or before ``at``, when given)."""
    return _good_capture(conn.execute(_LAST_GOOD[bool(at)], {"url": url, "at": at} if at else {"url": url}).first())


def _good_capture(row: Any) -> GoodCapture | None:
    if row is None:
        return None
    return GoodCapture(row.id, row.url, row.warc_date or row.fetched_at, row.payload_digest, row.warc_record_id,
                       row.warc_file, row.warc_offset, row.content_type, row.etag, row.last_modified)


class LRU(Generic[K, V]):
    """A dict that forgets its least recently used entries beyond ``size``."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._data: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K, default: Any = _MISSING) -> Any:
        try:
            value = self._data[key]
        except KeyError:
            return default
        self._data.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.size:
            self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)


class ArchiveLookup:
    """Per-URL questions about the archive, answered from the index on demand.

    One instance per thread (the writer's thread, the reactor thread): the caches are not
    locked. ``remember_*`` records what this process has just written, before it is
    committed, so a URL seen twice in one batch is answered right.
    """

    def __init__(self, engine: Engine, cache_size: int = CACHE_SIZE, missing_files: Iterable[str] = ()) -> None:
        self.engine = engine
        # Rows in WARC files gone from disk point at nothing: every question ignores them.
        self._last_good_stmt, self._captured_stmt, self._is_article_stmt = _LAST_GOOD[False], _CAPTURED, _IS_ARTICLE
        if missing := sorted(missing_files):
            on_disk = captures.c.warc_file.not_in(missing)
            self._last_good_stmt = _LAST_GOOD[False].where(on_disk)
            self._captured_stmt = _CAPTURED.where(on_disk)
            self._is_article_stmt = select(exists().where(
                articles.c.url == bindparam("url"), articles.c.capture_id == captures.c.id, on_disk))
        self._conn: Connection | None = None
        self._good: LRU[str, GoodCapture | None] = LRU(cache_size)
        self._captured: LRU[str, bool] = LRU(cache_size)
        self._articles: LRU[str, bool] = LRU(cache_size)
        self._texts: LRU[tuple[str, str], bool] = LRU(cache_size)
        self._sites: LRU[str, bool] = LRU(cache_size)

    def _connection(self) -> Connection:
        """One connection, kept: a pool checkout per lookup costs more than the lookup on
        PostgreSQL. Autocommit, so no snapshot goes stale and other writers' rows are seen."""
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def last_good(self, url: str) -> GoodCapture | None:
        found = self._good.get(url)
        if found is _MISSING:
            row = self._connection().execute(self._last_good_stmt, {"url": url}).first()
            found = _good_capture(row)
            self._good.put(url, found)
        return found

    def remember_good(self, capture: GoodCapture) -> None:
        self._good.put(capture.url, capture)
        self._captured.put(capture.url, True)

    def captured(self, url: str) -> bool:
        """Was the URL ever captured (any status)?"""
        return url in self.captured_among([url])

    def captured_among(self, urls: Iterable[str]) -> set[str]:
        """Which of ``urls`` were ever captured: one query for all that are not cached."""
        urls = list(dict.fromkeys(urls))
        known = {url for url in urls if self._captured.get(url, False)}
        unknown = [url for url in urls if self._captured.get(url) is _MISSING]
        for start in range(0, len(unknown), 500):
            part = unknown[start:start + 500]
            found = set(self._connection().execute(self._captured_stmt, {"urls": part}).scalars())
            for url in part:
                self._captured.put(url, url in found)
            known |= found
        return known

    def is_article(self, url: str) -> bool:
        """Is any version of the URL indexed as an article?"""
        found = self._articles.get(url)
        if found is _MISSING:
            found = self._connection().execute(self._is_article_stmt, {"url": url}).scalar()
            self._articles.put(url, bool(found))
        return bool(found)

    def has_text(self, url: str, digest: str, site: str | None = None) -> bool:
        """Is this version (body digest) of the URL's article indexed already?

        Given the article's site: a site the archive held no article of when first asked
        is not asked about again per article (the first crawl of hundreds of portals would
        make a query per item). What this crawl adds meanwhile is the caller's to remember;
        the index's unique (url, body_digest) rule catches the rest."""
        if site is not None and not self._site_has_articles(site):
            return False
        found = self._texts.get((url, digest))
        if found is _MISSING:
            found = self._connection().execute(_HAS_TEXT, {"url": url, "digest": digest}).scalar()
            self._texts.put((url, digest), bool(found))
        return bool(found)

    def _site_has_articles(self, site: str) -> bool:
        found = self._sites.get(site)
        if found is _MISSING:
            found = bool(self._connection().execute(_SITE_HAS_ARTICLES, {"site": site}).scalar())
            self._sites.put(site, found)
        return found

    def remember_text(self, url: str, digest: str) -> None:
        self._texts.put((url, digest), True)
        self._articles.put(url, True)
