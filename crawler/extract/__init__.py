"""Extraction: a pure function of one captured page (bytes, text or a response) to an article.

This package imports nothing of the crawl machinery (no Scrapy, no site profiles): what it
needs from a profile arrives as plain data (URL patterns), and a Scrapy response is accepted
duck-typed (``url``, ``body``, ``headers``). So it runs the same in the crawl, in a page
worker, in ``scrapy shell`` and on a file::

    >>> from crawler.extract import extract_article
    >>> extract_article(open("page.html", "rb").read(), url="http://example.gov.cn/t20200115_1.html")
"""

from crawler.extract.extract import extract_article

__all__ = ["extract_article"]
