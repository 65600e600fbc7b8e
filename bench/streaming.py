"""Do `portal-archive cdxj` and `export` stream? Their peak memory on indexes of growing size.

    python bench/streaming.py [--captures 400000] [--articles 30000] [--record]

Each command runs as a process of its own on SQLite indexes of a quarter of the rows and of
all of them, and on an empty index (the floor: interpreter, imports, opening the index: the
peer every figure is read against). Peak RSS is the process tree's, sampled from /proc
(bench/crawl.py; ``ru_maxrss`` would report the benchmark's own memory, inherited across
fork and exec). A command that streams holds about the floor whatever the size of its
output; ``cdxj`` sorts in runs on disk and merges them (archive/replay.py), ``export``
reads the index a slice at a time.

These were tests (tests/test_cdxj_scale.py, tests/test_export_streaming.py) until issue 24:
building the 400,000-row index took minutes of CI, and their ``ru_maxrss`` figures were
the test runner's memory, not the command's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive.models import articles, captures, crawls, index_url_for, open_index  # noqa: E402
from bench.crawl import measure, spread  # noqa: E402
from bench.report import command_line, commit, load_average, replace_section  # noqa: E402

SECTION = "## Streaming output (cdxj, export)"
URL_CHARS, RECORD = 200, 100  # a capture's URL length, and the bytes of its (placeholder) record
BODY = "应急管理部门开展安全生产执法检查，排查整改重大隐患。" * 120  # about 9 KB of UTF-8 per article


def fill_captures(archive: Path, rows: int) -> None:
    """``rows`` captures in one WARC file whose every listed offset starts a gzip member (what
    cdxj checks), inserted in descending URL order so the database's order is not the index's."""
    (archive / "warc").mkdir(parents=True)
    record = b"\x1f\x8b" + b"\0" * (RECORD - 2)
    with open(archive / "warc" / "big.warc.gz", "wb") as out:
        for start in range(0, rows, 10_000):
            out.write(record * min(10_000, rows - start))
    engine = open_index(index_url_for(archive))
    with engine.begin() as conn:
        crawl_id = conn.execute(insert(crawls).values(spider="portal", started_at="2026-01-01T00:00:00Z",
                                                      status="finished")).inserted_primary_key[0]
        pad = "x" * (URL_CHARS - 40)
        for start in range(0, rows, 5000):
            conn.execute(insert(captures), [{
                "crawl_id": crawl_id, "url": f"http://www.example.gov.cn/{pad}/{rows - n:07d}.html", "status": 200,
                "content_type": "text/html", "fetched_at": "2026-01-01T00:00:00Z", "payload_digest": "sha1:X",
                "record_type": "response", "warc_file": "big.warc.gz", "warc_offset": n * RECORD,
                "warc_length": RECORD, "warc_record_id": f"<urn:uuid:{n}>"}
                for n in range(start, min(rows, start + 5000))])
    engine.dispose()


def fill_articles(archive: Path, rows: int) -> None:
    engine = open_index(index_url_for(archive))
    with engine.begin() as conn:
        for start in range(0, rows, 2000):
            conn.execute(insert(articles), [{"url": f"http://x.gov.cn/{n}.html", "title": f"文章{n}", "body": BODY,
                                             "site": "x.gov.cn"} for n in range(start, min(rows, start + 2000))])
    engine.dispose()


COMMANDS = {
    "cdxj": (fill_captures, ["cdxj"]),
    "export --format jsonl": (fill_articles, ["export", "--format", "jsonl"]),
}


def peak(archive: Path, args: list[str], out: Path) -> tuple[float, float, int]:
    """(peak RSS MiB of the process tree, output MiB, output lines) of one run."""
    command = [sys.executable, "-m", "archive.cli", *args, "--archive", str(archive), "-o", str(out), "--force"]
    measured = measure(command, ROOT, out.with_suffix(".log"))
    if measured.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed (exit {measured.returncode}); see {out.with_suffix('.log')}")
    with out.open("rb") as lines:
        count = sum(1 for _ in lines)
    return measured.tree_rss_mib, out.stat().st_size / 2**20, count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--captures", type=int, default=400_000, help="rows for cdxj (about 250 MB of CDXJ)")
    parser.add_argument("--articles", type=int, default=30_000, help="rows for export (about 270 MB of JSON)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each command per index (median)")
    parser.add_argument("--record", action="store_true", help=f"write the '{SECTION}' section of BENCHMARKS.md")
    args = parser.parse_args()
    load_start = load_average()
    lines = ["| command | rows | output MiB | peak RSS MiB (median) | min–max | above the floor |",
             "|---|---:|---:|---:|---:|---:|"]
    growth = []
    with tempfile.TemporaryDirectory(prefix="bench-streaming-") as tmp:
        for name, (fill, command) in COMMANDS.items():
            total = args.captures if name == "cdxj" else args.articles
            floor = None
            for rows in (0, total // 4, total):
                archive = Path(tmp) / f"{command[0]}-{rows}"
                if rows:
                    fill(archive, rows)
                else:
                    open_index(index_url_for(archive)).dispose()
                runs = [peak(archive, command, Path(tmp) / f"{command[0]}-{rows}.out") for _ in range(args.rounds)]
                rss = [run[0] for run in runs]
                if {run[2] for run in runs} != {rows}:
                    raise SystemExit(f"{name} on {rows} rows wrote {spread([run[2] for run in runs])} lines")
                median = statistics.median(rss)
                floor = median if floor is None else floor
                label = f"{rows:,}" if rows else "0 (the floor: the peer)"
                lines.append(f"| {name} | {label} | {runs[0][1]:.0f} | {median:.0f} | {min(rss):.0f}–{max(rss):.0f} "
                             f"| {median - floor:+.0f} |")
                print(lines[-1], flush=True)
            growth.append(f"- {name}: {median - floor:+.0f} MiB above the floor for {runs[0][1]:.0f} MiB of output "
                          f"({total:,} rows)")
    section = "\n".join([
        SECTION, "",
        f"Command: `{command_line('python bench/streaming.py')}` at commit {commit()}", "",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; SQLite; {args.rounds} runs per row (median); load average "
        f"(1/5/15 min) {load_start} at the start, {load_average()} at the end", "",
        "Peak RSS of the command's process tree, sampled from /proc at 10 Hz; the floor is the same command on "
        "an empty index.", "",
        *lines, "",
        *growth,
    ])
    print(section)
    if args.record:
        replace_section(SECTION, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
