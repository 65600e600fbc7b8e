"""bench/fleet's row for portals whose pages carry requisites (issue 26): ``bench/fleet --requisites``.

Each portal is a demo portal dressed as real news pages are (demo/requisite_portal.py): every
article names 10-30 requisites (shared stylesheets and scripts, images per page, trackers with
long query strings on the portal's own host and on ad and statistics hosts) and four articles
reposted word for word by other portals. One nginx serves them on their own loopback
addresses, as in the fleet benchmark.

Two crawls of the same portals, in one process each, alternating per round:

- ``requisites``: the project as a user runs it (requisites archived, block list on);
- ``html-only``: the same with ``REQUISITES_ENABLED=0``: the politeness-bound peer.

The bound is the politeness bound of the HTML pages: the largest portal's HTML pages (and
its robots.txt) x DOWNLOAD_DELAY; requisites are meant to fit in the gaps between pages, so
the target is the whole crawl, requisites archived, within 1.3x of it (issue 26). Reported
per crawl: wall time and its ratio to the bound, when the last article was fetched (ratio
to the bound), the lowest share of its articles any portal got indexed, requisites fetched
per HTML page, trackers skipped, CPU and peak RSS. Medians over rounds.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import subprocess
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from bench.crawl import Nginx, child_python, clean_env, code_fingerprint, machine_note, measure, scrapy_flags
from bench.report import replace_section

SECTION = "## Fleet benchmark: pages with requisites"
TOOLS = ("requisites", "html-only")
TARGET = 1.3
TARGET_COVERAGE = 0.98


@dataclass
class Portal:
    address: str
    root: Path
    articles: set[str]  # paths
    html_pages: int  # pages a crawler must fetch for the HTML alone (robots.txt included)


@dataclass
class Result:
    tool: str
    round: int
    wall_s: float
    cpu_s: float
    rss_mib: float
    returncode: int
    html_pages: int
    requisites: int
    articles_done_s: float
    min_coverage: float
    worst_portal: str
    blocked: int
    on_time: float  # the worst portal's share of its articles fetched within TARGET x the HTML bound


def build(root: Path, sites: int, articles: int) -> list[Portal]:
    from demo.requisite_portal import build_requisite_site, reposts

    pool = reposts(10)
    rng = random.Random(26)
    channels, per_page = 3, 10
    out = []
    for k in range(sites):
        portal = build_requisite_site(seed=k, style="trs" if k % 2 == 0 else "art", channels=channels,
                                      articles_per_channel=max(1, -(-articles // channels)), per_page=per_page,
                                      shared_reposts=rng.sample(pool, 4))
        directory = root / f"site{k:03d}"
        portal.site.write_static(directory)
        html = 1 + len(portal.site.listings) + len(portal.articles) + 1  # home, listings, articles, robots.txt
        out.append(Portal(f"127.0.{(k + 2) // 256}.{(k + 2) % 256}", directory, set(portal.articles), html))
    return out


def settings_for(delay: float, archive: Path, html_only: bool) -> dict[str, str]:
    settings = {"DOWNLOAD_DELAY": str(delay), "AUTOTHROTTLE_ENABLED": "0", "ROBOTSTXT_OBEY": "1",
                "CONCURRENT_REQUESTS": "256", "CONCURRENT_REQUESTS_PER_DOMAIN": "2", "LOG_LEVEL": "INFO",
                "PROGRESS_INTERVAL": "10", "ARCHIVE_DIR": str(archive)}
    if html_only:
        settings["REQUISITES_ENABLED"] = "0"
    return settings


def run(tool: str, round_: int, seeds: Path, work: Path, delay: float, portals: list[Portal],
        urls: list[str], bound: float) -> Result:
    archive = work / "archive"
    cmd = [child_python(), "-m", "scrapy", "crawl", "portal", "-a", f"sites={seeds}",
           *scrapy_flags(settings_for(delay, archive, tool == "html-only"))]
    measured = measure(cmd, Path(__file__).resolve().parent.parent, work / "crawl.log", clean_env())
    by_netloc = {urlsplit(url).netloc: portal for url, portal in zip(urls, portals, strict=True)}
    with sqlite3.connect(archive / "index.sqlite") as db:
        started, stats = db.execute("select started_at, stats from crawls order by id desc limit 1").fetchone()
        indexed: dict[str, set[str]] = defaultdict(set)
        on_time: dict[str, set[str]] = defaultdict(set)
        for url, fetched_at in db.execute("select a.url, c.fetched_at from articles a "
                                          "join captures c on c.id = a.capture_id"):
            parts = urlsplit(url)
            indexed[parts.netloc].add(parts.path)
            if _seconds(started, fetched_at) <= TARGET * bound:
                on_time[parts.netloc].add(parts.path)
        done = db.execute("select max(c.fetched_at) from articles a join captures c on c.id = a.capture_id"
                          ).fetchone()[0]
        captured: Counter[str] = Counter()
        for (url,) in db.execute("select url from captures"):
            parts = urlsplit(url)
            portal = by_netloc.get(parts.netloc)
            page = portal is not None and (parts.path in portal.articles or parts.path.endswith((".html", "/"))
                                           or parts.path == "/robots.txt")
            captured["html" if page else "requisite"] += 1
    coverage = {netloc: len(indexed[netloc] & portal.articles) / len(portal.articles)
                for netloc, portal in by_netloc.items()}
    worst = min(coverage, key=coverage.__getitem__)
    timely = min(len(on_time[netloc] & portal.articles) / len(portal.articles) for netloc, portal in by_netloc.items())
    stats = json.loads(stats) if isinstance(stats, str) else (stats or {})
    return Result(tool, round_, measured.wall_s, measured.cpu_s, measured.tree_rss_mib, measured.returncode,
                  captured["html"], captured["requisite"], _seconds(started, done), coverage[worst], worst,
                  int(stats.get("requisites/blocked", 0)), timely)


def _seconds(start: str, end: str | None) -> float:
    if not end:
        return float("nan")
    parse = lambda value: datetime.fromisoformat(value.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def table(results: list[Result], bound: float) -> tuple[str, dict[str, dict[str, float]]]:
    names = {"requisites": "portal-archiver, requisites archived (defaults)",
             "html-only": "portal-archiver, HTML only (REQUISITES_ENABLED=0)"}
    rows = ["| Crawl | Wall s | Wall / HTML bound | Last article s (/ bound) | Worst portal's articles indexed "
            f"| Worst portal's articles within {TARGET}x bound | Requisites per HTML page | Trackers skipped | CPU s "
            "| Peak RSS MiB |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    medians: dict[str, dict[str, float]] = {}
    for tool in TOOLS:
        runs = [r for r in results if r.tool == tool]
        if not runs:
            continue
        m = {key: statistics.median(values) for key, values in {
            "wall": [r.wall_s for r in runs], "done": [r.articles_done_s for r in runs],
            "coverage": [r.min_coverage for r in runs], "on_time": [r.on_time for r in runs],
            "per_page": [r.requisites / r.html_pages for r in runs],
            "blocked": [r.blocked for r in runs], "cpu": [r.cpu_s for r in runs], "rss": [r.rss_mib for r in runs],
        }.items()}
        medians[tool] = m
        rows.append(f"| {names[tool]} | {m['wall']:.1f} | {m['wall'] / bound:.2f} | {m['done']:.1f} "
                    f"({m['done'] / bound:.2f}) | {100 * m['coverage']:.1f}% | {100 * m['on_time']:.1f}% | "
                    f"{m['per_page']:.2f} | "
                    f"{m['blocked']:.0f} | {m['cpu']:.0f} | {m['rss']:.0f} |")
    return "\n".join(rows), medians


def verdict(medians: dict[str, dict[str, float]], bound: float) -> list[str]:
    notes = []
    if full := medians.get("requisites"):
        timely = full["on_time"] >= TARGET_COVERAGE
        notes.append(f"- requisites archived: every portal >= {100 * TARGET_COVERAGE:.0f}% of its articles within "
                     f"{TARGET}x the HTML politeness bound ({TARGET * bound:.1f} s): {'met' if timely else 'NOT met'} "
                     f"(worst {100 * full['on_time']:.1f}%; last article at {full['done'] / bound:.2f}x, whole crawl "
                     f"{full['wall'] / bound:.2f}x); every article indexed by the end: worst portal "
                     f"{100 * full['coverage']:.1f}%; {full['per_page']:.2f} requisites per HTML page")
    if full and (html := medians.get("html-only")):
        notes.append(f"- requisites / html-only wall: {full['wall'] / html['wall']:.2f}")
    return notes


def main(args: argparse.Namespace) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="bench-fleet-requisites-")) if args.out is None else args.out
    tmp.mkdir(parents=True, exist_ok=True)
    portals = build(tmp / "sites", args.sites, args.articles)
    largest = max(portal.html_pages for portal in portals)
    bound = largest * args.delay
    server = Nginx(tmp / "sites", tmp / "nginx", sites=[(p.address, p.root) for p in portals])
    server.start()
    results: list[Result] = []
    lines: list[str] = []
    code = code_fingerprint()
    try:
        urls = server.urls()
        seeds = tmp / "seeds.txt"
        seeds.write_text("".join(f"{url}\n" for url in urls))
        print(f"{len(urls)} portals with requisites; largest {largest} HTML requests; HTML politeness bound "
              f"{bound:.1f} s", flush=True)
        for round_ in range(1, args.rounds + 1):
            for tool in TOOLS if round_ % 2 else tuple(reversed(TOOLS)):
                work = tmp / f"round{round_}" / tool
                work.mkdir(parents=True, exist_ok=True)
                load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
                result = run(tool, round_, seeds, work, args.delay, portals, urls, bound)
                results.append(result)
                lines.append(f"round {round_} {tool}: {result.wall_s:.1f} s wall ({result.wall_s / bound:.2f}x bound), "
                             f"last article at {result.articles_done_s:.1f} s, worst portal "
                             f"{100 * result.min_coverage:.1f}% of its articles ({100 * result.on_time:.1f}% within "
                             f"{TARGET}x bound), {result.html_pages} HTML pages, "
                             f"{result.requisites} requisites, {result.blocked} trackers skipped, "
                             f"{result.cpu_s:.0f} s CPU, exit {result.returncode}; load average before: "
                             f"{load.split('load average:')[-1].strip()}")
                print(lines[-1], flush=True)
    finally:
        server.stop()
    tbl, medians = table(results, bound)
    notes = verdict(medians, bound)
    print(tbl)
    for line in notes:
        print(line)
    if args.record:
        command = f"bench/fleet --requisites --sites {args.sites} --articles {args.articles} --delay {args.delay:g}" \
                  f" --rounds {args.rounds} --record"
        replace_section(SECTION, f"""{SECTION}

Command: `{command}`

Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; rounds: {args.rounds} (medians); source fingerprint {code}

Machine: {machine_note()}

{args.sites} demo portals of {args.articles} articles (+4 reposted ones each), every article naming 10-30
requisites (demo/requisite_portal.py), on {args.sites} loopback addresses behind one nginx;
DOWNLOAD_DELAY={args.delay:g} s per host, no AutoThrottle, CONCURRENT_REQUESTS_PER_DOMAIN=2. HTML politeness
bound = the largest portal's HTML requests ({largest}, robots.txt included) x delay = {bound:.1f} s.

{tbl}

{chr(10).join(notes)}

Runs (`uptime`'s load average just before each; the machine is shared):

{chr(10).join(f"- {line}" for line in lines)}
""")
    return 0
