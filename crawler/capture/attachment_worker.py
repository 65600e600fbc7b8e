"""What runs in the crawl's attachment workers (crawler/capture/attachments.py).

Kept apart from the crawl machinery so that a worker spawned for a crawl imports only the
document readers' package and the digest (about 0.15 CPU-s), not Scrapy and the page
pipeline (0.6 CPU-s); each kind of file then warms up its own readers once, on the first
file of that kind, before any forked reader inherits them.
"""

from __future__ import annotations

import os

from archive.processes import die_with_parent
from archive.records import payload_digest
from crawler.extract.documents.capped import extract_capped
from crawler.extract.documents.result import DocumentText, Limits
from crawler.extract.documents.sniff import sniff

HEAD = 65536  # bytes sniffed for the warm-up


def start(parent_pid: int, niceness: int) -> None:
    """The pool's initializer: die with the crawl, and yield the CPU to pages and fetching
    (reading files fills the idle CPU)."""
    die_with_parent(parent_pid)
    try:
        os.nice(niceness)
    except OSError:
        pass


def read_attachment(body: bytes, known_digest: str | None, limits: Limits, seconds: float,
                    memory: int) -> DocumentText | None:
    """None when the archive holds these bytes already, else the text (read in a forked
    child under the time and memory caps)."""
    if known_digest and payload_digest(body) == known_digest:
        return None
    try:
        from crawler.extract.documents import warm_up

        # The libraries (and CMaps) this kind needs, loaded once per worker. Told by the head
        # only: reading a whole container (a zip's central directory) is the capped child's job.
        warm_up(sniff(body[:HEAD]))
    except ImportError:
        pass  # without the attachments extra the file says what it needs
    return extract_capped(body, limits, seconds, memory)
