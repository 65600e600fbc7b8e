"""How long planning the day's re-checks takes on a big index, next to what every
incremental crawl already pays to load its history.

    python bench/revisit_plan.py [--articles 100000] [--rounds 5] [--record]

Builds a SQLite index of N articles (each with two captures and one event in three), then
times, in the same run, ``History.load`` (paid by every incremental crawl at start) and the
re-check plan (``load_candidates`` + ``due``, paid once at the end of the crawl). Medians
of several rounds; the ratio is the number that matters.
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from archive.history import History  # noqa: E402
from archive.models import article_events, articles, captures, crawls, index_url_for, open_index, utc_iso  # noqa: E402
from crawler.revisit import due, load_candidates, parse_schedule  # noqa: E402


def build(directory: Path, count: int):
    engine = open_index(index_url_for(directory))
    now = datetime.now(UTC)
    with engine.begin() as conn:
        crawl = conn.execute(insert(crawls).values(spider="portal", site="s", started_at=utc_iso(now),
                                                   status="finished")).inserted_primary_key[0]
        rows, arts, events = [], [], []
        for k in range(count):
            url = f"http://www.example.gov.cn/xfxw/{2000 + k % 25}01/t{k:08d}.html"
            for copy in range(2):
                rows.append({"crawl_id": crawl, "url": url, "status": 200, "fetched_at": utc_iso(
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
                               "detected_at": utc_iso(now), "crawl_id": crawl, "capture_id": 2 * k + 2,
                               "article_id": None, "previous_capture_id": None, "detail": None})
        conn.execute(insert(articles), arts)
        conn.execute(insert(article_events), events)
    return engine


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--record", action="store_true", help="print a BENCHMARKS.md section")
    args = parser.parse_args()
    tiers = parse_schedule("7:1 90:7 *:30")
    with tempfile.TemporaryDirectory() as tmp:
        engine = build(Path(tmp), args.articles)
        history, plan, chosen = [], [], []
        for _ in range(args.rounds):
            history.append(timed(lambda: History.load(engine, Path(tmp) / "warc", "s")))

            def planning() -> None:
                with engine.connect() as conn:
                    chosen.append(len(due(load_candidates(conn, "s"), tiers, datetime.now(UTC))))

            plan.append(timed(planning))
        engine.dispose()
    h, p = statistics.median(history), statistics.median(plan)
    lines = [
        f"- articles: {args.articles}, captures: {2 * args.articles}, rounds: {args.rounds} (medians)",
        f"- History.load (every incremental crawl, at start): {h:.2f} s"
        f" (min {min(history):.2f}, max {max(history):.2f})",
        f"- re-check plan (load_candidates + due, at the end): {p:.2f} s (min {min(plan):.2f}, max {max(plan):.2f});"
        f" {chosen[-1]} due",
        f"- plan / History.load: {p / h:.2f}",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
