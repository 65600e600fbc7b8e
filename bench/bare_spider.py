"""A bare Scrapy spider: the baseline that portal-archiver's throughput is judged against.

It follows the same pages as the project's ``portal`` spider (every ``<a>`` link on the start
host, plus listing pages named only by TRS ``createPageHTML(...)`` scripts) at the same
politeness settings, but keeps nothing: no WARC, no index, no extraction. The gap between
the two is the cost of archiving.

Standalone on purpose, run outside the project so its settings are not loaded::

    cd /tmp && python -m scrapy runspider /work/main/bench/bare_spider.py \\
        -a start_url=http://127.0.0.1:8080/ -a out=/tmp/bare.json
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor

# createPageHTML(total, current, "index", "html") -> index.html, index_1.html ... index_{total-1}.html
PAGER_CALL = re.compile(r"""createPageHTML\(\s*(\d+)\s*,\s*\d+\s*,\s*["'](\w+)["']\s*,\s*["'](\w+)["']""")


class BareSpider(scrapy.Spider):
    name = "bare"
    # The project's defaults that shape the crawl (not its archiving): the same request
    # headers, no cookies, breadth-first order. Concurrency and delay come from -s.
    custom_settings: dict[str, Any] = {
        "ROBOTSTXT_OBEY": False,
        "COOKIES_ENABLED": False,
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "CONCURRENT_REQUESTS": 16,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
        "DEFAULT_REQUEST_HEADERS": {
            "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5",
            "Accept-Encoding": "gzip, deflate",
        },
        "DEPTH_PRIORITY": 1,
        "SCHEDULER_DISK_QUEUE": "scrapy.squeues.PickleFifoDiskQueue",
        "SCHEDULER_MEMORY_QUEUE": "scrapy.squeues.FifoMemoryQueue",
        "LOG_LEVEL": "WARNING",
        "TELNETCONSOLE_ENABLED": False,
    }

    def __init__(self, start_url: str | None = None, out: str | None = None, seeds: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # seeds=FILE: one start URL per line, each host crawled within itself (bench/fleet.py).
        self.start_urls = [start_url] if start_url else []
        if seeds:
            self.start_urls += [line.strip() for line in Path(seeds).read_text().splitlines()
                                if line.strip() and not line.startswith("#")]
        self.netlocs = {urlsplit(url).netloc for url in self.start_urls}
        self.out = Path(out) if out else None
        self.links = LinkExtractor()

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.start_urls:
            yield scrapy.Request(url, callback=self.parse)

    def parse(self, response: Response) -> Iterator[scrapy.Request]:
        """Follow links and script pagination on the page's own host; keep nothing."""
        netloc = urlsplit(response.url).netloc
        if response.status == 200 and response.headers.get(b"Content-Type", b"").startswith(b"text/html"):
            self.crawler.stats.inc_value("bare/html_pages")
        if not isinstance(response, TextResponse):
            return
        urls = [link.url for link in self.links.extract_links(response)]
        if "createPageHTML" in response.text:
            for total, name, ext in PAGER_CALL.findall(response.text):
                urls.append(urljoin(response.url, f"{name}.{ext}"))
                urls.extend(urljoin(response.url, f"{name}_{k}.{ext}") for k in range(1, int(total)))
        for url in urls:
            if urlsplit(url).netloc == netloc and netloc in self.netlocs:
                yield scrapy.Request(url, callback=self.parse)

    def closed(self, reason: str) -> None:
        """Leave the counts where the benchmark can read them (runspider has no other output)."""
        if self.out is None:
            return
        stats = self.crawler.stats.get_stats()
        elapsed = stats.get("elapsed_time_seconds")
        if elapsed is None and stats.get("start_time") is not None:
            # CoreStats sets elapsed_time_seconds in its own spider_closed handler, which
            # may run after this one.
            elapsed = (datetime.now(UTC) - stats["start_time"]).total_seconds()
        # The benchmarks' units (bench/crawl.py Counts): 200 text/html responses, and every
        # request sent (robots.txt, redirects, errors, retries included).
        self.out.write_text(json.dumps({
            "reason": reason,
            "html_pages": stats.get("bare/html_pages", 0),
            "requests": stats.get("downloader/request_count", 0),
            "responses": stats.get("response_received_count", 0),
            "elapsed_s": elapsed,
        }))
