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

from scrapy.core.scheduler import Scheduler
from scrapy.crawler import Crawler
from scrapy.utils.job import job_dir
from scrapy.utils.misc import build_from_crawler, load_object

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
    temporary: str | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DiskFrontierScheduler:
        settings = crawler.settings
        jobdir = job_dir(settings)
        temporary = None
        if not jobdir and settings.getbool("FRONTIER_ON_DISK"):
            parent = settings.get("FRONTIER_TMPDIR") or None
            temporary = jobdir = tempfile.mkdtemp(prefix="portal-frontier-", dir=parent)
        if jobdir:
            raise_open_files_limit()
        scheduler = cls(
            dupefilter=build_from_crawler(load_object(settings["DUPEFILTER_CLASS"]), crawler),
            jobdir=jobdir,
            dqclass=load_object(settings["SCHEDULER_DISK_QUEUE"]),
            mqclass=load_object(settings["SCHEDULER_MEMORY_QUEUE"]),
            logunser=settings.getbool("SCHEDULER_DEBUG"),
            stats=crawler.stats,
            pqclass=load_object(settings["SCHEDULER_PRIORITY_QUEUE"]),
            crawler=crawler,
        )
        scheduler.temporary = temporary
        return scheduler

    def close(self, reason: str):
        try:
            return super().close(reason)
        finally:
            if self.temporary:
                shutil.rmtree(self.temporary, ignore_errors=True)
