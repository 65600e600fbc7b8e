"""The archive as researchers use it from Python: search the index, read any capture back.

    >>> from archive.index import Index
    >>> archive = Index.open("data/demo")                 # or a SQLAlchemy URL + warc_dir
    >>> hits = archive.search("消防安全", site="demo")
    >>> page = archive.article(hits[0]["id"])
    >>> archive.read_payload(archive.capture(page["capture_id"]))   # the bytes as served

Rows come back as plain dicts; ``pandas.read_sql("select * from article_captures",
archive.engine)`` works on every table and view in docs/schema.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, ColumnElement, Engine, and_, case, cast, func, inspect, literal_column, select

from archive import search
from archive.access import open_existing_index
from archive.attachments import HIT_COLUMNS, articles_linking, attachments_of, save_attachments, search_attachments
from archive.lookup import good_capture_condition
from archive.models import article_counts, article_events, articles, attachments, captures, crawls, index_url_for
from archive.outputs import archive_files
from archive.search import snippet

if TYPE_CHECKING:
    from warcio.recordloader import ArcWarcRecord

WITHIN = ("articles", "attachments", "all")


def _has_attachments(conn) -> bool:
    """An index older than migration 0011 has no attachments (portal-archive db upgrade)."""
    return inspect(conn).has_table("attachments")


@dataclass
class Index:
    engine: Engine
    warc_dir: Path

    @classmethod
    def open(cls, location: str | Path = "data", warc_dir: str | Path | None = None) -> Index:
        """An archive directory (index.sqlite + warc/), or an index URL plus its WARC directory.

        Opened read-only: ``Index`` only reads, and the archive may be on read-only media.
        """
        location = str(location)
        if "://" in location:
            return cls(open_existing_index(location), Path(warc_dir or "data/warc"))
        directory = Path(location)
        if not (directory / "index.sqlite").exists():
            raise FileNotFoundError(f"no index at {directory / 'index.sqlite'}")
        return cls(open_existing_index(index_url_for(directory)), Path(warc_dir or directory / "warc"))

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- articles ------------------------------------------------------------------------------

    def _filters(self, site: str | None, channel: str | None, since: str | None, until: str | None) -> list:
        conditions = []
        if site:
            conditions.append(articles.c.site == site)
        if channel:
            conditions.append(articles.c.channel == channel)
        if since:
            conditions.append(func.substr(articles.c.published_at, 1, len(since)) >= since)
        if until:
            conditions.append(func.substr(articles.c.published_at, 1, len(until)) <= until)
        return conditions

    def search(self, query: str, site: str | None = None, channel: str | None = None, since: str | None = None,
               until: str | None = None, limit: int = 20, within: str = "articles") -> list[dict[str, Any]]:
        """Articles whose title or body contains ``query`` (any length; no word segmentation).

        ``within``: ``articles`` (title and body), ``attachments`` (the text of the files
        articles link; each hit names the attachment and its latest linking article, the
        filters apply to that article) or ``all`` (both, newest article first)."""
        if within not in WITHIN:
            raise ValueError(f"within must be one of {', '.join(WITHIN)}, not {within!r}")
        conditions = self._filters(site, channel, since, until)
        rows: list[dict[str, Any]] = []
        with self.engine.connect() as conn:
            if within != "attachments":
                columns = [articles.c.id, articles.c.url, articles.c.title, articles.c.published_at,
                           articles.c.source, articles.c.site, articles.c.channel, articles.c.body]
                rows = search.search(conn, query, columns, conditions, limit)
                for row in rows:
                    row["snippet"] = snippet(row.pop("body"), query)
                    if within == "all":
                        row.update(dict.fromkeys(HIT_COLUMNS), found_in="article")
            if within != "articles" and _has_attachments(conn):
                rows += search_attachments(conn, query, conditions, limit)
        if within == "all":
            rows.sort(key=lambda row: (row["published_at"] is not None, row["published_at"] or "", row["id"] or 0),
                      reverse=True)
        return rows[:limit]

    def article(self, key: int | str, at: str | None = None) -> dict[str, Any] | None:
        """An article by id or URL (the latest version, or the latest at or before ``at``)."""
        statement = select(articles, captures.c.fetched_at, captures.c.crawl_id).join(
            captures, captures.c.id == articles.c.capture_id, isouter=True)
        if (number := row_id(key)) is not None:
            statement = statement.where(articles.c.id == number)
        else:
            statement = statement.where(articles.c.url == key)
            if at:
                statement = statement.where(at_or_before(at))
        with self.engine.connect() as conn:
            row = conn.execute(statement.order_by(articles.c.id.desc()).limit(1)).first()
        return dict(row._mapping) if row else None

    def iter_articles(self, site: str | None = None, channel: str | None = None, since: str | None = None,
                      until: str | None = None, batch: int = 1000) -> Iterator[dict[str, Any]]:
        """Every matching article, streamed from the database in batches (constant memory)."""
        statement = select(articles).order_by(articles.c.id)
        conditions = self._filters(site, channel, since, until)
        if conditions:
            statement = statement.where(and_(*conditions))
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=batch).execute(statement)
            for row in result:
                yield dict(row._mapping)

    # --- attachments (archive/attachments.py) -------------------------------------------------

    def attachments(self, key: int | str, at: str | None = None) -> list[dict[str, Any]]:
        """An article's attachment links (article id or URL: its latest version, or the one at or
        before ``at``) in page order, each with its text, type, status, pages and capture."""
        article = self.article(key, at=at)
        if article is None:
            return []
        with self.engine.connect() as conn:
            return attachments_of(conn, article["id"]) if _has_attachments(conn) else []

    def attachment(self, attachment_id: int) -> dict[str, Any] | None:
        """One attachment version by id, with the articles linking its URL (``articles``)."""
        with self.engine.connect() as conn:
            if not _has_attachments(conn):
                return None
            row = conn.execute(select(attachments).where(attachments.c.id == attachment_id)).first()
            if row is None:
                return None
            found = dict(row._mapping)
            found["articles"] = articles_linking(conn, found["url"])
        return found

    def save_attachments(self, key: int | str, directory: str | Path, force: bool = False,
                         at: str | None = None) -> list[tuple[dict[str, Any], str | None]]:
        """Write an article's attachments into ``directory`` (made if missing), bytes as served, as
        ``NN-name.ext``; never over the archive's files, an existing file (unless ``force``) or
        through a symbolic link. Returns each link with its file name (None: never archived)."""
        article = self.article(key, at=at)
        if article is None:
            raise LookupError(f"no article {key}")
        protected = archive_files(self.engine.url.render_as_string(hide_password=False), self.warc_dir)
        return save_attachments(self, article["id"], Path(directory), protected, force)

    # --- captures ------------------------------------------------------------------------------

    def captures(self, url: str) -> list[dict[str, Any]]:
        """Every capture of ``url`` over time, oldest first, with ``changed`` against the one before."""
        with self.engine.connect() as conn:
            rows = [dict(row._mapping) for row in conn.execute(
                select(captures).where(captures.c.url == url).order_by(captures.c.id))]
        previous = None
        for row in rows:
            digest = row["payload_digest"] if row["status"] != 304 else previous
            row["changed"] = previous is not None and digest != previous
            previous = digest or previous
        return rows

    def capture(self, key: int | str, at: str | None = None) -> dict[str, Any] | None:
        """A capture by id, or a URL's latest capture (at or before ``at``), good ones preferred.

        Good means what archive/lookup.py says: a full 200 that is not a challenge page.
        """
        statement = select(captures)
        if (number := row_id(key)) is not None:
            statement = statement.where(captures.c.id == number)
        else:
            statement = statement.where(captures.c.url == key)
            if at:
                statement = statement.where(at_or_before(at))
            statement = statement.order_by(case((good_capture_condition(), 1), else_=0).desc(),
                                           (captures.c.status == 200).desc(), captures.c.id.desc())
        with self.engine.connect() as conn:
            row = conn.execute(statement.limit(1)).first()
        return dict(row._mapping) if row else None

    def record(self, capture: dict[str, Any]) -> ArcWarcRecord:
        """The capture's WARC record (warcio), read at its offset."""
        from archive.warc_reader import read_record  # warcio only when a record is read: fast CLI start

        record, _ = read_record(self.warc_dir / capture["warc_file"], capture["warc_offset"])
        return record

    def read_payload(self, capture: dict[str, Any]) -> bytes:
        """The payload as served, content-decoded; a revisit gives its original's payload."""
        from archive.warc_reader import read_record

        if capture["record_type"] == "revisit" and capture.get("refers_to_id"):
            original = self.capture(capture["refers_to_id"])
            if original is not None:
                capture = original
        _, payload = read_record(self.warc_dir / capture["warc_file"], capture["warc_offset"])
        return payload

    # --- versions and events (re-checks of known articles: archive/events.py) ------------------

    def versions(self, url: str) -> list[dict[str, Any]]:
        """Every text version of the article at ``url``, oldest first, each with its capture's
        time and WARC record (``fetched_at``, ``warc_file``, ``warc_offset``)."""
        statement = (
            select(articles, captures.c.fetched_at, captures.c.crawl_id, captures.c.warc_file, captures.c.warc_offset,
                   captures.c.warc_record_id)
            .join(captures, captures.c.id == articles.c.capture_id, isouter=True)
            .where(articles.c.url == url)
            .order_by(captures.c.fetched_at, articles.c.id)
        )
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(statement)]

    def events(self, site: str | None = None, since: str | None = None, until: str | None = None,
               kind: str | list[str] | None = None, url: str | None = None) -> list[dict[str, Any]]:
        """Re-check events (``article_events``), oldest first, with the article's title.

        ``since``/``until`` compare with ``detected_at`` by prefix (2026, 2026-11, 2026-11-29).
        """
        return list(self.iter_events(site, since, until, kind, url))

    def iter_events(self, site: str | None = None, since: str | None = None, until: str | None = None,
                    kind: str | list[str] | None = None, url: str | None = None,
                    batch: int = 1000) -> Iterator[dict[str, Any]]:
        """``events()`` streamed from the database in batches (constant memory)."""
        events = article_events
        statement = (select(events, articles.c.title)
                     .join(articles, articles.c.id == events.c.article_id, isouter=True)
                     .order_by(events.c.detected_at, events.c.id))
        if site:
            statement = statement.where(events.c.site == site)
        if since:
            statement = statement.where(func.substr(events.c.detected_at, 1, len(since)) >= since)
        if until:
            statement = statement.where(func.substr(events.c.detected_at, 1, len(until)) <= until)
        if kind:
            statement = statement.where(events.c.kind.in_([kind] if isinstance(kind, str) else kind))
        if url:
            statement = statement.where(events.c.url == url)
        with self.engine.connect() as conn:
            if not inspect(conn).has_table("article_events"):
                return  # an index older than migration 0009 (portal-archive db upgrade)
            for row in conn.execution_options(stream_results=True, yield_per=batch).execute(statement):
                yield dict(row._mapping)

    # --- what the archive holds: sites, crawls ---------------------------------------------------

    def sites(self) -> list[str]:
        """The sites that have articles (from ``article_counts``: fast at any size)."""
        counts = article_counts.c
        with self.engine.connect() as conn:
            return [site for (site,) in conn.execute(
                select(counts.site).where(counts.kind == "channel", counts.articles > 0)
                .group_by(counts.site).order_by(counts.site)) if site]

    def crawl_ids(self) -> list[int]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(crawls.c.id).order_by(crawls.c.id)).scalars())

    # --- statistics ----------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Articles by site, channel and month (from ``article_counts``: fast at any size), and crawls."""
        counts = article_counts.c
        empty = literal_column("''")  # not a bound parameter: PostgreSQL must see one GROUP BY expression
        site, value = func.nullif(counts.site, empty), func.nullif(counts.value, empty)
        with self.engine.connect() as conn:
            def listed(kind: str) -> list[tuple]:
                # One row per (kind, site, value) already: read in primary-key order, no grouping;
                # fetched at once (~80,000 (site, month) rows at a million articles).
                return [tuple(row) for row in conn.execute(
                    select(site, value, counts.articles).where(counts.kind == kind, counts.articles > 0)
                    .order_by(counts.site, counts.value)).all()]

            by_site = [tuple(row) for row in conn.execute(
                select(site, cast(func.sum(counts.articles), BigInteger)).where(counts.kind == "channel")
                .group_by(counts.site).having(func.sum(counts.articles) > 0).order_by(counts.site))]
            by_channel = listed("channel")
            by_month = listed("month")
            event_month = func.substr(article_events.c.detected_at, 1, 7)
            by_event = (select(article_events.c.site, event_month.label("month"), article_events.c.kind, func.count())
                        .group_by(article_events.c.site, event_month, article_events.c.kind)
                        .order_by(article_events.c.site, event_month, article_events.c.kind))
            # An index older than migration 0009 has no events yet (portal-archive db upgrade).
            events = conn.execute(by_event).all() if inspect(conn).has_table("article_events") else []
            history = conn.execute(select(crawls.c.id, crawls.c.site, crawls.c.started_at, crawls.c.finished_at,
                                          crawls.c.status, crawls.c.stats).order_by(crawls.c.id)).all()
        return {
            "by_site": [tuple(row) for row in by_site],
            "by_channel": [tuple(row) for row in by_channel],
            "by_month": [tuple(row) for row in by_month],
            "events": [tuple(row) for row in events],
            "crawls": [dict(row._mapping) for row in history],
        }


