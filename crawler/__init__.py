"""The crawl: spiders, settings, the capture hook, page classification, extraction, encoding."""

__version__ = "0.1.0"
