"""Serve the demo portal on 127.0.0.1 and archive it: ``python -m demo [--archive DIR]``.

This is the README's first command: it shows the whole system on one machine, with no
network, and prints where the WARC files and the index went.

Run it again and it shows a daily re-crawl. The portal keeps its URLs: it is served on the
port the archive already knows (8000 the first time, the port the README's examples name),
so the second run is incremental instead of archiving every article again under new URLs.
And the portal has changed meanwhile, as portals do (demo/mutations.py): two articles are
new, one was corrected, one taken down. The demo re-checks every known article on each run
(``REVISIT_SCHEDULE`` of a fraction of a second; a real crawl re-checks on its schedule),
so ``portal-archive changes`` and ``diff`` have something to show.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import func, select

from demo import mutations
from demo.server import DemoServer
from demo.site import Site, build_site

PORT = 8000  # the port the README's examples name
FALLBACK_PORTS = range(8001, 8020)
# The article the README's examples show, diff and re-check (the one the demo corrects).
README_ARTICLE = "/xfxw/202001/t20200115_475972.html"
NEW_ON_RERUN = 2  # the newest articles of the first channel, published only by the second run


def archived_port(archive: Path) -> int | None:
    """The port of the demo portal's URLs already in ``archive``, if it holds any."""
    from archive.models import articles, has_schema, index_url_for, open_index

    if not (archive / "index.sqlite").exists():
        return None
    engine = open_index(index_url_for(archive), create=False)
    try:
        if not has_schema(engine):
            return None
        with engine.connect() as conn:
            url = conn.execute(select(articles.c.url).where(articles.c.site == "demo").limit(1)).scalar()
    finally:
        engine.dispose()
    return urlsplit(url).port if url else None


def demo_runs(archive: Path) -> int:
    """How many crawls of the demo portal ``archive`` holds."""
    from archive.models import crawls, has_schema, index_url_for, open_index

    if not (archive / "index.sqlite").exists():
        return 0
    engine = open_index(index_url_for(archive), create=False)
    try:
        if not has_schema(engine):
            return 0
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(crawls).where(crawls.c.site == "demo")).scalar_one()
    finally:
        engine.dispose()


def portal_as_of(run: int, style: str) -> tuple[Site, list[str]]:
    """The demo portal as the ``run``-th crawl finds it, and what changed since the first."""
    if run == 1:
        return build_site(style=style, withhold=NEW_ON_RERUN), []
    site = build_site(style=style)
    said = [f"{NEW_ON_RERUN} articles published since the first run"]
    if README_ARTICLE in site.articles:  # the trs style's paths
        paragraph = mutations.first_paragraph(site, README_ARTICLE)
        mutations.edit_text(site, README_ARTICLE, paragraph, f"{paragraph}（本文第{run}次抓取前已更正）")
        said.append(f"{README_ARTICLE} corrected")
    gone = sorted(path for path in site.articles if path != README_ARTICLE)[0]  # not one of the new ones
    mutations.unlist(site, gone)
    mutations.delete(site, gone)
    said.append(f"{gone} taken down")
    return site, said


def serve(site: Site, ports: list[int]) -> DemoServer:
    """A server on the first free port of ``ports``, else on any free port."""
    for port in ports:
        try:
            return DemoServer(site, port=port)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
    return DemoServer(site, port=0)


def summary(archive: Path) -> list[str]:
    """A few lines read back from the index the crawl wrote."""
    from archive.models import articles, captures, crawls, index_url_for, open_index
    from crawler.schedule.report import human_summary

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
    lines = human_summary(crawl.stats or {}) if crawl.stats else [f"crawl {crawl.id}: {crawl.status}"]
    lines += [
        "captures by HTTP status: " + ", ".join(f"{status}: {count}" for status, count in by_status),
        f"articles indexed by this crawl: {len(titles)}",
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
    parser.add_argument("--port", type=int, help=f"serve on this port (default: the archive's, else {PORT}, "
                        "else the next free one)")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)

    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    from crawler.spiders.portal import PortalSpider

    archive = Path(args.archive).resolve()
    run = demo_runs(archive) + 1
    known = archived_port(archive)
    wanted = args.port if args.port is not None else (known or PORT)
    site, changes = portal_as_of(run, args.style)
    try:
        server = serve(site, [wanted] if args.port is not None else [wanted, PORT, *FALLBACK_PORTS])
    except OSError as exc:
        print(f"error: cannot serve the demo portal on port {wanted}: {exc.strerror}", file=sys.stderr)
        return 2
    port = urlsplit(server.url).port
    if args.port is not None and port != args.port:
        server.stop()
        print(f"error: port {args.port} is busy", file=sys.stderr)
        return 2
    settings = get_project_settings()
    settings.setdict(
        {
            "ARCHIVE_DIR": str(archive),
            "DOWNLOAD_DELAY": 0,
            "AUTOTHROTTLE_ENABLED": False,
            "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
            "LOG_LEVEL": args.log_level,
            # Re-check every known article on every run, so a re-run shows what re-checks find.
            "REVISIT_SCHEDULE": "*:0.00001",
            "REVISIT_SHARE": 1,
        },
        priority="cmdline",
    )
    with server:
        print(f"demo portal ({args.style} style) served at {server.url}")
        if known and port != known:
            print(f"warning: port {known}, where this archive's demo URLs live, is busy: this run's URLs "
                  f"differ, so its articles are archived again under them", file=sys.stderr)
        elif port != PORT and known is None:
            print(f"note: port {PORT} is busy; the README's examples name http://127.0.0.1:{PORT}/, "
                  f"read them with port {port}", file=sys.stderr)
        if changes:
            print(f"run {run}: the portal has changed since the first run: " + "; ".join(changes))
        print(f"crawling it into {archive} ...")
        process = CrawlerProcess(settings)
        process.crawl(PortalSpider, site="demo", start_url=server.url)
        process.start()
    for line in summary(archive):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
