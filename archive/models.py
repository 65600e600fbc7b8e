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
    Column,
    Connection,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    create_engine,
    event,
    inspect,
    select,
)

from archive.resources import package_path


def utc_iso(moment: datetime | None = None) -> str:
    """The index's one time format: UTC, seconds precision, ``Z`` suffix."""
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# Plain Core tables, not ORM classes: nothing maps rows to objects, and the CLI's `show` and
# `search` start without importing sqlalchemy.orm or building mappers (about a third of
# their start-up). ``metadata`` is what the migrations are checked against (tests/test_schema.py).
metadata = MetaData()

crawls = Table(
    "crawls", metadata,
    Column("id", Integer, primary_key=True),
    Column("spider", String(100), nullable=False),
    Column("site", Text),
    Column("started_at", String(32), nullable=False),
    Column("finished_at", String(32)),
    Column("status", String(20), nullable=False, default="running"),
    Column("hostname", String(200)),
    Column("pid", Integer),
    Column("stats", JSON),
)

captures = Table(
    "captures", metadata,
    Column("id", Integer, primary_key=True),
    Column("crawl_id", ForeignKey("crawls.id"), nullable=False),
    Column("url", Text, nullable=False),
    Column("status", Integer),
    Column("content_type", Text),
    Column("fetched_at", String(32), nullable=False),
    Column("payload_digest", String(100)),
    Column("record_type", String(20), nullable=False),
    Column("warc_file", String(300), nullable=False),
    Column("warc_offset", BigInteger, nullable=False),
    Column("warc_length", BigInteger, nullable=False),
    Column("warc_record_id", String(100), nullable=False, unique=True),
    Column("method", String(10), nullable=False, default="GET"),
    Column("payload_length", BigInteger),
    Column("ip_address", String(64)),
    Column("truncated", Text),
    Column("request_offset", BigInteger),
    Column("request_length", BigInteger),
    # The record's exact WARC-Date (fetched_at is the same moment to the second).
    Column("warc_date", String(40)),
    # Validators for the next crawl's conditional GET.
    Column("etag", Text),
    Column("last_modified", Text),
    # Comma-separated: challenge:<kind> (anti-bot page), truncated, ...
    Column("flags", Text),
    # For a revisit: the capture whose payload it repeats.
    Column("refers_to_id", ForeignKey("captures.id")),
    # POST/PUT: the request body as a query, the way pywb and cdxj-indexer key it
    # (form fields decoded; other bodies as __wb_post_data=<base64>).
    Column("request_body", Text),
    # Made by a browser: its product/version (the record's WARC-Browser); NULL for plain
    # requests (migration 0012).
    Column("browser", Text),
    Index("ix_captures_url_status", "url", "status", "id"),
    Index("ix_captures_digest", "payload_digest"),
    Index("ix_captures_file_offset", "warc_file", "warc_offset"),
    Index("ix_captures_crawl", "crawl_id"),
    Index("ix_captures_fetched", "fetched_at"),
)

articles = Table(
    "articles", metadata,
    Column("id", Integer, primary_key=True),
    Column("capture_id", ForeignKey("captures.id")),
    Column("url", Text, nullable=False),
    Column("site", Text),
    Column("channel", Text),
    Column("title", Text),
    Column("published_at", Text),
    Column("source", Text),
    Column("author", Text),
    Column("views", Integer),
    Column("body", Text),
    Column("site_name", Text),
    Column("encoding", Text),
    # sha1 of the body text: tells a changed article from a re-extracted identical one.
    Column("body_digest", String(40)),
    # How far the body can be trusted as the page's article (0-1), and why not fully
    # (comma-separated warning names; migration 0007).
    Column("confidence", Float),
    Column("extraction_warnings", Text),
    # The 信息公开 disclosure block: 索引号, 发布机构/发文机关, 成文日期, 文号, 主题分类, 有效性.
    Column("index_no", Text),
    Column("issuer", Text),
    Column("written_at", String(40)),
    Column("doc_no", Text),
    Column("topic", Text),
    Column("validity", Text),
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

# A line learned as one site's own chrome (pipelines/chrome.py), kept between crawls.
site_templates = Table(
    "site_templates", metadata,
    Column("id", Integer, primary_key=True),
    Column("site", Text, nullable=False),
    Column("line", Text, nullable=False),
    Column("learned_at", String(32), nullable=False),
    UniqueConstraint("site", "line", name="uq_site_templates_site_line"),
)

# What one re-check of a known article found (archive/events.py, migration 0009).
article_events = Table(
    "article_events", metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False),
    Column("site", String(200)),
    # unchanged, edited, deleted, redirected-away, moved, soft-deleted, blocked
    Column("kind", String(20), nullable=False),
    Column("detected_at", String(32), nullable=False),
    Column("crawl_id", ForeignKey("crawls.id")),
    # The re-check's capture (NULL when no response came back: a network error).
    Column("capture_id", ForeignKey("captures.id")),
    # The version checked against: its articles row and that row's capture.
    Column("article_id", ForeignKey("articles.id")),
    Column("previous_capture_id", ForeignKey("captures.id")),
    # Why: the fields that changed, the status, the redirect target, the phrase found.
    Column("detail", Text),
    Index("ix_article_events_url", "url"),
    Index("ix_article_events_site_detected", "site", "detected_at"),
    Index("ix_article_events_kind", "kind"),
)

