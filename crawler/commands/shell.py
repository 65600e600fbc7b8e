"""`scrapy shell` with archiving off and the frontier in memory (crawler/commands/__init__.py).

Pass `-s CAPTURE_ENABLED=1` to archive the pages anyway.
"""

from scrapy.commands.shell import Command as ScrapyCommand

from crawler.commands import HandRunMixin


class Command(HandRunMixin, ScrapyCommand):
    pass
