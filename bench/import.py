"""Import throughput: ``portal-archive import`` against the crawl's own indexing path.

The same portal pages go both ways. The demo portal (demo/site.py, 6 channels) is served
on loopback; a real ``wget -r --warc-file`` crawls it once into a WARC. Then, each round:

- ``import``: ``portal-archive import`` of that WARC into a fresh archive;
- ``crawl``: ``scrapy crawl portal`` of the same portal into a fresh archive (fetching,
  WARC writing, extraction, chrome and field learning, the index pipeline: what indexing
  an article costs during a crawl), with no politeness delay.

Each is a child process; its CPU (user + system, children included) per article indexed
is the "per core" figure (the machine has 2 cores and other work: wall time alone would
say more about the neighbours). Medians over the rounds; the ratio is taken per round.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from demo.server import DemoServer  # noqa: E402
from demo.site import CHANNELS, build_site  # noqa: E402

PYTHON = sys.executable
FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8",
        "-s", "LOG_LEVEL=WARNING", "-s", "WARC_FSYNC=0"]


def timed(command: list[str], index_url: str | None) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child and its children) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}): {' '.join(command)}\n{result.stderr[-3000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def articles_in(archive: Path, index_url: str | None) -> int:
    from sqlalchemy import func, select

    from archive.models import articles, index_url_for, open_index

    engine = open_index(index_url or index_url_for(archive), create=False)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(articles)).scalar_one()
    finally:
        engine.dispose()


def fresh_postgres(base: str, name: str) -> str:
    from sqlalchemy import create_engine, text

    admin = create_engine(base + "postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base + name


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-channel", type=int, default=60, help="articles per channel (6 channels)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", help="a PostgreSQL base URL ending in '/' (as PORTAL_TEST_POSTGRES): "
                        "each round's index is a fresh database there (default: SQLite)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-import-"))
    site = build_site(style="trs", channels=len(CHANNELS), articles_per_channel=args.per_channel)
    rows = []
    try:
        with DemoServer(site) as server:
            subprocess.run(["wget", "-r", "-l", "8", "-q", "--warc-file", str(work / "portal"), "-P",
                            str(work / "mirror"), server.url], cwd=work, timeout=1800, check=False)
            warc = work / "portal.warc.gz"
            print(f"portal: {len(site.articles)} articles; wget WARC {warc.stat().st_size / 1e6:.1f} MB; "
                  f"index: {'PostgreSQL' if args.postgres else 'SQLite'}", flush=True)
            for round_no in range(args.rounds):
                figures = {}
                for way in ("import", "crawl"):
                    archive = work / f"{way}-{round_no}"
                    url = fresh_postgres(args.postgres, f"bench_import_{way}") if args.postgres else None
                    index_args = ["--index", url] if url else []
                    if way == "import":
                        command = [PYTHON, "-m", "archive.cli", "import", "--archive", str(archive), *index_args,
                                   "--progress-every", "3600", str(warc)]
                    else:
                        command = [PYTHON, "-m", "scrapy", "crawl", "portal", "-a", f"start_url={server.url}",
                                   *FAST, "-s", f"ARCHIVE_DIR={archive}"] + (["-s", f"INDEX_URL={url}"] if url else [])
                    wall, cpu = timed(command, url)
                    count = articles_in(archive, url)
                    figures[way] = (wall, cpu, count)
                    shutil.rmtree(archive, ignore_errors=True)
                (iw, ic, ia), (cw, cc, ca) = figures["import"], figures["crawl"]
                rows.append((ic / ia * 1000, cc / ca * 1000, (cc / ca) / (ic / ia), ia / iw, ca / cw))
                print(f"round {round_no + 1}: import {ia} articles {iw:.1f} s wall {ic:.1f} s CPU "
                      f"({ic / ia * 1000:.1f} ms CPU/article); crawl {ca} articles {cw:.1f} s wall {cc:.1f} s CPU "
                      f"({cc / ca * 1000:.1f} ms CPU/article); crawl/import CPU per article "
                      f"{(cc / ca) / (ic / ia):.2f}x", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    med = [statistics.median(column) for column in zip(*rows, strict=True)]
    print(f"median of {len(rows)}: import {med[0]:.1f} ms CPU/article ({1000 / med[0]:.0f} articles/s per core, "
          f"{med[3]:.0f} articles/s wall); crawl {med[1]:.1f} ms CPU/article ({1000 / med[1]:.0f} articles/s per "
          f"core, {med[4]:.0f} articles/s wall); import is {med[2]:.2f}x cheaper per article (target 3x)")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
