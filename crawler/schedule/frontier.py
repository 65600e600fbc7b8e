"""The frontier: on disk, so a crawl's memory does not grow with the URLs it has yet to visit,
and served content first, so a page requisite never takes a page's place.

Scrapy keeps pending requests in memory unless ``JOBDIR`` is set, and a breadth-first crawl
of a big portal (or of hundreds) holds tens of thousands of them. With ``FRONTIER_ON_DISK``
this scheduler gives Scrapy's own disk queues (``SCHEDULER_DISK_QUEUE``, per host under
``DownloaderAwarePriorityQueue``) a private temporary directory when no ``JOBDIR`` is set,
and removes it when the crawl ends. With ``JOBDIR`` it is Scrapy's scheduler unchanged: the
queue persists there, for a paused crawl to resume.

Disk queues keep two files open per host and depth level, a few thousand for hundreds of
portals, past the common soft limit of 1,024 open files: the scheduler raises the soft
limit to the hard one.

``ContentFirstQueue`` (``SCHEDULER_PRIORITY_QUEUE``) keeps a queue per download slot and hands
out the least busy host's next request, pages before requisites (crawler/capture/page_visits.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import resource
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from scrapy import Request
from scrapy.core.scheduler import Scheduler
from scrapy.crawler import Crawler
from scrapy.dupefilters import BaseDupeFilter
from scrapy.pqueues import ScrapyPriorityQueue

from crawler.capture.page_visits import is_requisite_slot

logger = logging.getLogger(__name__)


def raise_open_files_limit(wanted: int = 65536) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as error:
            logger.warning("could not raise the open files limit from %d: %s", soft, error)


class DiskFrontierScheduler(Scheduler):
    """Scrapy's scheduler, given a temporary JOBDIR for its queue when it has none."""

    def __init__(self, dupefilter: BaseDupeFilter, jobdir: str | None = None, *args: Any,
                 crawler: Crawler | None = None, **kwargs: Any) -> None:
        self.temporary: str | None = None
        if not jobdir and crawler is not None and crawler.settings.getbool("FRONTIER_ON_DISK"):
            parent = crawler.settings.get("FRONTIER_TMPDIR") or None
            self.temporary = jobdir = tempfile.mkdtemp(prefix="portal-frontier-", dir=parent)
        if jobdir:
            raise_open_files_limit()
        super().__init__(dupefilter, jobdir, *args, crawler=crawler, **kwargs)

    def close(self, reason: str):
        try:
            return super().close(reason)
        finally:
            if self.temporary:
                shutil.rmtree(self.temporary, ignore_errors=True)


def _path_safe(slot: str) -> str:
    """A directory name for a slot's disk queue: readable, and unique by its digest."""
    readable = "".join(c if c.isalnum() or c in "-._" else "_" for c in slot)
    return f"{readable}-{hashlib.md5(slot.encode()).hexdigest()}"  # noqa: S324 - a name, not a secret


class ContentFirstQueue:
    """The scheduler's priority queue: one priority queue per download slot, as Scrapy's
    DownloaderAwarePriorityQueue keeps, served least busy slot first, but pages before
    requisites (crawler/capture/page_visits.py).

    A slot's rank is twice the requests it has in the downloader, plus 3 for a requisite
    slot: a page slot with nothing in the downloader always goes before any requisite
    slot, and a requisite slot waits until every page slot holds at least two more requests
    than it. When hundreds of hosts share ``CONCURRENT_REQUESTS``, the downloader's room
    therefore goes to pages first; below that, every slot is kept busy and each host's pages
    and requisites flow at their own pace. Ties go to the slot served least recently.

    A slot holding more requests in the downloader than its concurrency gets no more until
    one is done: one waiting is enough for the next turn (its delay), and the rest stay here,
    in priority order, rather than in the downloader's first-come queue. A crawl that stops
    (CLOSESPIDER_TIMEOUT, SIGTERM) finishes what the downloader holds: a request or two per
    slot, not hundreds of requests at a polite delay each.
    """

    @classmethod
    def from_crawler(cls, crawler: Crawler, downstream_queue_cls: type, key: str,
                     startprios: dict[str, Iterable[int]] | None = None, *,
                     start_queue_cls: type | None = None) -> ContentFirstQueue:
        return cls(crawler, downstream_queue_cls, key, startprios, start_queue_cls=start_queue_cls)

    def __init__(self, crawler: Crawler, downstream_queue_cls: type, key: str,
                 startprios: dict[str, Iterable[int]] | None = None, *, start_queue_cls: type | None = None) -> None:
        if crawler.settings.getint("CONCURRENT_REQUESTS_PER_IP"):
            raise ValueError("ContentFirstQueue needs CONCURRENT_REQUESTS_PER_IP = 0 (slots by host name)")
        if startprios and not isinstance(startprios, dict):
            raise ValueError("the frontier on disk was written by another priority queue; start the job afresh")
        self.crawler = crawler
        self.downstream_queue_cls = downstream_queue_cls
        self.start_queue_cls = start_queue_cls
        self.key = key
        self.pqueues: dict[str, ScrapyPriorityQueue] = {}
        self.served: dict[str, int] = {}
        self.turn = 0
        for slot, prios in (startprios or {}).items():
            self.pqueues[slot] = self._queue(slot, prios)

    def _queue(self, slot: str, startprios: Iterable[int] = ()) -> ScrapyPriorityQueue:
        return ScrapyPriorityQueue(self.crawler, self.downstream_queue_cls, f"{self.key}/{_path_safe(slot)}",
                                   startprios, start_queue_cls=self.start_queue_cls)

    def _next_slot(self) -> str | None:
        downloader = self.crawler.engine.downloader
        best, best_rank = None, None
        for slot in self.pqueues:
            busy = downloader.slots.get(slot)
            active = len(busy.active) if busy is not None else 0
            if busy is not None and active > busy.concurrency:
                continue  # it has its next request waiting already
            rank = (2 * active + (3 if is_requisite_slot(slot) else 0), self.served.get(slot, -1))
            if best_rank is None or rank < best_rank:
                best, best_rank = slot, rank
        return best

    def push(self, request: Request) -> None:
        slot = self.crawler.engine.downloader.get_slot_key(request)
        if slot not in self.pqueues:
            self.pqueues[slot] = self._queue(slot)
        self.pqueues[slot].push(request)

    def pop(self) -> Request | None:
        slot = self._next_slot()
        if slot is None:
            return None
        queue = self.pqueues[slot]
        request = queue.pop()
        self.turn += 1
        self.served[slot] = self.turn
        if len(queue) == 0:
            del self.pqueues[slot]
            self.served.pop(slot, None)
            queue.close()
            if self.key:
                with contextlib.suppress(OSError):  # left alone if its queues kept files
                    Path(self.key, _path_safe(slot)).rmdir()
        return request

    def peek(self) -> Request | None:
        slot = self._next_slot()
        return self.pqueues[slot].peek() if slot is not None else None

    def close(self) -> dict[str, list[int]]:
        active = {slot: queue.close() for slot, queue in self.pqueues.items()}
        self.pqueues.clear()
        return active

    def __len__(self) -> int:
        return sum(len(queue) for queue in self.pqueues.values())

    def __contains__(self, slot: str) -> bool:
        return slot in self.pqueues