MAX_ROW_ID = 2**63 - 1
_DIGITS = re.compile(r"\d{4}(?:\d{2}){0,5}", re.ASCII)
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:?\d{2})?)?", re.ASCII)


def row_id(key: int | str) -> int | None:
    """A row id from an int or a string of ASCII digits (``²`` is not one); None for a URL.
    An id past what the database can hold is -1: it matches nothing, and says so."""
    if isinstance(key, int):
        number = key
    elif key.isascii() and key.isdigit():
        number = int(key)
    else:
        return None
    return number if 0 <= number <= MAX_ROW_ID else -1


_CRAWL = re.compile(r"crawl:(\d{1,18})", re.ASCII)


def crawl_ref(value: str) -> int | None:
    """The crawl number of a moment written ``crawl:N`` ("as crawl N left the archive"), else None."""
    match = _CRAWL.fullmatch(value.strip())
    return int(match[1]) if match else None


def at_or_before(at: str) -> ColumnElement[bool]:
    """SQL: the capture was made at or before ``at``: a time (``parse_at``), or ``crawl:N``, which
    means by crawl N or an earlier one (exact, whatever the clock said)."""
    number = crawl_ref(at)
    if number is not None:
        return captures.c.crawl_id <= number
    return captures.c.fetched_at <= parse_at(at)


