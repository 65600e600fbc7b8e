"""The archive: WARC files, the SQL index that points into them, and the researcher CLI.

Nothing here imports Scrapy, so researchers can read an archive without running a crawl.
"""
