"""What ``portal-archive verify`` costs per record, against ``warcio check`` (a peer reading
the same files), on archives of N and 4N exchanges.

    python bench/verify.py [--exchanges 2000] [--rounds 3] [--record]

Each archive is written by the real archive writer (SQLite index, one WARC file per ~1 MB);
each round times both tools on both archives (whole processes). The figure is the slope:
(time at 4N - time at N) / (records at 4N - records at N), per record, with the fixed cost
(start-up: interpreter, imports, index open) as the intercept beside it. A 4N/N time ratio
would reward a large fixed cost (it pulls the ratio below 4 whatever the per-record cost).
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from warcio.archiveiterator import ArchiveIterator  # noqa: E402

from archive.models import index_url_for  # noqa: E402
from archive.records import HttpExchange  # noqa: E402
from archive.store import ArchiveWriter  # noqa: E402
from bench.report import command_line, commit, load_average, replace_section  # noqa: E402

SECTION = "## Verify scaling"


def build(archive: Path, exchanges: int) -> int:
    """An archive of ``exchanges`` request/response pairs; returns its WARC bytes."""
    writer = ArchiveWriter(archive / "warc", index_url_for(archive), warcinfo={"software": "bench"}, prefix="b",
                           max_size=1_000_000, fsync=False)
    writer.start_crawl("portal", "127.0.0.1", socket.gethostname())
    for n in range(exchanges):
        body = f"<html><p>第{n}篇 正文 {'内容' * (50 + n % 200)}</p></html>".encode()
        writer.add_exchange(HttpExchange(url=f"http://127.0.0.1/a/{n}.html", status=200,
                                         response_headers=[(b"Content-Type", b"text/html; charset=utf-8")],
                                         body=body))
    writer.drain()
    writer.finish_crawl("finished", {})
    return sum(path.stat().st_size for path in (archive / "warc").glob("*.warc.gz"))


def records(archive: Path) -> int:
    """WARC records in the archive's files (warcinfo, requests, responses)."""
    count = 0
    for path in sorted((archive / "warc").glob("*.warc.gz")):
        with path.open("rb") as stream:
            count += sum(1 for _ in ArchiveIterator(stream))
    return count


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{command[:4]} failed: {result.stdout[-500:]} {result.stderr[-500:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exchanges", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    load_start = load_average()
    sizes = {"N": args.exchanges, "4N": 4 * args.exchanges}
    times: dict[tuple[str, str], list[float]] = {}
    tools = ("portal-archive verify", "warcio check")
    with tempfile.TemporaryDirectory() as tmp:
        archives = {label: Path(tmp) / label for label in sizes}
        volume = {label: build(archives[label], count) for label, count in sizes.items()}
        counted = {label: records(archive) for label, archive in archives.items()}
        for _ in range(args.rounds):
            for label, archive in archives.items():
                files = [str(path) for path in sorted((archive / "warc").glob("*.warc.gz"))]
                commands = {
                    "portal-archive verify": [sys.executable, "-m", "archive.cli", "verify", "--archive",
                                              str(archive)],
                    "warcio check": [sys.executable, "-m", "warcio.cli", "check", *files],
                }
                for tool, command in commands.items():
                    times.setdefault((tool, label), []).append(timed(command))
    rows, slopes = [], {}
    extra = counted["4N"] - counted["N"]
    for tool in tools:
        small, large = (statistics.median(times[(tool, label)]) for label in sizes)
        slope = (large - small) / extra
        fixed = small - slope * counted["N"]
        slopes[tool] = slope
        rows.append(f"| {tool} | {small:.2f} | {large:.2f} | {slope * 1e6:.0f} | {fixed:.2f} |")
    section = "\n".join([
        SECTION, "",
        f"Command: `{command_line('python bench/verify.py')}` at commit {commit()}", "",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average (1/5/15 min) {load_start} at the start, "
        f"{load_average()} at the end", "",
        f"Archives written by the real writer: N = {sizes['N']} exchanges ({counted['N']} records, "
        f"{volume['N'] / 1e6:.1f} MB), 4N = {sizes['4N']} exchanges ({counted['4N']} records, "
        f"{volume['4N'] / 1e6:.1f} MB). Seconds are medians of {args.rounds} rounds, each a whole process "
        "(start-up included).", "",
        "| tool | N: s | 4N: s | µs per record (slope) | fixed s (intercept) |", "|---|---:|---:|---:|---:|", *rows, "",
        "- slope = (time at 4N - time at N) / (records at 4N - records at N); fixed = time at N - slope x records "
        "at N (interpreter, imports, opening the index)",
        f"- verify/warcio-check per record: {slopes[tools[0]] / slopes[tools[1]]:.2f} (verify also reads each "
        "record's index row and checks it against the record)",
    ])
    print(section)
    if args.record:
        replace_section(SECTION, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
