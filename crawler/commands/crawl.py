"""``scrapy crawl`` that exits non-zero when the crawl failed (crawler/report.py says when).

Cron and scrapyd judge a job by its exit status; a crawl that archived nothing, or whose
requests mostly failed, should not look like a success.
"""

from __future__ import annotations

import argparse
import sys

from scrapy.commands.crawl import Command as ScrapyCommand
from scrapy.crawler import Crawler

from archive.access import index_problem


class Command(ScrapyCommand):
    crawler: Crawler | None = None

    def _create_crawler(self, spname: str) -> Crawler:
        self.crawler = super()._create_crawler(spname)
        return self.crawler

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if self.settings.getbool("CAPTURE_ENABLED", True) and self.settings.get("INDEX_URL"):
            # Said in one line before Scrapy starts, instead of a traceback from its start-up.
            if problem := index_problem(self.settings.get("INDEX_URL")):
                print(f"error: {problem}", file=sys.stderr)
                self.exitcode = 2
                return
        super().run(args, opts)
        try:
            stats = self.crawler.stats if self.crawler is not None else None
        except RuntimeError:  # the crawler never started; Scrapy has said why
            stats = None
        failed = stats.get_value("crawl/failed") if stats is not None else None
        if failed:
            print(f"crawl failed: {failed}", file=sys.stderr)
            self.exitcode = self.exitcode or 1
