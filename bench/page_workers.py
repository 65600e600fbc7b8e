"""Where should page parsing run? The project inline, with one worker process, vs bare Scrapy.

    python bench/page_workers.py [--rounds 3] [--record]

Same generated portal and nginx as bench/crawl.py; each round runs the three in turn, and
the medians and ratios to the bare spider go to BENCHMARKS.md. This is the measurement
behind the PAGE_WORKERS default.
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
from bench.report import replace_section  # noqa: E402

VARIANTS = {"inline (PAGE_WORKERS=0)": "0", "one worker (PAGE_WORKERS=1)": "1"}
SECTION = "## Page workers"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    rates: dict[str, list[float]] = {name: [] for name in [*VARIANTS, "bare Scrapy spider"]}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        crawl.build_portal(work / "site", 2000)
        nginx = crawl.Nginx(work / "site", work / "nginx")
        url = nginx.start()
        try:
            for round_ in range(args.rounds):
                for name, workers in VARIANTS.items():
                    run_dir = work / f"{round_}-{workers}"
                    run_dir.mkdir()
                    command = [crawl.child_python(), *crawl.project_cmd(url, run_dir / "archive"),
                               "-s", f"PAGE_WORKERS={workers}"]
                    measured = crawl.measure(command, crawl.ROOT, run_dir / "log", crawl.clean_env())
                    rates[name].append(2107 / measured.wall_s)
                bare_dir = work / f"{round_}-bare"
                bare_dir.mkdir()
                bare = crawl.run_bare(url, bare_dir, bare_dir / "log", round_)
                rates["bare Scrapy spider"].append(bare.pages / bare.wall_s)
        finally:
            nginx.stop()
    bare_median = statistics.median(rates["bare Scrapy spider"])
    lines = ["| run | pages/s (median) | min–max | ratio to bare |", "|---|---:|---:|---:|"]
    for name, values in rates.items():
        median = statistics.median(values)
        lines.append(f"| {name} | {median:.0f} | {min(values):.0f}–{max(values):.0f} | {median / bare_median:.2f} |")
    print("\n".join(lines))
    if args.record:
        section = "\n".join([SECTION, "", f"Command: `python bench/page_workers.py --record` "
                             f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {args.rounds} rounds, "
                             "2,107 pages from nginx; the project with WARC, index and extraction on)", "", *lines,
                             "", "One worker process that parses each page once (links, kind, article) beats "
                             "inline parsing on 2 cores: the reactor thread is the bottleneck.", ""])
        replace_section(SECTION, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
