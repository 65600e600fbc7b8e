"""Which WARC files the index names that are not on disk: rows pointing into them point at
nothing, and an incremental crawl must not trust them.

Checked once per file, not per row. A file of a crawl run on another host is not expected
here (machines sharing one index keep their own WARC directories) and is not counted.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, func, select

from archive.locations import WarcLocator
from archive.models import captures, crawls
from archive.warc_writer import OPEN_SUFFIX


def missing_warc_files(conn: Connection, warc_dir: Path) -> set[str]:
    """Names of WARC files the index points into that are neither closed nor open here."""
    here = socket.gethostname()
    missing = set()
    locate = WarcLocator(conn, warc_dir)
    for name in warc_file_names(conn):
        location = locate(name)
        if location.exists() or (warc_dir / (name + OPEN_SUFFIX)).exists():
            continue
        if location.imported:  # another tool's file, indexed where it was: gone from there
            missing.add(name)
            continue
        hosts = conn.execute(
            select(crawls.c.hostname).select_from(captures.outerjoin(crawls, crawls.c.id == captures.c.crawl_id))
            .where(captures.c.warc_file == name).distinct()
        ).scalars()
        # Another machine's file is not expected here; a file of this host (or of none) is missing.
        if any(not hostname or hostname == here for hostname in hosts):
            missing.add(name)
    return missing


def warc_file_names(conn: Connection) -> Iterator[str]:
    """Every WARC file name the captures point into, in order: one index seek per file (the
    (warc_file, warc_offset) index), not a pass over every capture, so a crawl starts as fast
    on a million captures as on a thousand."""
    name = conn.execute(select(func.min(captures.c.warc_file))).scalar()
    while name is not None:
        yield name
        name = conn.execute(select(func.min(captures.c.warc_file)).where(captures.c.warc_file > name)).scalar()
