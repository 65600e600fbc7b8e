"""How long planning the day's re-checks takes on a big index, next to the crawl it ends.

    python bench/revisit_plan.py [--articles 2000,20000,100000] [--rounds 3] [--crawl-articles 2000] [--record]

The re-check plan (``load_candidates`` + ``due``, crawler/schedule/revisit.py) runs once per
incremental crawl, when its own work is done, in the reactor thread: the crawl waits for it.
Measured in one run:

- the crawl: bench/crawl.py's generated portal (``--crawl-articles``) served by nginx,
  archived by the project once, then re-crawled incrementally into the same archive (the
  daily crawl: conditional GETs, paging stops at known articles, the plan at its end);
  wall time of each process;
- the plan alone on SQLite indexes of N articles (each with two captures and one event in
  three), median of ``--rounds``.

The figure is the plan's time as a share of that daily re-crawl's wall time. (An earlier
version compared the plan with ``History.load``, which became an on-demand lookup and costs
next to nothing now: that ratio no longer said anything about the crawl.)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive.models import article_events, articles, captures, crawls, index_url_for, open_index, utc_iso  # noqa: E402
from bench import crawl  # noqa: E402
from bench.report import command_line, commit, load_average, replace_section  # noqa: E402
from crawler.schedule.revisit import due, load_candidates, parse_schedule  # noqa: E402

SECTION = "## Re-check planning"


def build(directory: Path, count: int):
    engine = open_index(index_url_for(directory))
    now = datetime.now(UTC)
    with engine.begin() as conn:
        crawl_id = conn.execute(insert(crawls).values(spider="portal", site="s", started_at=utc_iso(now),
                                                      status="finished")).inserted_primary_key[0]
        rows, arts, events = [], [], []
        for k in range(count):
            url = f"http://www.example.gov.cn/xfxw/{2000 + k % 25}01/t{k:08d}.html"
            for copy in range(2):
                rows.append({"crawl_id": crawl_id, "url": url, "status": 200, "fetched_at": utc_iso(
                    now - timedelta(days=(k % 400) + 30 * (1 - copy))), "record_type": "response",
                    "warc_file": "a.warc.gz", "warc_offset": 2 * k + copy, "warc_length": 1,
                    "warc_record_id": f"<urn:{k}:{copy}>", "method": "GET", "content_type": "text/html",
                    "etag": f'"{k}"'})
        conn.execute(insert(captures), rows)
        for k in range(count):
            arts.append({"capture_id": 2 * k + 1, "url": rows[2 * k]["url"], "site": "s", "title": "t",
                         "published_at": utc_iso(now - timedelta(days=k % 1000)), "body": "正文"})
            if k % 3 == 0:
                events.append({"url": rows[2 * k]["url"], "site": "s", "kind": "unchanged",
                               "detected_at": utc_iso(now), "crawl_id": crawl_id, "capture_id": 2 * k + 2,
                               "article_id": None, "previous_capture_id": None, "detail": None})
        conn.execute(insert(articles), arts)
        conn.execute(insert(article_events), events)
    return engine


def plan_times(count: int, rounds: int) -> tuple[list[float], int]:
    """Seconds of each round's plan on an index of ``count`` articles, and how many were due."""
    tiers = parse_schedule("7:1 90:7 *:30")
    times, chosen = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        engine = build(Path(tmp), count)
        for _ in range(rounds):
            start = time.perf_counter()
            with engine.connect() as conn:
                chosen = len(due(load_candidates(conn, "s"), tiers, datetime.now(UTC)))
            times.append(time.perf_counter() - start)
        engine.dispose()
    return times, chosen


def crawl_times(articles_wanted: int, rounds: int) -> dict[str, list[crawl.Run]]:
    """The project's first crawl of the generated portal and its incremental re-crawl, ``rounds`` times."""
    runs: dict[str, list[crawl.Run]] = {"first": [], "re-crawl": []}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        crawl.build_portal(work / "site", articles_wanted)
        nginx = crawl.Nginx(work / "site", work / "nginx")
        url = nginx.start()
        try:
            for round_ in range(1, rounds + 1):
                archive = work / f"r{round_}" / "archive"
                for kind in runs:
                    log = work / f"r{round_}-{kind}.log"
                    before, _, _ = crawl.project_counts(archive)
                    measured = crawl.measure([crawl.child_python(), *crawl.project_cmd(url, archive)], ROOT, log,
                                             crawl.clean_env())
                    after, _, _ = crawl.project_counts(archive)
                    run = crawl.Run(kind, round_, after.html_pages - before.html_pages,
                                    after.requests - before.requests, measured.wall_s, measured.cpu_s,
                                    measured.tree_rss_mib, measured.returncode)
                    if run.returncode != 0:
                        raise SystemExit(f"the {kind} crawl failed (exit {run.returncode}); see {log}")
                    runs[kind].append(run)
                    print(f"round {round_} {kind}: {run.wall_s:.1f} s, {run.html_pages} HTML pages, "
                          f"{run.requests} requests", flush=True)
        finally:
            nginx.stop()
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", default="2000,20000,100000", help="index sizes the plan is timed on")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--crawl-articles", type=int, default=2000, help="articles of the crawled portal")
    parser.add_argument("--record", action="store_true", help=f"write the '{SECTION}' section of BENCHMARKS.md")
    args = parser.parse_args()
    load_start = load_average()
    runs = crawl_times(args.crawl_articles, args.rounds)
    first = statistics.median(run.wall_s for run in runs["first"])
    again = statistics.median(run.wall_s for run in runs["re-crawl"])
    lines = [
        f"The crawl ({args.rounds} rounds, medians): the project's first crawl of a generated portal of "
        f"{args.crawl_articles} articles ({crawl.spread([r.html_pages for r in runs['first']])} HTML pages, "
        f"{crawl.spread([r.requests for r in runs['first']])} requests) took {first:.1f} s; its incremental "
        f"re-crawl ({crawl.spread([r.html_pages for r in runs['re-crawl']])} HTML pages, "
        f"{crawl.spread([r.requests for r in runs['re-crawl']])} requests, its own plan over "
        f"{args.crawl_articles} articles included) {again:.1f} s (min {min(r.wall_s for r in runs['re-crawl']):.1f},"
        f" max {max(r.wall_s for r in runs['re-crawl']):.1f}).", "",
        "| articles in the index | plan s (median) | min–max | due | plan / re-crawl wall | plan / first crawl wall |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for count in (int(value) for value in args.articles.split(",")):
        times, chosen = plan_times(count, args.rounds)
        plan = statistics.median(times)
        lines.append(f"| {count:,} | {plan:.2f} | {min(times):.2f}–{max(times):.2f} | {chosen:,} | "
                     f"{plan / again:.2f} | {plan / first:.3f} |")
        print(lines[-1], flush=True)
    section = "\n".join([
        SECTION, "",
        f"Command: `{command_line('python bench/revisit_plan.py')}` at commit {commit()}", "",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; SQLite; load average (1/5/15 min) {load_start} at the "
        f"start, {load_average()} at the end", "",
        *lines, "",
        "- The plan runs once per incremental crawl, at its end (`spider_idle`), in the reactor thread; it reads "
        "one row per article URL (first capture, last capture that reached the server, published date) and the "
        "latest non-blocked event, so it grows with the archive's articles, while the daily re-crawl of an "
        "unchanged portal grows with its listing pages. Nothing is kept in memory between crawls.",
        "- The re-crawl's wall time includes process start-up and its own plan (over the crawled portal's "
        "articles).",
    ])
    print(section)
    if args.record:
        replace_section(SECTION, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
