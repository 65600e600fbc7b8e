"""Where should page parsing run? The project inline, with one worker process, vs bare Scrapy.

    python bench/page_workers.py [--rounds 3] [--articles 2000] [--record]

Same generated portal and nginx as bench/crawl.py; each round runs the three in turn, and
the medians and ratios to the bare spider go to BENCHMARKS.md. This is the measurement
behind the PAGE_WORKERS default. Rates are HTML pages per second of wall time, each run's
own count (bench/crawl.py Counts: 200 text/html responses; total requests beside them); a
run that exits non-zero or fetches no HTML page stops the benchmark.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import crawl  # noqa: E402
from bench.report import command_line, commit, load_average, replace_section  # noqa: E402

VARIANTS = {"inline (PAGE_WORKERS=0)": "0", "one worker (PAGE_WORKERS=1)": "1"}
BARE = "bare Scrapy spider"
SECTION = "## Page workers"


def checked(name: str, run: crawl.Run, log: Path) -> crawl.Run:
    if run.returncode != 0 or run.html_pages == 0:
        raise SystemExit(f"{name} failed (exit {run.returncode}, {run.html_pages} HTML pages); see {log}")
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--articles", type=int, default=2000, help="minimum article pages in the portal")
    parser.add_argument("--record", action="store_true", help=f"write the '{SECTION}' section of BENCHMARKS.md")
    args = parser.parse_args()
    load_start = load_average()
    runs: dict[str, list[crawl.Run]] = {name: [] for name in [*VARIANTS, BARE]}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        site = crawl.build_portal(work / "site", args.articles)
        nginx = crawl.Nginx(work / "site", work / "nginx")
        url = nginx.start()
        try:
            for round_ in range(1, args.rounds + 1):
                for name, workers in VARIANTS.items():
                    run_dir = work / f"{round_}-{workers}"
                    run_dir.mkdir()
                    command = [crawl.child_python(), *crawl.project_cmd(url, run_dir / "archive"),
                               "-s", f"PAGE_WORKERS={workers}"]
                    measured = crawl.measure(command, crawl.ROOT, run_dir / "log", crawl.clean_env())
                    counts, _, _ = crawl.project_counts(run_dir / "archive")
                    run = crawl.Run(name, round_, counts.html_pages, counts.requests, measured.wall_s, measured.cpu_s,
                                    measured.tree_rss_mib, measured.returncode)
                    runs[name].append(checked(name, run, run_dir / "log"))
                bare_dir = work / f"{round_}-bare"
                bare_dir.mkdir()
                runs[BARE].append(checked(BARE, crawl.run_bare(url, bare_dir, bare_dir / "log", round_),
                                          bare_dir / "log"))
                print(f"round {round_}: " + ", ".join(f"{name} {mine[-1].html_pages} HTML pages "
                                                      f"{mine[-1].pages_per_s:.0f}/s" for name, mine in runs.items()),
                      flush=True)
        finally:
            nginx.stop()
    bare_median = statistics.median(run.pages_per_s for run in runs[BARE])
    lines = ["| run | HTML pages | total requests | HTML pages/s (median) | min–max | ratio to bare |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, mine in runs.items():
        rates = [run.pages_per_s for run in mine]
        median = statistics.median(rates)
        lines.append(f"| {name} | {crawl.spread([run.html_pages for run in mine])} | "
                     f"{crawl.spread([run.requests for run in mine])} | {median:.0f} | "
                     f"{min(rates):.0f}–{max(rates):.0f} | {median / bare_median:.2f} |")
    print("\n".join(lines))
    if args.record:
        section = "\n".join([
            SECTION, "",
            f"Command: `{command_line('python bench/page_workers.py')}` at commit {commit()} "
            f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {args.rounds} rounds; load average (1/5/15 min) "
            f"{load_start} at the start, {load_average()} at the end)", "",
            f"Portal: {site['html_pages']} HTML pages ({site['articles']} articles) from nginx; the project with "
            "WARC, index, extraction and page requisites on (its extra requests are the requisites).", "",
            *lines, "",
            "One worker process that parses each page once (links, kind, article) beats inline parsing on 2 cores: "
            "the reactor thread is the bottleneck.", ""])
        replace_section(SECTION, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
