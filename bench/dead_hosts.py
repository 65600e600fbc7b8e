"""Dead-hosts benchmark (issue 18): what the open web's failures cost a crawl, on a loopback internet.

    python bench/dead_hosts.py crawl [--third-party nxdomain] [--requisites 1] [--pages 30] [--delay 0.25]
    python bench/dead_hosts.py fleet [--sites 50] [--pages 8] [--delay 1.0]

One run is one crawl, so an outside timer can time it whole and pair it against its peer:

- ``crawl``: one portal of real corpus pages (tests/loopback_internet.py: ``CorpusPortal``)
  whose requisites point at the hosts of the sites they came from. Every third-party host is
  ``nxdomain`` (no DNS record), ``silent`` (accepts TCP connections, never answers),
  ``dropped`` (never completes a handshake) or ``trickle`` (a byte a second). The peer is the
  same command with ``--requisites 0`` (REQUISITES_ENABLED=0): the issue's bound is wall time
  at most 1.25x that peer.
- ``fleet``: ``--sites`` such portals (``--pages`` articles each, every third-party host
  NXDOMAIN) crawled in one process. The politeness bound is the most requests one portal's
  host served (robots.txt, home, listings, articles, and the links of its pages that lead to
  its own host: old pages' relative links 404 there) times DOWNLOAD_DELAY; the issue asks for at most
  1.3x that bound. The run prints its own wall time and the ratio.

Every setting is the project's default except DOWNLOAD_DELAY (``--delay``, to keep a run short)
and AutoThrottle (off, so the delay is the politeness bound); WARC files are fsynced as in
production. Each run checks that every article of every portal is archived (a 200 capture)
and that the crawl exited 0; it exits 1 otherwise, so a timer's exit column shows it.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scoring import CORPUS  # noqa: E402
from tests.loopback_internet import Blackhole, CorpusPortal, Trickle, resolver_settings  # noqa: E402

THIRD_PARTY_ADDRESS = "127.0.0.9"


def crawl(work: Path, seeds: list[str], dns: dict[str, str], settings: dict[str, str]) -> int:
    """``scrapy crawl portal`` over ``seeds`` as a user runs it; its exit status."""
    (work / "seeds.txt").write_text("\n".join(seeds) + "\n")
    command = [sys.executable, "-m", "scrapy", "crawl", "portal", "-a", f"sites={work / 'seeds.txt'}"]
    for name, value in {**dns, "ARCHIVE_DIR": str(work / "archive"), "LOG_LEVEL": "WARNING", **settings}.items():
        command += ["-s", f"{name}={value}"]
    with open(work / "crawl.log", "w") as log:
        return subprocess.run(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT).returncode


def archived(work: Path) -> set[str]:
    """URLs with a 200 capture in the crawl's index."""
    with sqlite3.connect(work / "archive" / "index.sqlite") as conn:
        return {url for (url,) in conn.execute("SELECT url FROM captures WHERE status = 200")}


def subset(pages: int, offset: int, into: Path) -> Path:
    """``pages`` corpus pages (with their truth files), starting at ``offset``, linked into ``into``."""
    into.mkdir(parents=True)
    everything = sorted(CORPUS.joinpath("pages").glob("*.html"))
    if not everything:
        sys.exit(f"no corpus pages in {CORPUS / 'pages'} (set PORTAL_SHARED_DIR)")
    for k in range(pages):
        page = everything[(offset + k) % len(everything)]
        (into / page.name).symlink_to(page)
        if page.with_suffix(".json").exists():
            (into / page.with_suffix(".json").name).symlink_to(page.with_suffix(".json"))
    return into


def politeness(delay: float) -> dict[str, str]:
    return {"DOWNLOAD_DELAY": str(delay), "AUTOTHROTTLE_ENABLED": "0"}


def run_crawl(args: argparse.Namespace, work: Path) -> int:
    with ExitStack() as stack:
        port, default = None, None
        if args.third_party != "nxdomain":
            server = (Trickle(THIRD_PARTY_ADDRESS) if args.third_party == "trickle"
                      else Blackhole(THIRD_PARTY_ADDRESS, args.third_party))
            stack.enter_context(server)
            port, default = server.port, THIRD_PARTY_ADDRESS
        portal = CorpusPortal(subset(args.pages, 0, work / "pages"), "www.xfzd.gov.test", third_party_port=port,
                              cdn="static.xfzd-cdn.example.cn")
        stack.enter_context(portal)
        dns = resolver_settings(work, {portal.host: portal.address}, default)
        settings = {**politeness(args.delay), "REQUISITES_ENABLED": str(args.requisites)}
        started = time.monotonic()
        status = crawl(work, [portal.url], dns, settings)
        wall = time.monotonic() - started
    wanted = {portal.url.rstrip("/") + path for path in portal.articles}
    missing = wanted - archived(work)
    print(f"crawl third-party={args.third_party} requisites={args.requisites}: exit {status}, "
          f"{len(wanted) - len(missing)}/{len(wanted)} articles archived, crawl {wall:.1f} s")
    return 0 if status == 0 and not missing else 1


def run_fleet(args: argparse.Namespace, work: Path) -> int:
    with ExitStack() as stack:
        portals = []
        for number in range(args.sites):
            pages = subset(args.pages, number * args.pages, work / f"pages-{number}")
            portals.append(stack.enter_context(CorpusPortal(pages, f"www.portal{number}.gov.test")))
        dns = resolver_settings(work, {portal.host: portal.address for portal in portals})
        started = time.monotonic()
        status = crawl(work, [portal.url for portal in portals], dns, politeness(args.delay))
        wall = time.monotonic() - started
    wanted = {portal.url.rstrip("/") + path for portal in portals for path in portal.articles}
    missing = wanted - archived(work)
    # The politeness bound: the most requests one portal's host got (robots.txt, home, listings,
    # articles, and whatever else its pages link on it), one DOWNLOAD_DELAY apart.
    largest = max(len(portal.served) for portal in portals)
    bound = largest * args.delay
    print(f"fleet sites={args.sites} pages={args.pages} delay={args.delay:g}: exit {status}, "
          f"{len(wanted) - len(missing)}/{len(wanted)} articles archived, crawl {wall:.1f} s, "
          f"politeness bound {bound:.1f} s ({largest} requests), wall/bound {wall / bound:.2f}")
    return 0 if status == 0 and not missing else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    one = sub.add_parser("crawl", help="one portal, its third-party hosts dead")
    one.add_argument("--third-party", choices=("nxdomain", "silent", "dropped", "trickle"), default="nxdomain")
    one.add_argument("--requisites", type=int, choices=(0, 1), default=1)
    one.add_argument("--pages", type=int, default=30)
    one.add_argument("--delay", type=float, default=0.25)
    many = sub.add_parser("fleet", help="many portals in one process, their third-party hosts dead")
    many.add_argument("--sites", type=int, default=50)
    many.add_argument("--pages", type=int, default=8)
    many.add_argument("--delay", type=float, default=1.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-dead-hosts-") as tmp:
        return run_crawl(args, Path(tmp)) if args.what == "crawl" else run_fleet(args, Path(tmp))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
