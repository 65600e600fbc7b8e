"""Fleet benchmark: many portals, each behind its own polite per-host delay, crawled three ways.

    python bench/fleet.py [--sites 100] [--pages 100] [--delay 0.25] [--rounds 1] [--record]

Each portal is the demo generator's output (a different seed per portal, at least
``--pages`` HTML pages) served by one nginx on its own loopback address, 127.0.0.2 upwards,
as real portals live on distinct hosts. Every tool gets the same politeness: DOWNLOAD_DELAY
per host (Scrapy randomises it 0.5x-1.5x), no AutoThrottle, robots.txt obeyed.

- ``fleet``: the project, every portal in one process (``-a sites=FILE``);
- ``per-site``: the project, one process per portal, ``--parallel`` (8) at a time, all into
  one archive (what a scrapyd user would do);
- ``bare``: bench/bare_spider.py given all seeds in one process, keeping nothing.

No crawl can beat the politeness bound: the largest portal's pages x delay. Reported per
tool, in the same units for every tool (bench/crawl.py Counts): HTML pages (200 text/html
responses) and total requests (robots.txt, page requisites, redirects and errors included)
as separate columns, wall time and its ratio to that bound, HTML pages/s, CPU seconds per
1,000 HTML pages, and the peak RSS of the process tree(s), sampled from /proc only
(ru_maxrss is inherited across fork and exec). Rounds alternate the tools' order; medians
over rounds are reported.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.crawl import (  # noqa: E402 - reuse the crawl benchmark's server, sampler and helpers
    BENCH,
    Counts,
    Nginx,
    TreeRssSampler,
    bare_counts,
    child_python,
    clean_env,
    code_fingerprint,
    machine_note,
    measure,
    project_counts,
    scrapy_flags,
)
from bench.report import command_line, commit, load_average, replace_section  # noqa: E402

SECTION = "## Fleet benchmark, {delay:g} s per host"
TOOLS = ("fleet", "per-site", "bare")
TARGET_WALL_RATIO = 1.3
TARGET_RSS_MIB = 1024


@dataclass
class Result:
    tool: str
    round: int
    counts: Counts
    articles: int
    wall_s: float
    cpu_s: float
    tree_rss_mib: float
    returncode: int
    # The crawl's own politeness bound: the most requests it made to one host (HTML pages,
    # page requisites, robots.txt) x the delay. The project fetches each page's stylesheets,
    # scripts and images too (replay needs them), which the bare spider does not.
    own_bound_s: float = 0.0

    @property
    def pages(self) -> int:
        """HTML pages: what the rates are per."""
        return self.counts.html_pages

    def per_1000(self) -> float:
        return 1000 * self.cpu_s / self.pages if self.pages else float("nan")


def build_fleet(root: Path, sites: int, pages: int) -> tuple[list[tuple[str, Path]], int]:
    """Write ``sites`` portals of at least ``pages`` HTML pages; return (address, root) pairs and
    the largest portal's page count (robots.txt included: it is a request too)."""
    from demo.site import build_site

    channels, per_page = 4, 20
    per_channel = max(1, -(-(pages - 1 - channels) // channels))
    largest = 0
    out = []
    for k in range(sites):
        site = build_site(style="trs" if k % 2 == 0 else "art", channels=channels, articles_per_channel=per_channel,
                          per_page=per_page, seed=k, extras=False)
        directory = root / f"site{k:03d}"
        site.write_static(directory)
        html = len(site.articles) + len(site.listings) + 1
        largest = max(largest, html + 1)
        address = f"127.0.{(k + 2) // 256}.{(k + 2) % 256}"
        out.append((address, directory))
    return out, largest


def settings_for(delay: float, archive: Path | None) -> dict[str, str]:
    settings = {
        "DOWNLOAD_DELAY": str(delay),
        "AUTOTHROTTLE_ENABLED": "0",
        "ROBOTSTXT_OBEY": "1",
        "CONCURRENT_REQUESTS": "256",
        "CONCURRENT_REQUESTS_PER_DOMAIN": "2",
        "LOG_LEVEL": "INFO",
        "PROGRESS_INTERVAL": "10",
    }
    if archive is not None:
        settings["ARCHIVE_DIR"] = str(archive)
    return settings


def largest_host_requests(archive: Path) -> int:
    with sqlite3.connect(archive / "index.sqlite") as db:
        hosts = Counter(urlsplit(url).netloc for (url,) in db.execute("select url from captures"))
    return max(hosts.values(), default=0)


def run_fleet(seeds: Path, work: Path, delay: float, round_: int) -> Result:
    archive = work / "archive"
    cmd = [child_python(), "-m", "scrapy", "crawl", "portal", "-a", f"sites={seeds}",
           *scrapy_flags(settings_for(delay, archive))]
    measured = measure(cmd, ROOT, work / "fleet.log", clean_env())
    counts, articles, _ = project_counts(archive)
    return Result("fleet", round_, counts, articles, measured.wall_s, measured.cpu_s, measured.tree_rss_mib,
                  measured.returncode, own_bound_s=largest_host_requests(archive) * delay)


def run_per_site(urls: list[str], work: Path, delay: float, round_: int, parallel: int) -> Result:
    """One crawl process per portal, ``parallel`` at a time, all writing one archive."""
    archive = work / "archive"
    running: dict[int, subprocess.Popen[bytes]] = {}
    lock = threading.Lock()
    sampler = TreeRssSampler(os.getpid(), roots=lambda: set(running))
    cpu = 0.0
    codes: list[int] = []
    pending = list(enumerate(urls))
    start = time.perf_counter()
    sampler.start()
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    while pending or running:
        while pending and len(running) < parallel:
            k, url = pending.pop(0)
            cmd = [child_python(), "-m", "scrapy", "crawl", "portal", "-a", f"start_url={url}",
                   *scrapy_flags(settings_for(delay, archive))]
            with (logs / f"site{k:03d}.log").open("wb") as out:
                proc = subprocess.Popen(cmd, cwd=ROOT, env=clean_env(), stdout=out, stderr=subprocess.STDOUT)
            with lock:
                running[proc.pid] = proc
        pid, status, usage = os.wait4(-1, 0)
        with lock:
            if running.pop(pid, None) is None:
                continue
        cpu += usage.ru_utime + usage.ru_stime
        codes.append(os.waitstatus_to_exitcode(status))
    wall = time.perf_counter() - start
    sampler.done.set()
    sampler.join()
    counts, articles, _ = project_counts(archive)
    return Result("per-site", round_, counts, articles, wall, cpu, sampler.peak_bytes / 2**20,
                  max(codes, default=0))


def run_bare(seeds: Path, work: Path, delay: float, round_: int) -> Result:
    out = work / "bare.json"
    settings = {**settings_for(delay, None), "LOG_LEVEL": "WARNING",
                "SCHEDULER_PRIORITY_QUEUE": "scrapy.pqueues.DownloaderAwarePriorityQueue"}
    del settings["PROGRESS_INTERVAL"]
    cmd = [child_python(), "-m", "scrapy", "runspider", str(BENCH / "bare_spider.py"), "-a", f"seeds={seeds}",
           "-a", f"out={out}", *scrapy_flags(settings)]
    measured = measure(cmd, work, work / "bare.log", clean_env())
    counts, _ = bare_counts(out)
    return Result("bare", round_, counts, 0, measured.wall_s, measured.cpu_s, measured.tree_rss_mib,
                  measured.returncode)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(results: list[Result], bound: float) -> tuple[str, dict[str, dict[str, float]]]:
    names = {"fleet": "portal-archiver, all portals in one process", "per-site":
             "portal-archiver, one process per portal, 8 at a time", "bare": "bare Scrapy spider, all seeds"}
    rows = ["| Tool | HTML pages | Total requests | Wall s | Wall / bound | HTML pages/s | CPU s per 1,000 HTML pages "
            "| Peak RSS MiB (tree) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    medians: dict[str, dict[str, float]] = {}
    for tool in TOOLS:
        runs = [r for r in results if r.tool == tool]
        if not runs:
            continue
        m = {
            "pages": median([r.pages for r in runs]),
            "requests": median([r.counts.requests for r in runs]),
            "wall": median([r.wall_s for r in runs]),
            "pps": median([r.pages / r.wall_s for r in runs]),
            "cpu1000": median([r.per_1000() for r in runs]),
            "rss": median([r.tree_rss_mib for r in runs]),
            "own_bound": median([r.own_bound_s for r in runs]),
        }
        medians[tool] = m
        rows.append(f"| {names[tool]} | {m['pages']:.0f} | {m['requests']:.0f} | {m['wall']:.1f} | "
                    f"{m['wall'] / bound:.2f} | {m['pps']:.1f} | {m['cpu1000']:.1f} | {m['rss']:.0f} |")
    return "\n".join(rows), medians


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=100)
    parser.add_argument("--pages", type=int, default=100, help="at least this many HTML pages per portal")
    parser.add_argument("--delay", type=float, default=0.25, help="DOWNLOAD_DELAY per host, seconds")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--parallel", type=int, default=8, help="processes at a time for per-site")
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--out", type=Path, default=None, help="keep logs and archives here")
    parser.add_argument("--record", action="store_true", help="write the results into BENCHMARKS.md")
    parser.add_argument("--scaling", action="store_true",
                        help="instead: the one-process crawl's peak RSS at 10 and 300 portals, and at "
                             "--small and --large pages on one portal (no delay)")
    parser.add_argument("--vary", default="portals,pages", help="with --scaling: what grows (portals, pages)")
    parser.add_argument("--small", type=int, default=2000)
    parser.add_argument("--large", type=int, default=10000)
    args = parser.parse_args(argv)
    if args.scaling:
        return scaling(args)
    tools = [tool for tool in args.tools.split(",") if tool]
    tmp = Path(tempfile.mkdtemp(prefix="bench-fleet-")) if args.out is None else args.out
    tmp.mkdir(parents=True, exist_ok=True)
    sites, largest = build_fleet(tmp / "sites", args.sites, args.pages)
    bound = largest * args.delay or float("nan")  # no bound without a delay
    server = Nginx(tmp / "sites", tmp / "nginx", sites=sites)
    server.start()
    results: list[Result] = []
    code = code_fingerprint()
    load_start = load_average()
    try:
        urls = server.urls()
        seeds = tmp / "seeds.txt"
        seeds.write_text("".join(f"{url}\n" for url in urls))
        print(f"{len(urls)} portals on {urls[0]} ... {urls[-1]}; largest {largest} requests; "
              f"politeness bound {bound:.1f} s", flush=True)
        for round_ in range(1, args.rounds + 1):
            order = tools if round_ % 2 else list(reversed(tools))
            for tool in order:
                work = tmp / f"round{round_}" / tool
                work.mkdir(parents=True, exist_ok=True)
                if tool == "fleet":
                    result = run_fleet(seeds, work, args.delay, round_)
                elif tool == "per-site":
                    result = run_per_site(urls, work, args.delay, round_, args.parallel)
                else:
                    result = run_bare(seeds, work, args.delay, round_)
                results.append(result)
                print(f"round {round_} {tool}: {result.pages} HTML pages, {result.counts.requests} requests, "
                      f"{result.articles} articles, "
                      f"{result.wall_s:.1f} s wall ({result.wall_s / bound:.2f}x bound), {result.cpu_s:.1f} s CPU, "
                      f"{result.tree_rss_mib:.0f} MiB peak, exit {result.returncode}", flush=True)
    finally:
        server.stop()
    tbl, medians = table(results, bound)
    print(tbl)
    notes = verdict(medians, bound)
    for line in notes:
        print(line)
    if args.record:
        record(args, tbl, notes, bound, largest, code, f"{load_start} at the start, {load_average()} at the end")
    return 0


def scaling(args: argparse.Namespace) -> int:
    """Peak RSS of the one-process crawl as portals and pages grow: it should barely move."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-fleet-scaling-")) if args.out is None else args.out
    load_start = load_average()
    rows = ["| Crawl | Portals | HTML pages | Total requests | Wall s | CPU s per 1,000 HTML pages | "
            "Peak RSS MiB (tree) |", "|---|---:|---:|---:|---:|---:|---:|"]
    cases = [case for case in [("portals", 10, 12), ("portals", 300, 12), ("pages", 1, args.small),
                               ("pages", 1, args.large)] if case[0] in args.vary.split(",")]
    for kind, sites, pages in cases:
        work = tmp / f"{kind}-{sites}x{pages}"
        work.mkdir(parents=True, exist_ok=True)
        addresses, _ = build_fleet(work / "sites", sites, pages)
        server = Nginx(work / "sites", work / "nginx", sites=addresses)
        server.start()
        try:
            seeds = work / "seeds.txt"
            seeds.write_text("".join(f"{url}\n" for url in server.urls()))
            result = run_fleet(seeds, work, 0.0, 1)
        finally:
            server.stop()
        if result.returncode != 0 or not result.pages:
            raise SystemExit(f"the crawl of {sites} portal(s) failed (exit {result.returncode}, {result.pages} HTML "
                             f"pages); see {work / 'fleet.log'}")
        line = (f"| {kind} | {sites} | {result.pages} | {result.counts.requests} | {result.wall_s:.0f} | "
                f"{result.per_1000():.1f} | {result.tree_rss_mib:.0f} |")
        print(line, flush=True)
        rows.append(line)
    tbl = "\n".join(rows)
    print(tbl)
    if args.record:
        replace_section("## Fleet memory scaling", f"""## Fleet memory scaling

Command: `{command_line("bench/fleet")}` at commit {commit()}

Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; one run per row; load average (1/5/15 min) {load_start} at the
start, {load_average()} at the end; source fingerprint {code_fingerprint()}

Machine: {machine_note()}

The one-process crawl (`-a sites=FILE`, everything on: WARC, index, extraction, page worker,
frontier on disk), no delay, portals from the demo generator on loopback addresses. Peak RSS is
the highest sum over the crawl's process tree, sampled from /proc at 10 Hz (never `ru_maxrss`,
which a child inherits from the benchmark that generated the portals). HTML pages and total
requests (robots.txt and page requisites included) as in bench/crawl.py.

{tbl}

- Many portals cost per portal: its robots.txt parser, download slot, per-host disk queue, its
  counters; pages cost nothing that stays (frontier on disk, chrome-template counts pruned).
- What stays per page: Scrapy's duplicate filter (one 40-character fingerprint per URL, about
  0.1 KB: ~10 MiB per 100,000 pages) and the dedup pipeline's URL set (issue 12b's), both small.
