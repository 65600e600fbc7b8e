"""`scrapy check` with archiving off and the frontier in memory (crawler/commands/__init__.py):
contract requests are fetched by hand, not crawled.

Pass `-s CAPTURE_ENABLED=1` to archive them anyway.
"""

from scrapy.commands.check import Command as ScrapyCommand

from crawler.commands import HandRunMixin


class Command(HandRunMixin, ScrapyCommand):
    pass
