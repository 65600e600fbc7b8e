"""Opening an existing index for the commands that use one: read-only where they only read,
and one clear line (``IndexUnavailable``) instead of a driver traceback when it cannot be
opened.

An archive on read-only media (a DVD, a read-only mount, files a researcher may not write)
must still be readable: SQLite is opened with ``mode=ro``, and with ``immutable=1`` when its
directory is not writable, so it neither creates nor needs the ``-shm``/``-wal`` files.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from archive.models import open_index
from archive.redact import redact


class IndexUnavailable(Exception):
    """The index cannot be opened, or is not a portal-archiver index; says why in one line."""


def open_existing_index(url: str, readonly: bool = True) -> Engine:
    """An engine on an index that must already hold the archive's tables."""
    where = redact(url)
    try:
        engine = _readonly_engine(url) if readonly else open_index(url, create=False)
    except (ArgumentError, ValueError) as exc:
        raise IndexUnavailable(f"malformed index URL {where}: {redact(_first_line(exc))}") from None
    except ImportError as exc:
        raise IndexUnavailable(f"no database driver for {where}: {exc}") from None
    try:
        with engine.connect() as conn:
            ok = inspect(conn).has_table("captures")
    except SQLAlchemyError as exc:
        engine.dispose()
        raise IndexUnavailable(f"cannot open the index {where}: {db_problem(exc)}") from None
    if not ok:
        engine.dispose()
        raise IndexUnavailable(f"{where} is not a portal-archiver index (it has no captures table)")
    return engine


def _readonly_engine(url: str) -> Engine:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database).resolve()
        if not path.is_file():
            raise IndexUnavailable(f"no index at {path}")
        uri = f"file:{quote(str(path))}?mode=ro"
        wal_ready = all(path.with_name(path.name + suffix).exists() for suffix in ("-wal", "-shm"))
        if not os.access(path.parent, os.W_OK) and not wal_ready:
            uri += "&immutable=1"  # nothing can write here: no -shm to create, no writer to wait for
        return create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True, timeout=30,
                                                                          check_same_thread=False))
    if backend == "postgresql":
        return create_engine(url, connect_args={"options": "-c default_transaction_read_only=on"})
    return create_engine(url)


def db_problem(exc: SQLAlchemyError) -> str:
    """The database's own one-line reason for an error, credentials removed."""
    return redact(_first_line(getattr(exc, "orig", None) or exc))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def index_problem(url: str) -> str | None:
    """Why a crawl could not write to the index at ``url`` (malformed URL, server unreachable,
    no driver), in one line; None when it can connect."""
    try:
        engine = create_engine(url)
    except (ArgumentError, ValueError) as exc:
        return f"malformed index URL {redact(url)}: {redact(_first_line(exc))}"
    except ImportError as exc:
        return f"no database driver for {redact(url)}: {exc}"
    try:
        with engine.connect():
            return None
    except SQLAlchemyError as exc:
        return f"cannot open the index {redact(url)}: {db_problem(exc)}"
    finally:
        engine.dispose()