def row_at_or_before(row: dict[str, Any], at: str) -> bool:
    """``at_or_before`` for a row read already (``versions``: ``fetched_at`` and ``crawl_id``)."""
    number = crawl_ref(at)
    if number is not None:
        return (row.get("crawl_id") or 0) <= number
    return (row.get("fetched_at") or "") <= parse_at(at)


def describe_at(at: str) -> str:
    """A moment as the user gave it, spelled out for messages."""
    number = crawl_ref(at)
    return f"as of crawl {number}" if number is not None else f"at or before {parse_at(at)}"


def parse_at(value: str) -> str:
    """A moment given as ``2020``, ``202001``, ``20200115``, ``20200115083929``, ``2020-01-15`` or
    ISO 8601 (``2020-01-15T08:39:29Z``, ``…+08:00``) -> the index's UTC text form.

    A partial moment means the end of that period (``2020-01-15`` is that whole day), since
    ``--at`` asks for the capture at or before it. Anything else raises ``ValueError``.
    """
    text = value.strip()
    try:
        if _DIGITS.fullmatch(text):
            parts = [int(text[:4])] + [int(text[i:i + 2]) for i in range(4, len(text), 2)]
            return _end_of(parts)
        match = _ISO.fullmatch(text)
        if match:
            year, month, day, hour, minute, second, zone = match.groups()
            parts = [int(year), int(month), int(day)] + [int(p) for p in (hour, minute, second) if p is not None]
            moment = _end_of(parts, as_text=False)
            if zone and zone != "Z":
                sign = 1 if zone[0] == "+" else -1
                hours, minutes = int(zone[1:3]), int(zone[-2:])
                moment -= sign * timedelta(hours=hours, minutes=minutes)
            return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        pass
    raise ValueError(f"not a moment: {value!r} (use 2020, 20200115, 20200115083929, 2020-01-15 or "
                     "2020-01-15T08:39:29Z)")


def _end_of(parts: list[int], as_text: bool = True):
    """The last second of the period that ``parts`` (year, month, day, hour, minute, second) name."""
    start = datetime(*(parts + [1, 1][: max(0, 3 - len(parts))]))  # raises ValueError on 2020-13-45
    if len(parts) == 1:
        end = start.replace(year=start.year + 1)
    elif len(parts) == 2:
        end = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    else:
        end = start + timedelta(**{3: {"days": 1}, 4: {"hours": 1}, 5: {"minutes": 1}, 6: {"seconds": 1}}[len(parts)])
    moment = end - timedelta(seconds=1)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if as_text else moment
