"""Browser crawl benchmark (issue 19): what reading a portal through a browser costs.

    python bench/crawl.py --browser [--articles 1000] [--browser-articles 100] [--rounds 3] [--record]

The loopback portals of tests/browser_portals.py, crawled by the project with the same
settings as the crawl benchmark (no delay, 16 connections a host, no robots.txt):

- ``ungated``: the plain portal, the yardstick;
- ``handoff``: the same portal behind a 加速乐-style 521 cookie gate: the browser passes it
  once, then plain requests carry its cookies (the issue asks for at least 0.7x ungated);
- ``tokens``: behind a 瑞数-style 412 gate with single-use tokens: every page in the browser;
- ``script``: the script-rendered portal on a signed JSON API: every page in the browser.

Pages = distinct HTML documents archived with HTTP 200 (a portal's home, listing and article
pages; for the script portal, its shells); pages/s divides them by the crawl process's wall
time, start-up and the browser's start included. Memory: the crawl's whole process tree
(crawler, page worker, Playwright's driver, Chromium and its helpers) sampled from /proc
(bench/crawl.py's sampler): the highest sum of RSS (counts memory Chromium's processes share once per process: an
upper bound) and of PSS (shares it out: what the tree really holds). Medians over rounds,
the order of the kinds alternating every round.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the loopback portals

from bench.crawl import (  # noqa: E402
    SHARED_SCRAPY_SETTINGS,
    child_python,
    clean_env,
    code_fingerprint,
    machine_note,
    measure,
    scrapy_flags,
)
from bench.report import commit, replace_section  # noqa: E402
from crawler.fetch.browser.chromium import find_chromium  # noqa: E402

SECTION = "## Crawl benchmark: portals only a browser can read (issue 19)"
KINDS = {"ungated": "plain", "handoff": "jsl", "tokens": "ruishu", "script": "spa"}
LABELS = {"ungated": "ungated portal (plain requests)", "handoff": "521 cookie gate, cookie hand-off",
          "tokens": "412 single-use tokens (browser only)", "script": "script-rendered, signed JSON (browser only)"}
TARGET_HANDOFF = 0.7
TARGET_MEMORY_MIB = 1024


@dataclass
class Run:
    kind: str
    round: int
    pages: int
    articles: int
    wall_s: float
    cpu_s: float
    crawl_s: float | None
    tree_rss_mib: float
    tree_pss_mib: float
    browser_pages: int
    returncode: int
    code: str

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.wall_s if self.wall_s else 0.0


def run_one(kind: str, articles: int, work: Path, log: Path, round_: int) -> Run:
    from browser_portals import GatedServer

    archive = work / "archive"
    settings = {"ARCHIVE_DIR": str(archive), **SHARED_SCRAPY_SETTINGS, "WARC_FSYNC": "1"}
    code = code_fingerprint()
    with GatedServer(KINDS[kind], articles=articles) as server:
        command = [child_python(), "-m", "scrapy", "crawl", "portal", "-a", f"start_url={server.url}",
                   *scrapy_flags(settings)]
        measured = measure(command, ROOT, log, clean_env(), pss=True)
    pages = found = browser_pages = 0
    crawl_s = None
    index = archive / "index.sqlite"
    if index.exists():
        with sqlite3.connect(index) as db:
            pages = db.execute("SELECT count(DISTINCT url) FROM captures WHERE status = 200 "
                               "AND content_type LIKE 'text/html%'").fetchone()[0]
            found = db.execute("SELECT count(*) FROM articles").fetchone()[0]
            row = db.execute("SELECT stats FROM crawls ORDER BY id DESC LIMIT 1").fetchone()
            if row and row[0]:
                stats = json.loads(row[0])
                crawl_s = stats.get("elapsed_time_seconds")
                browser_pages = stats.get("browser/pages", 0)
    return Run(kind, round_, pages, found, measured.wall_s, measured.cpu_s, crawl_s, measured.tree_rss_mib,
               measured.tree_pss_mib or 0.0, browser_pages, measured.returncode, code)


def median(runs: list[Run], attribute: str) -> float:
    return statistics.median(getattr(run, attribute) for run in runs)


def table(runs: list[Run], sizes: dict[str, int]) -> str:
    lines = ["| Portal | Articles | Pages | Pages/s (median) | Pages/s min–max | Pages/s in-crawl | Browser pages "
             "| CPU s | Tree RSS MiB (sum) | Tree PSS MiB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for kind in KINDS:
        mine = [run for run in runs if run.kind == kind]
        if not mine:
            continue
        rates = [run.pages_per_s for run in mine]
        in_crawl = [run.pages / run.crawl_s for run in mine if run.crawl_s]
        lines.append(
            f"| {LABELS[kind]} | {median(mine, 'articles'):.0f}/{sizes[kind]} | {median(mine, 'pages'):.0f} "
            f"| {statistics.median(rates):.1f} | {min(rates):.1f}–{max(rates):.1f} "
            f"| {statistics.median(in_crawl) if in_crawl else 0:.1f} | {median(mine, 'browser_pages'):.0f} "
            f"| {median(mine, 'cpu_s'):.1f} | {median(mine, 'tree_rss_mib'):.0f} "
            f"| {median(mine, 'tree_pss_mib'):.0f} |")
    return "\n".join(lines)


def verdicts(runs: list[Run]) -> list[str]:
    """The figures the issue asks for: hand-off/ungated pages/s, browser-only pages/s, memory."""
    out = []
    by_round: dict[int, dict[str, Run]] = {}
    for run in runs:
        by_round.setdefault(run.round, {})[run.kind] = run
    pairs = [r["handoff"].pages_per_s / r["ungated"].pages_per_s for r in by_round.values()
             if "handoff" in r and "ungated" in r and r["ungated"].pages_per_s]
    if pairs:
        ratio = statistics.median(pairs)
        out.append(f"handoff/ungated pages/s (median of the rounds' pairs {', '.join(f'{p:.2f}' for p in pairs)}): "
                   f"{ratio:.2f} (target >= {TARGET_HANDOFF}: {'met' if ratio >= TARGET_HANDOFF else 'NOT met'})")
    for kind in ("tokens", "script"):
        mine = [run for run in runs if run.kind == kind]
        if mine:
            out.append(f"browser-only pages/s, {LABELS[kind]}: {median(mine, 'pages_per_s'):.2f} "
                       f"(in-crawl {statistics.median(r.pages / r.crawl_s for r in mine if r.crawl_s):.2f})")
    with_browser = [run for run in runs if run.browser_pages]
    if with_browser:
        pss = max(run.tree_pss_mib for run in with_browser)
        rss = max(run.tree_rss_mib for run in with_browser)
        out.append(f"peak memory of the process tree with the browser, worst run: {pss:.0f} MiB PSS "
                   f"(target < {TARGET_MEMORY_MIB} MiB: {'met' if pss < TARGET_MEMORY_MIB else 'NOT met'}); "
                   f"RSS summed over its processes {rss:.0f} MiB (an upper bound: shared pages counted per process)")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1000, help="articles of the ungated and hand-off portals")
    parser.add_argument("--browser-articles", type=int, default=100, help="articles of the browser-only portals")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--kinds", default=",".join(KINDS), help="which rows (comma-separated)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--record", action="store_true", help=f"write the '{SECTION}' section of BENCHMARKS.md")
    args = parser.parse_args(argv)
    if find_chromium() is None:
        raise SystemExit("no Chromium on PATH (apt-get install -y chromium)")
    kinds = [kind for kind in args.kinds.split(",") if kind in KINDS]
    sizes = {kind: args.articles if kind in ("ungated", "handoff") else args.browser_articles for kind in KINDS}
    logs = args.out.resolve() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    loads = [os.getloadavg()[0]]
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="browser-bench-") as tmp_name:
        for round_ in range(1, args.rounds + 1):
            for kind in (kinds if round_ % 2 else list(reversed(kinds))):
                work = Path(tmp_name) / f"r{round_}-{kind}"
                work.mkdir()
                run = run_one(kind, sizes[kind], work, logs / f"{stamp}-browser-r{round_}-{kind}.log", round_)
                runs.append(run)
                loads.append(os.getloadavg()[0])
                print(f"round {round_} {kind:8s} {run.pages:5d} pages {run.articles:5d} articles {run.wall_s:6.1f}s "
                      f"{run.pages_per_s:6.1f} pages/s browser pages {run.browser_pages:4d} "
                      f"tree rss {run.tree_rss_mib:5.0f} pss {run.tree_pss_mib:5.0f} MiB", flush=True)
                if run.returncode != 0 or not run.pages:
                    raise SystemExit(f"{kind} failed (rc={run.returncode}); see {logs}")
    text = table(runs, sizes)
    lines = verdicts(runs)
    print(text)
    for line in lines:
        print(line)
    load = f"load average (1 min) during the runs: {min(loads):.1f}–{max(loads):.1f} on 2 cores"
    print(load)
    if args.record:
        command = "python bench/crawl.py --browser " + " ".join(argv if argv is not None else sys.argv[2:])
        record(command.strip(), args.rounds, text, lines, load, runs)
    return 0


def record(command: str, rounds: int, text: str, lines: list[str], load: str, runs: list[Run]) -> None:
    codes = sorted({run.code for run in runs})
    section = f"""{SECTION}