""")
    return 0


def verdict(medians: dict[str, dict[str, float]], bound: float) -> list[str]:
    notes = []
    fleet, bare = medians.get("fleet"), medians.get("bare")
    if fleet:
        ratio = fleet["wall"] / bound
        notes.append(f"- fleet wall / politeness bound: {ratio:.2f} (target <= {TARGET_WALL_RATIO}: "
                     f"{'met' if ratio <= TARGET_WALL_RATIO else 'NOT met'})")
        if fleet["own_bound"]:
            own = fleet["own_bound"]
            notes.append(f"- fleet wall / its own requests' bound (HTML pages, requisites and robots.txt of the "
                         f"busiest host x delay = {own:.1f} s): {fleet['wall'] / own:.2f}")
        notes.append(f"- fleet peak RSS: {fleet['rss']:.0f} MiB (target < {TARGET_RSS_MIB}: "
                     f"{'met' if fleet['rss'] < TARGET_RSS_MIB else 'NOT met'})")
    if fleet and bare:
        ratio = fleet["cpu1000"] / bare["cpu1000"]
        notes.append(f"- fleet / bare CPU per HTML page: {ratio:.2f} (target <= 1: "
                     f"{'met' if ratio <= 1 else 'NOT met'}); HTML pages/s {fleet['pps'] / bare['pps']:.2f}")
    if fleet and medians.get("per-site"):
        per = medians["per-site"]
        notes.append(f"- per-site / fleet: wall {per['wall'] / fleet['wall']:.2f}x, CPU per page "
                     f"{per['cpu1000'] / fleet['cpu1000']:.2f}x, peak RSS {per['rss'] / fleet['rss']:.2f}x")
    return notes


def record(args: argparse.Namespace, tbl: str, notes: list[str], bound: float, largest: int, code: str,
           load: str) -> None:
    section = f"""{SECTION.format(delay=args.delay)}

