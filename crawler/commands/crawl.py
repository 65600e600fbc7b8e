"""``scrapy crawl`` that exits non-zero when the crawl failed (crawler/report.py says when).

Cron and scrapyd judge a job by its exit status; a crawl that archived nothing, or whose
requests mostly failed, should not look like a success.
"""

from __future__ import annotations

import argparse
import sys

from scrapy.commands.crawl import Command as ScrapyCommand
from scrapy.crawler import Crawler
from scrapy.settings import SETTINGS_PRIORITIES

from crawler.fleet import argument_problem


class Command(ScrapyCommand):
    crawler: Crawler | None = None

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        """A live progress line while stderr is a terminal (crawler/progress.py), unless the
        command line says ``-s PROGRESS_LIVE=0``; its project default (off) suits the other
        commands, and would outrank a command's ``default_settings``."""
        super().process_options(args, opts)
        if self.settings.getpriority("PROGRESS_LIVE") < SETTINGS_PRIORITIES["cmdline"]:
            self.settings.set("PROGRESS_LIVE", True, priority="cmdline")

    def _create_crawler(self, spname: str) -> Crawler:
        self.crawler = super()._create_crawler(spname)
        return self.crawler

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        # A bad seed list or profile name: one clear line before anything starts.
        problem = argument_problem(opts.spargs) if args == ["portal"] else None
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            self.exitcode = 2
            return
        super().run(args, opts)
        stats = self.crawler.stats if self.crawler is not None else None
        failed = stats.get_value("crawl/failed") if stats is not None else None
        if failed:
            print(f"crawl failed: {failed}", file=sys.stderr)
            self.exitcode = self.exitcode or 1