Command: `{command}` (from the repository root; `bench/crawl --browser` wraps it)

Date: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}

Machine: {machine_note()}; Chromium: {_chromium_version()}; {load}

Code measured: commit {commit()}; source fingerprint {', '.join(codes)}

{text}

{chr(10).join(f"- {line}" for line in lines)}

Notes:

- {rounds} rounds, the order of the portals reversed every other round; medians (min–max shown).
- Pages = distinct HTML documents archived with HTTP 200; pages/s = pages / wall time of the crawl
  process (start-up, the browser's start and the index commit included); in-crawl divides by Scrapy's
  `elapsed_time_seconds`. Articles = rows indexed / articles the portal has.
- Settings as the crawl benchmark's: DOWNLOAD_DELAY=0, no AutoThrottle, CONCURRENT_REQUESTS=16 and 16
  per host, no robots.txt; BROWSER_* at their defaults (2 pages at once). The portals are served by a
  Python loopback server in the benchmark's own process (tests/browser_portals.py).
- Tree memory: the crawl process and all its descendants (page worker, Playwright's node driver, Chromium
  and its helpers), sampled from /proc (RSS at 10 Hz, PSS from smaps_rollup at 2.5 Hz). RSS summed counts
  the pages Chromium's processes share once per process (an upper bound); PSS divides them among the sharers.
"""
    replace_section(SECTION, section)


def _chromium_version() -> str:
    executable = find_chromium()
    try:
        out = subprocess.run([executable, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return executable or "?"
    return next((line.strip() for line in out.splitlines() if "Chrom" in line), executable or "?")


if __name__ == "__main__":
    raise SystemExit(main())