Command: `{command_line("bench/fleet")}` at commit {commit()} (from the repository root; `python
bench/fleet.py` without the wrapper)

Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; rounds: {args.rounds} (medians); load average (1/5/15 min) {load};
source fingerprint {code}

Machine: {machine_note()}

{args.sites} portals of at least {args.pages} HTML pages each (demo generator, one seed per portal, TRS and
art styles alternating), served by one nginx on {args.sites} loopback addresses (127.0.0.2 upwards);
DOWNLOAD_DELAY={args.delay} s per host (randomised 0.5x-1.5x by Scrapy), no AutoThrottle, robots.txt
obeyed, CONCURRENT_REQUESTS=256, CONCURRENT_REQUESTS_PER_DOMAIN=2, DownloaderAwarePriorityQueue for all.
Politeness bound = largest portal's requests ({largest}, robots.txt included) x delay = {bound:.1f} s.

{tbl}

{chr(10).join(notes)}

- HTML pages: 200 text/html responses (the project: its captures; bare: counted by the spider). Total
  requests: every request sent (Scrapy's downloader/request_count), robots.txt, page requisites,
  redirects and errors included; the project fetches each page's stylesheets, scripts and images for
  replay, the bare spider none. Rates are per HTML page for both.
- CPU = user + system time of the crawl processes and their children (`os.wait4`), per 1,000 HTML pages.
- Peak RSS = the highest sum of RSS over the crawl process tree(s), sampled from /proc at 10 Hz
  (per-site: all crawl processes running at that moment); never `ru_maxrss`.
- The machine is a shared 2-core VM loaded by other work while this ran; the wall-time target is a
  CPU-bound question here (see the CPU column): {args.sites} x ~{args.pages} pages in {bound:.0f} s needs
  {args.sites * args.pages / bound:.0f} pages/s.
"""
    replace_section(SECTION.format(delay=args.delay), section)


if __name__ == "__main__":
    raise SystemExit(main())
