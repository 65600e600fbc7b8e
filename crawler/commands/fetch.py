"""`scrapy fetch` with archiving off: pages fetched by hand stay out of the production archive.

Pass `-s CAPTURE_ENABLED=1` to archive them anyway.
"""

from scrapy.commands.fetch import Command as ScrapyCommand

from crawler.commands import NoCaptureMixin


class Command(NoCaptureMixin, ScrapyCommand):
    pass
