"""The SQL index: tables researchers query directly, so names and meanings are a contract.

Times are UTC ISO 8601 text (``2020-01-15T00:39:29Z``) so they read the same in SQLite,
PostgreSQL, pandas and R; ``articles.published_at`` keeps the page's own zone offset.
See docs/schema.md for what each column means.
"""

from __future__ import annotations

import contextlib
import fcntl
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (
    JSON,
    BigInteger,
    Connection,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    bindparam,
    create_engine,
    event,
    inspect,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from archive.resources import package_path


def utc_iso(moment: datetime | None = None) -> str:
    """The index's one time format: UTC, seconds precision, ``Z`` suffix."""
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Base(DeclarativeBase):
    pass


class Crawl(Base):
    __tablename__ = "crawls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    spider: Mapped[str] = mapped_column(String(100))
    site: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[str] = mapped_column(String(32))
    finished_at: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20), default="running")
    hostname: Mapped[str | None] = mapped_column(String(200))
    pid: Mapped[int | None] = mapped_column(Integer)
    stats: Mapped[dict | None] = mapped_column(JSON)


class Capture(Base):
    __tablename__ = "captures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crawl_id: Mapped[int] = mapped_column(ForeignKey("crawls.id"))
    url: Mapped[str] = mapped_column(Text)
    status: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(Text)
    fetched_at: Mapped[str] = mapped_column(String(32))
    payload_digest: Mapped[str | None] = mapped_column(String(100))
    record_type: Mapped[str] = mapped_column(String(20))
    warc_file: Mapped[str] = mapped_column(String(300))
    warc_offset: Mapped[int] = mapped_column(BigInteger)
    warc_length: Mapped[int] = mapped_column(BigInteger)
    warc_record_id: Mapped[str] = mapped_column(String(100), unique=True)
    method: Mapped[str] = mapped_column(String(10), default="GET")
    payload_length: Mapped[int | None] = mapped_column(BigInteger)
    ip_address: Mapped[str | None] = mapped_column(String(64))
    truncated: Mapped[str | None] = mapped_column(Text)
    request_offset: Mapped[int | None] = mapped_column(BigInteger)
    request_length: Mapped[int | None] = mapped_column(BigInteger)
    # The record's exact WARC-Date (fetched_at is the same moment to the second).
    warc_date: Mapped[str | None] = mapped_column(String(40))
    # Validators for the next crawl's conditional GET.
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    # Comma-separated: challenge:<kind> (anti-bot page), truncated, ...
    flags: Mapped[str | None] = mapped_column(Text)
    # For a revisit: the capture whose payload it repeats.
    refers_to_id: Mapped[int | None] = mapped_column(ForeignKey("captures.id"))
    # POST/PUT: the request body as a query, the way pywb and cdxj-indexer key it
    # (form fields decoded; other bodies as __wb_post_data=<base64>).
    request_body: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_captures_url_status", "url", "status", "id"),
        Index("ix_captures_digest", "payload_digest"),
        Index("ix_captures_file_offset", "warc_file", "warc_offset"),
        Index("ix_captures_crawl", "crawl_id"),
        Index("ix_captures_fetched", "fetched_at"),
    )


class Article(Base):
    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    capture_id: Mapped[int | None] = mapped_column(ForeignKey("captures.id"))
    url: Mapped[str] = mapped_column(Text)
    site: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    views: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str | None] = mapped_column(Text)
    site_name: Mapped[str | None] = mapped_column(Text)
    encoding: Mapped[str | None] = mapped_column(Text)
    # sha1 of the body text: tells a changed article from a re-extracted identical one.
    body_digest: Mapped[str | None] = mapped_column(String(40))
    # How far the body can be trusted as the page's article (0-1), and why not fully
    # (comma-separated warning names; migration 0007).
    confidence: Mapped[float | None] = mapped_column(Float)
    extraction_warnings: Mapped[str | None] = mapped_column(Text)
    # The 信息公开 disclosure block: 索引号, 发布机构/发文机关, 成文日期, 文号, 主题分类, 有效性.
    index_no: Mapped[str | None] = mapped_column(Text)
    issuer: Mapped[str | None] = mapped_column(Text)
    written_at: Mapped[str | None] = mapped_column(String(40))
    doc_no: Mapped[str | None] = mapped_column(Text)
    topic: Mapped[str | None] = mapped_column(Text)
    validity: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        # One row per URL and text: a second writer's copy of an indexed article is a no-op.
        Index("uq_articles_url_digest", "url", "body_digest", unique=True),
        Index("ix_articles_published", "published_at", "id"),
        Index("ix_articles_site_published", "site", "published_at"),
        Index("ix_articles_capture", "capture_id"),
        Index("ix_articles_channel", "site", "channel"),
        Index("ix_articles_issuer", "issuer"),
        Index("ix_articles_doc_no", "doc_no"),
        Index("ix_articles_index_no", "index_no"),
        # PostgreSQL also has ix_articles_grams, a GIN index over archive_grams(title, body)
        # (migration 0010, archive/search.py): an expression over a SQL function, so made
        # by the migration only.
    )


