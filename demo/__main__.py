"""Serve the demo portal on 127.0.0.1 and archive it: ``python -m demo [--archive DIR]``.

This is the README's first command: it shows the whole system on one machine, with no
network, and prints where the WARC files and the index went.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sqlalchemy import func, select


def summary(archive: Path) -> list[str]:
    """A few lines read back from the index the crawl wrote."""
    from archive.models import articles, captures, crawls, index_url_for, open_index

    engine = open_index(index_url_for(archive), create=False)
    with engine.connect() as conn:
        crawl = conn.execute(select(crawls).order_by(crawls.c.id.desc()).limit(1)).one()
        by_status = conn.execute(
            select(captures.c.status, func.count())
            .where(captures.c.crawl_id == crawl.id)
            .group_by(captures.c.status)
            .order_by(captures.c.status)
        ).all()
        titles = conn.execute(
            select(articles.c.published_at, articles.c.title)
            .join(captures, captures.c.id == articles.c.capture_id)
            .where(captures.c.crawl_id == crawl.id)
            .order_by(articles.c.published_at.desc())
        ).all()
    engine.dispose()
    files = sorted((archive / "warc").glob("*.warc.gz"))
    lines = [
        f"crawl {crawl.id}: {crawl.status}, {crawl.started_at} -> {crawl.finished_at}",
        "captures by HTTP status: " + ", ".join(f"{status}: {count}" for status, count in by_status),
        f"articles indexed: {len(titles)}",
    ]
    lines += [f"  {published or '?':25} {title}" for published, title in titles[:5]]
    if len(titles) > 5:
        lines.append(f"  ... and {len(titles) - 5} more")
    lines.append(f"WARC files ({len(files)}): {archive / 'warc'}")
    lines += [f"  {path.name} ({path.stat().st_size:,} bytes)" for path in files]
    lines.append(f"index: {archive / 'index.sqlite'}  (try: sqlite3 {archive / 'index.sqlite'} "
                 "'select title, published_at, source from articles')")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__.splitlines()[0])
    parser.add_argument("--archive", default="data/demo", help="archive directory (default: data/demo)")
    parser.add_argument("--style", default="trs", choices=["trs", "art"], help="which CMS the demo imitates")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)

    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    from crawler.spiders.portal import PortalSpider
    from demo.server import DemoServer
    from demo.site import build_site

    archive = Path(args.archive).resolve()
    settings = get_project_settings()
    settings.setdict(
        {
            "ARCHIVE_DIR": str(archive),
            "DOWNLOAD_DELAY": 0,
            "AUTOTHROTTLE_ENABLED": False,
            "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
            "LOG_LEVEL": args.log_level,
        },
        priority="cmdline",
    )
    with DemoServer(build_site(style=args.style)) as server:
        print(f"demo portal ({args.style} style) served at {server.url}")
        print(f"crawling it into {archive} ...")
        process = CrawlerProcess(settings)
        process.crawl(PortalSpider, site="demo", start_url=server.url)
        process.start()
    for line in summary(archive):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
