"""``scrapy crawl`` that exits non-zero when the crawl failed (crawler/schedule/report.py says when).

Cron and scrapyd judge a job by its exit status: 0 done; 1 failed (archived nothing, most
requests failed, the archive could not be written); 2 bad arguments; 75 not started because
another crawl writes the same portal into the archive (ARCHIVE_BUSY=refuse; sysexits'
EX_TEMPFAIL, "try again later"); 128 + the signal's number when interrupted (130 Ctrl-C,
143 SIGTERM: crawler/schedule/stopping.py).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import Any

from scrapy.commands.crawl import Command as ScrapyCommand
from scrapy.crawler import Crawler
from scrapy.settings import SETTINGS_PRIORITIES
from twisted.internet.defer import Deferred

from archive.access import index_problem
from archive.redact import redact
from crawler.capture.hook import BUSY_POLICIES
from crawler.schedule import report
from crawler.schedule.fleet import argument_problem

EXIT_BUSY = 75


class Command(ScrapyCommand):
    crawler: Crawler | None = None

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        """A live progress line while stderr is a terminal (crawler/schedule/progress.py), unless the
        command line says ``-s PROGRESS_LIVE=0``; its project default (off) suits the other
        commands, and would outrank a command's ``default_settings``."""
        super().process_options(args, opts)
        if self.settings.getpriority("PROGRESS_LIVE") < SETTINGS_PRIORITIES["cmdline"]:
            self.settings.set("PROGRESS_LIVE", True, priority="cmdline")

    def _say_start_failures(self) -> None:
        """A crawl that cannot start (a bad spider argument, an unusable setting) says why in
        one line; Scrapy would leave the exception to asyncio or Twisted, which print it with
        a traceback. The exit status stays 1 (Scrapy marks the bootstrap failed)."""
        process = self.crawler_process
        start = process.crawl
        create = process.create_crawler

        def create_crawler(*args: Any, **kwargs: Any) -> Crawler:
            # Keep the crawler (public create_crawler), to read its stats when the run ends.
            self.crawler = create(*args, **kwargs)
            return self.crawler

        process.create_crawler = create_crawler  # type: ignore[method-assign]

        def crawl(*args: Any, **kwargs: Any) -> Any:
            started = start(*args, **kwargs)
            if isinstance(started, asyncio.Future):
                started.add_done_callback(_report_failed_start)
            elif isinstance(started, Deferred):
                started.addErrback(lambda failure: _say_failed_start(failure.value))
            return started

        process.crawl = crawl  # type: ignore[method-assign]

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        # A bad seed list or profile name: one clear line before anything starts.
        problem = argument_problem(opts.spargs) if args == ["portal"] else None
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            self.exitcode = 2
            return
        busy = str(self.settings.get("ARCHIVE_BUSY")).lower()
        if busy not in BUSY_POLICIES:
            print(f"error: ARCHIVE_BUSY must be one of {', '.join(BUSY_POLICIES)}, not {busy!r}", file=sys.stderr)
            self.exitcode = 2
            return
        if self.settings.getbool("CAPTURE_ENABLED") and self.settings.get("INDEX_URL"):
            # Said in one line before Scrapy starts, instead of a traceback from its start-up.
            if problem := index_problem(self.settings.get("INDEX_URL")):
                print(f"error: {problem}", file=sys.stderr)
                self.exitcode = 2
                return
        self._say_start_failures()
        super().run(args, opts)
        try:
            stats = self.crawler.stats if self.crawler is not None else None
        except RuntimeError:  # the crawler never started; Scrapy has said why
            stats = None
        if stats is not None and stats.get_value("crawl/id") is not None and not self._log_shows_info():
            # The summary went to the log only; on a terminal that shows less, say it here too.
            for line in report.human_summary(stats.get_stats()):
                print(line, file=sys.stderr)
        failed = stats.get_value("crawl/failed") if stats is not None else None
        if failed:
            print(f"crawl failed: {failed}", file=sys.stderr)
            self.exitcode = self.exitcode or 1
        if stats is None:
            return
        if stats.get_value("crawl/signal") is not None or stats.get_value("finish_reason") == "shutdown":
            # Interrupted (Ctrl-C, SIGTERM): 128 + the signal's number, as a shell reports it.
            self.exitcode = 128 + int(stats.get_value("crawl/signal") or signal.SIGINT)
        elif stats.get_value("crawl/busy"):
            print(f"not crawling: {stats.get_value('crawl/busy')}", file=sys.stderr)
            self.exitcode = EXIT_BUSY

    @staticmethod
    def _log_shows_info() -> bool:
        """Do INFO lines (the crawl summary) reach the terminal? Not when the log goes to a
        file (``--logfile``) or is off, nor at ``LOG_LEVEL=WARNING``. Without a terminal
        (cron, scrapyd) the log is all there is to say it in."""
        if not sys.stderr.isatty():
            return True
        return any(type(handler) is logging.StreamHandler and handler.stream in (sys.stderr, sys.__stderr__)
                   and handler.level <= logging.INFO for handler in logging.getLogger().handlers)


def _report_failed_start(task: asyncio.Future) -> None:
    if not task.cancelled() and task.exception() is not None:
        _say_failed_start(task.exception())


def _say_failed_start(exc: BaseException | None) -> None:
    print(f"error: the crawl could not start: {redact(str(exc) or type(exc).__name__)}", file=sys.stderr)
