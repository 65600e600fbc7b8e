"""Make ``JOBDIR`` safe to reuse after a crash.

Scrapy saves its request queue and seen-set in JOBDIR, but writes them consistently only
on a clean stop; after SIGKILL they may be stale or torn. This extension marks JOBDIR while
a crawl runs; a marker left behind means the last run died, and its scheduler state is
discarded. Nothing is lost: the archive index is the record of what was fetched, and the
incremental crawl rebuilds the frontier from the start URLs without refetching archived
articles (see crawler/schedule/incremental.py).
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.job import job_dir

logger = logging.getLogger(__name__)

MARKER = "portal-archiver.running"
SCHEDULER_STATE = ("requests.queue", "requests.seen", "spider.state")


class ResumeGuard:
    def __init__(self, crawler: Crawler) -> None:
        directory = job_dir(crawler.settings)
        if not directory:
            raise NotConfigured
        self.marker = Path(directory) / MARKER
        if self.marker.exists():
            logger.warning("the last run with JOBDIR %s did not stop cleanly; discarding its scheduler state "
                           "and rebuilding the frontier from the archive", directory)
            crawler.stats.inc_value("resume/unclean_jobdir")
            for name in SCHEDULER_STATE:
                path = Path(directory) / name
                if path.is_dir():
                    shutil.rmtree(path)
                elif path.exists():
                    path.unlink()
        self.marker.write_text(str(os.getpid()))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ResumeGuard:
        guard = cls(crawler)
        crawler.signals.connect(guard.spider_closed, signal=signals.spider_closed)
        return guard

    def spider_closed(self, spider: Spider, reason: str) -> None:
        # Scrapy has written its queue and seen-set by now, whatever the reason.
        self.marker.unlink(missing_ok=True)