class SiteTemplate(Base):
    """A line learned as one site's own chrome (pipelines/chrome.py), kept between crawls."""

    __tablename__ = "site_templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site: Mapped[str] = mapped_column(Text)
    line: Mapped[str] = mapped_column(Text)
    learned_at: Mapped[str] = mapped_column(String(32))

    __table_args__ = (UniqueConstraint("site", "line", name="uq_site_templates_site_line"),)


class ArticleEvent(Base):
    """What one re-check of a known article found (archive/events.py, migration 0009)."""

    __tablename__ = "article_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    site: Mapped[str | None] = mapped_column(String(200))
    # unchanged, edited, deleted, redirected-away, moved, soft-deleted, blocked
    kind: Mapped[str] = mapped_column(String(20))
    detected_at: Mapped[str] = mapped_column(String(32))
    crawl_id: Mapped[int | None] = mapped_column(ForeignKey("crawls.id"))
    # The re-check's capture (NULL when no response came back: a network error).
    capture_id: Mapped[int | None] = mapped_column(ForeignKey("captures.id"))
    # The version checked against: its articles row and that row's capture.
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id"))
    previous_capture_id: Mapped[int | None] = mapped_column(ForeignKey("captures.id"))
    # Why: the fields that changed, the status, the redirect target, the phrase found.
    detail: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_article_events_url", "url"),
        Index("ix_article_events_site_detected", "site", "detected_at"),
        Index("ix_article_events_kind", "kind"),
    )


class RevisitClaim(Base):
    """A re-check a running crawl has taken on (crawler/revisit.py), so that crawlers sharing
    an index do not check the same article twice; void once its crawl is no longer running."""

    __tablename__ = "revisit_claims"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text, unique=True)
    crawl_id: Mapped[int] = mapped_column(ForeignKey("crawls.id"))
    claimed_at: Mapped[str] = mapped_column(String(32))


class ArticleImage(Base):
    """An image inside an article's body (migration 0005): where it sits, and the capture
    holding its bytes (NULL until fetched; see archive/article_images.py)."""

    __tablename__ = "article_images"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"))
    position: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(Text)
    capture_id: Mapped[int | None] = mapped_column(ForeignKey("captures.id"))

    __table_args__ = (
        Index("ix_article_images_article", "article_id", "position"),
        Index("ix_article_images_url", "url"),
    )


class ArticleCount(Base):
    """Articles per (site, channel) and per (site, month), kept by triggers (migration 0008).

    ``stats`` reads these rows instead of counting every article. ``kind`` is 'channel' or
    'month' and ``value`` the channel or the ``YYYY-MM`` of published_at; NULL is stored as ''.
    """

    __tablename__ = "article_counts"

    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    site: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[str] = mapped_column(Text, primary_key=True)
    articles: Mapped[int] = mapped_column(BigInteger)


crawls = Crawl.__table__
captures = Capture.__table__
articles = Article.__table__
site_templates = SiteTemplate.__table__
article_events = ArticleEvent.__table__
revisit_claims = RevisitClaim.__table__
article_images = ArticleImage.__table__
article_counts = ArticleCount.__table__


def capture_id_of(param: str):
    """``captures.id`` of the capture whose WARC-Record-ID is bound to ``param`` (NULL if none)."""
    return select(Capture.id).where(Capture.warc_record_id == bindparam(param)).scalar_subquery()


def index_url_for(archive_dir: str | Path) -> str:
    """The default index location: ``ARCHIVE_DIR/index.sqlite``."""
    return f"sqlite:///{Path(archive_dir) / 'index.sqlite'}"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


# A real directory even when running from a zipped egg (scrapyd): archive/resources.py.
MIGRATIONS = package_path(__package__, "migrations")


def alembic_config(connection: Connection):
    """Alembic's configuration for this index (Alembic imported here: the CLI starts faster)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the index schema to ``revision`` (Alembic); several processes may race here."""
    from alembic import command

    # Crawlers starting together must not run the same migration twice: PostgreSQL has an
    # advisory lock for that, a SQLite file a lock file beside it.
    lock_path = None
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        lock_path = Path(engine.url.database + ".migrate-lock")
    with open(lock_path, "a") if lock_path else contextlib.nullcontext() as lock:
        if lock is not None:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7202611270)")
            command.upgrade(alembic_config(connection), revision)


def schema_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def has_schema(engine: Engine) -> bool:
    """Does the index hold the tables yet (a first crawl creates them)?"""
    return inspect(engine).has_table("captures")


def open_index(url: str, create: bool = True) -> Engine:
    """Connect to the index; create or upgrade its schema when ``create`` (WAL mode on SQLite)."""
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        if engine.url.database and engine.url.database != ":memory:":
            Path(engine.url.database).parent.mkdir(parents=True, exist_ok=True)
        event.listen(engine, "connect", _sqlite_pragmas)
    if create:
        upgrade(engine)
    return engine
