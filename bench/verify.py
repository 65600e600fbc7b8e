"""Does ``portal-archive verify`` take time proportional to the archive? Checked against
``warcio check`` (a peer reading the same files) on archives of N and 4N exchanges.

    python bench/verify.py [--exchanges 2000] [--rounds 3] [--record]

Each archive is written by the real archive writer (SQLite index, one WARC file per ~1 MB);
each round times both tools on both archives; medians, and the 4N/N ratios (4.0 is linear),
go to BENCHMARKS.md.
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

from archive.models import index_url_for  # noqa: E402
from archive.records import HttpExchange  # noqa: E402
from archive.store import ArchiveWriter  # noqa: E402
from bench.report import replace_section  # noqa: E402

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
    sizes = {"N": args.exchanges, "4N": 4 * args.exchanges}
    times: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        archives = {label: Path(tmp) / label for label in sizes}
        volume = {label: build(archives[label], count) for label, count in sizes.items()}
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
    rows, ratios = [], []
    for tool in ("portal-archive verify", "warcio check"):
        small, large = (statistics.median(times[(tool, label)]) for label in sizes)
        rows.append(f"| {tool} | {small:.2f} | {large:.2f} | {large / small:.2f} |")
        ratios.append((tool, large / small, small, large))
    ours, peer = ratios[0], ratios[1]
    section = "\n".join([
        SECTION, "",
        f"Command: `python bench/verify.py --exchanges {args.exchanges} --rounds {args.rounds} --record`", "",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", "",
        f"Archives written by the real writer: N = {sizes['N']} exchanges ({2 * sizes['N'] + 1}+ records, "
        f"{volume['N'] / 1e6:.1f} MB), 4N = {sizes['4N']} exchanges ({volume['4N'] / 1e6:.1f} MB). "
        "Seconds are medians of the rounds, process start-up included.", "",
        "| tool | N: s | 4N: s | 4N/N |", "|---|---:|---:|---:|", *rows, "",
        f"- verify 4N/N ratio {ours[1]:.2f} (4.0 = linear; start-up makes it lower); warcio check {peer[1]:.2f}",
        f"- verify/warcio-check time ratio at 4N: {ours[3] / peer[3]:.2f} (verify also cross-checks the index)",
    ])
    print(section)
    if args.record:
        replace_section(SECTION, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
