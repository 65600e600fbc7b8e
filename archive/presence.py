"""Which WARC files the index names that are not on disk: rows pointing into them point at
nothing, and an incremental crawl must not trust them.

Checked once per file, not per row. A file of a crawl run on another host is not expected
here (machines sharing one index keep their own WARC directories) and is not counted.
"""

from __future__ import annotations

import socket
from pathlib import Path

from sqlalchemy import Connection, select

from archive.models import captures, crawls
from archive.warc_writer import OPEN_SUFFIX


def missing_warc_files(conn: Connection, warc_dir: Path) -> set[str]:
    """Names of WARC files the index points into that are neither closed nor open here."""
    here = socket.gethostname()
    named = conn.execute(
        select(captures.c.warc_file, crawls.c.hostname)
        .join(crawls, crawls.c.id == captures.c.crawl_id, isouter=True)
        .distinct()
    )
    missing = set()
    for name, hostname in named:
        if (warc_dir / name).exists() or (warc_dir / (name + OPEN_SUFFIX)).exists():
            continue
        if hostname and hostname != here:
            continue  # another machine's directory
        missing.add(name)
    return missing