# A re-check a running crawl has taken on (crawler/schedule/revisit.py), so that crawlers sharing
# an index do not check the same article twice; void once its crawl is no longer running.
revisit_claims = Table(
    "revisit_claims", metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False, unique=True),
    Column("crawl_id", ForeignKey("crawls.id"), nullable=False),
    Column("claimed_at", String(32), nullable=False),
)

# An image inside an article's body (migration 0005): where it sits, and the capture
# holding its bytes (NULL until fetched; see archive/article_images.py).
article_images = Table(
    "article_images", metadata,
    Column("id", Integer, primary_key=True),
    Column("article_id", ForeignKey("articles.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("url", Text, nullable=False),
    Column("capture_id", ForeignKey("captures.id")),
    Index("ix_article_images_article", "article_id", "position"),
    Index("ix_article_images_url", "url"),
)

# One attachment version (migration 0011): a capture of a document whose text was read
# (archive/attachments.py, text by crawler/extract/documents/). A changed file is a new row.
attachments = Table(
    "attachments", metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False),
    Column("capture_id", ForeignKey("captures.id")),
    Column("payload_digest", String(100)),
    # The type sniffed from the bytes (pdf, docx, doc, xlsx, xls, ofd, zip, rar, html, png ...)
    # and what the server called it (Content-Type).
    Column("kind", String(20)),
    Column("content_type", Text),
    # Bytes as served (content-decoded); pages of a PDF/OFD/DOCX/DOC, sheets of a workbook.
    Column("size", BigInteger),
    Column("pages", Integer),
    Column("text", Text),
    # ok, no_text, encrypted, corrupt, unsupported, too_large, timeout, truncated, failed
    Column("status", String(20), nullable=False),
    Column("error", Text),
    # An archive's members: [{"name", "kind", "status", "size"}].
    Column("members", JSON),
    Column("extracted_at", String(32), nullable=False),
    # One row per URL and payload: a second writer's copy is a no-op.
    Index("uq_attachments_url_digest", "url", "payload_digest", unique=True),
    Index("ix_attachments_capture", "capture_id"),
    # PostgreSQL also has ix_attachments_grams, a GIN index over archive_grams('', text)
    # (migration 0011, archive/attachments.py), made by the migration only.
)

# An attachment link on an article version: where it sits, its link text (often the
# document's real title) and the attachment version captured with it (NULL until read).
attachment_links = Table(
    "attachment_links", metadata,
    Column("id", Integer, primary_key=True),
    Column("article_id", ForeignKey("articles.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("url", Text, nullable=False),
    Column("title", Text),
    Column("attachment_id", ForeignKey("attachments.id")),
    Index("ix_attachment_links_article", "article_id", "position"),
    Index("ix_attachment_links_url", "url"),
    Index("ix_attachment_links_attachment", "attachment_id"),
)

# Articles per (site, channel) and per (site, month), kept by triggers (migration 0008).
# ``stats`` reads these rows instead of counting every article. ``kind`` is 'channel' or
# 'month' and ``value`` the channel or the ``YYYY-MM`` of published_at; NULL is stored as ''.
article_counts = Table(
    "article_counts", metadata,
    Column("kind", String(10), primary_key=True),
    Column("site", Text, primary_key=True),
    Column("value", Text, primary_key=True),
    Column("articles", BigInteger, nullable=False),
)


# WARC files indexed by ``portal-archive import`` (migration 0013): where each one's bytes are.
# ``captures.warc_file`` holds ``name``; a file of the archive's own WARC directory (a crawl's,
# or one imported with --copy) has ``path`` NULL, another tool's file left where it was has
# its absolute ``path``, and a WARC inside a WACZ has the zip's path, the entry (``member``)
# and where the entry's bytes start (``base_offset``): warc_offset counts from there.
warc_files = Table(
    "warc_files", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(300), nullable=False, unique=True),
    Column("path", Text),
    Column("member", Text),
    Column("base_offset", BigInteger, nullable=False, default=0),
    Column("size", BigInteger, nullable=False),
    # The WARC's bytes: the same file found again (anywhere, under any name) is not imported twice.
    Column("sha256", String(64), nullable=False, unique=True),
    # The source file's modification time: a file met again unchanged is not read to hash it.
    Column("mtime_ns", BigInteger),
    # importing (records before resume_offset are indexed), done
    Column("status", String(20), nullable=False),
    Column("resume_offset", BigInteger, nullable=False, default=0),
    Column("crawl_id", ForeignKey("crawls.id")),
    # The warcinfo record's software (wget, Heritrix, warcprox, Browsertrix ...), when it has one.
    Column("software", Text),
    Column("records", Integer),
    Column("captures", Integer),
    Column("articles", Integer),
    Column("imported_at", String(32)),
    Index("ix_warc_files_path", "path", "member"),
)


def capture_id_of(param: str):
    """``captures.id`` of the capture whose WARC-Record-ID is bound to ``param`` (NULL if none)."""
    return select(captures.c.id).where(captures.c.warc_record_id == bindparam(param)).scalar_subquery()


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
