"""The frontier on disk, so a crawl's memory does not grow with the URLs it has yet to visit.

Scrapy keeps pending requests in memory unless ``JOBDIR`` is set, and a breadth-first crawl
of a big portal (or of hundreds) holds tens of thousands of them. With ``FRONTIER_ON_DISK``
this scheduler gives Scrapy's own disk queues (``SCHEDULER_DISK_QUEUE``, per host under
``DownloaderAwarePriorityQueue``) a private temporary directory when no ``JOBDIR`` is set,
and removes it when the crawl ends. With ``JOBDIR`` it is Scrapy's scheduler unchanged: the
queue persists there, for a paused crawl to resume.

Disk queues keep two files open per host and depth level, a few thousand for hundreds of
portals, past the common soft limit of 1,024 open files: the scheduler raises the soft
limit to the hard one.
"""

from __future__ import annotations

import logging
import resource
import shutil
import tempfile
from typing import Any

from scrapy.core.scheduler import Scheduler
from scrapy.crawler import Crawler
from scrapy.dupefilters import BaseDupeFilter

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
