"""Attachment benchmark: text per second per core and peak memory per type; the PDF libraries
compared on Chinese text; a crawl of a portal whose articles carry attachments against the
same portal without them.

    python bench/attachments.py [--repeat 5] [--rounds 3] [--articles 600] [--record]

- **Types.** Each fixture of tests/fixtures/attachments/ (made by scripts/attachment-fixtures)
  is read ``--repeat`` times in a forked child, as the crawl reads them; characters per CPU
  second (user + system of the child: one core) and the child's peak RSS, medians.
- **PDF libraries.** pdfminer.six (used), pypdf and pdfplumber on the PDFs whose whole text
  is known (embedded subset CJK font with ToUnicode; the predefined Adobe-GB1 CMap with no
  font and no map; two columns; a page written out of reading order): similarity of the
  text to the truth (whitespace aside, difflib ratio, order-sensitive) and characters/s.
- **Crawl.** bench/crawl.py's portal on nginx, once as it is and once with every other
  article linking one attachment (the fixtures in turn); the project crawls each, order
  alternating, ``--rounds`` rounds, for each ``--delays`` value: politeness-bound (as a real
  portal is: the CPU waits on the delay, and reading files can use it) and CPU-bound (no
  delay: on 2 cores the crawl itself keeps both busy, so reading has no idle CPU to fill).
  Reported: pages/s over all captures, HTML pages/s, wall time, and how long the crawl
  waited at its end for files still being read.
"""

from __future__ import annotations

import argparse
import difflib
import io
import json
import os
import pickle
import re
import resource
import shlex
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.crawl import (  # noqa: E402
    Nginx,
    build_portal,
    child_python,
    clean_env,
    code_fingerprint,
    machine_note,
    measure,
)
from bench.crawl import project_cmd as crawl_cmd  # noqa: E402
from bench.report import replace_section  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "attachments"
SECTION = "## Attachment text (issue 20)"
TYPES = ["notice.pdf", "cid.pdf", "notice.docx", "notice.doc", "table.xlsx", "table.xls", "notice.ofd",
         "bundle.zip", "scanned.pdf", "bomb.zip"]
ORDER_FILES = ["notice", "cid", "columns", "order"]
BENCH_ATTACHMENTS = ["notice.pdf", "notice.docx", "table.xlsx", "notice.doc", "notice.ofd", "table.xls"]


def load_avg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --- per type --------------------------------------------------------------------------------------

def _in_child(function, *args):
    """Run ``function(*args)`` in a forked child; (result, cpu seconds, peak RSS MiB, baseline MiB)."""
    read_end, write_end = os.pipe()
    baseline = int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        result = function(*args)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        with os.fdopen(write_end, "wb") as out:
            pickle.dump((result, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024), out)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        result, cpu, peak = pickle.load(pipe)
    os.waitpid(pid, 0)
    return result, cpu, peak, baseline


def _read_once(data: bytes):
    from crawler.extract.documents import extract_document

    started = resource.getrusage(resource.RUSAGE_SELF)
    result = extract_document(data)
    done = resource.getrusage(resource.RUSAGE_SELF)
    return result.kind, result.status, len(result.text), (done.ru_utime + done.ru_stime) - (
        started.ru_utime + started.ru_stime)


def bench_types(repeat: int) -> list[dict]:
    import docx  # noqa: F401
    import openpyxl  # noqa: F401
    import pdfminer.high_level  # noqa: F401
    import xlrd  # noqa: F401

    import crawler.extract.documents.extract  # noqa: F401 - the libraries imported before forking, as in a worker

    rows = []
    for name in TYPES:
        data = (FIXTURES / name).read_bytes()
        runs = [_in_child(_read_once, data) for _ in range(repeat)]
        kind, status, chars, _ = runs[0][0]
        cpu = statistics.median(run[0][3] for run in runs)
        rows.append({"file": name, "kind": kind, "status": status, "bytes": len(data), "chars": chars,
                     "cpu_s": cpu, "chars_per_s": chars / cpu if cpu and chars else 0.0,
                     "peak_mib": statistics.median(run[2] for run in runs),
                     "baseline_mib": statistics.median(run[3] for run in runs)})
        print(f"{name:14} {kind:5} {status:9} {chars:6d} chars  {cpu * 1000:7.1f} ms cpu  "
              f"{rows[-1]['chars_per_s']:9.0f} chars/s  peak {rows[-1]['peak_mib']:.0f} MiB", flush=True)
    return rows


# --- PDF libraries ---------------------------------------------------------------------------------

def _pdfminer(data: bytes) -> str:
    from crawler.extract.documents import extract_document

    return extract_document(data).text


def _pypdf(data: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def _pdfplumber(data: bytes) -> str:
    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages)


LIBRARIES = {"pdfminer.six": _pdfminer, "pypdf": _pypdf, "pdfplumber": _pdfplumber}


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def bench_pdf_libraries(repeat: int) -> list[dict]:
    for library in LIBRARIES.values():
        library((FIXTURES / "cid.pdf").read_bytes())  # imports and CMap loading out of the timing
    rows = []
    for stem in ORDER_FILES:
        data = (FIXTURES / f"{stem}.pdf").read_bytes()
        truth = _squeezed((FIXTURES / f"{stem}.txt").read_text(encoding="utf-8"))
        for name, library in LIBRARIES.items():
            times = []
            for _ in range(repeat):
                started = time.process_time()
                text = library(data)
                times.append(time.process_time() - started)
            ratio = difflib.SequenceMatcher(None, truth, _squeezed(text), autojunk=False).ratio()
            cpu = statistics.median(times)
            rows.append({"file": f"{stem}.pdf", "library": name, "similarity": ratio, "cpu_s": cpu,
                         "chars_per_s": len(truth) / cpu if cpu else 0.0})
            print(f"{stem + '.pdf':12} {name:13} similarity {ratio:.3f}  {cpu * 1000:7.1f} ms  "
                  f"{rows[-1]['chars_per_s']:8.0f} chars/s", flush=True)
    return rows


# --- crawl -----------------------------------------------------------------------------------------

def add_attachments(root: Path) -> int:
    """Every other article of the written portal links one attachment (the fixtures in turn)."""
    pages = sorted(path for path in root.rglob("t*.html") if re.fullmatch(r"t\d{8}_\d+\.html", path.name))
    uploads = root / "uploads"
    uploads.mkdir()
    linked = 0
    for number, page in enumerate(pages[::2]):
        name = BENCH_ATTACHMENTS[number % len(BENCH_ATTACHMENTS)]
        target = f"{number}-{name}"
        (uploads / target).write_bytes((FIXTURES / name).read_bytes())
        html = page.read_bytes()
        link = f'<div class="fj">附件：<a href="/uploads/{target}">附件{number}：{name}</a></div>'.encode()
        page.write_bytes(html.replace(b"</body>", link + b"</body>", 1))
        linked += 1
    return linked


def run_project(url: str, work: Path, log: Path, delay: float) -> dict:
    archive = work / "archive"
    cmd = [child_python(), *crawl_cmd(url, archive), "-s", f"DOWNLOAD_DELAY={delay}", "-s",
           "RANDOMIZE_DOWNLOAD_DELAY=0"]
    measured = measure(cmd, ROOT, log, clean_env())
    with sqlite3.connect(archive / "index.sqlite") as db:
        captures = db.execute("select count(*) from captures").fetchone()[0]
        html = db.execute("select count(*) from captures where content_type like 'text/html%'").fetchone()[0]
        read = db.execute("select count(*) from attachments").fetchone()[0]
        statuses = dict(db.execute("select status, count(*) from attachments group by status").fetchall())
        stats = json.loads(db.execute("select stats from crawls order by id desc limit 1").fetchone()[0])
    if measured.returncode != 0:
        raise SystemExit(f"the crawl failed (rc={measured.returncode}); see {log}")
    return {"wall_s": measured.wall_s, "cpu_s": measured.cpu_s, "tree_rss_mib": measured.tree_rss_mib,
            "captures": captures, "html": html, "attachments": read, "statuses": statuses,
            "waited_s": stats.get("attachments/wait_at_close_s", 0.0),
            "pages_per_s": captures / measured.wall_s, "html_per_s": html / measured.wall_s}


def bench_crawl(articles: int, rounds: int, out: Path, delay: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="attachment-bench-") as tmp_name:
        tmp = Path(tmp_name)
        plain, with_files = tmp / "plain", tmp / "with"
        site = build_portal(plain, articles)
        build_portal(with_files, articles)
        linked = add_attachments(with_files)
        servers = {"plain": Nginx(plain, tmp / "nginx-plain"), "with": Nginx(with_files, tmp / "nginx-with")}
        runs: dict[str, list[dict]] = {"plain": [], "with": []}
        loads = []
        try:
            urls = {name: server.start() for name, server in servers.items()}
            for round_ in range(1, rounds + 1):
                for name in (("plain", "with") if round_ % 2 else ("with", "plain")):
                    work = tmp / f"r{round_}-{name}"
                    work.mkdir()
                    loads.append(load_avg())
                    run = run_project(urls[name], work, out / f"attachments-d{delay}-r{round_}-{name}.log", delay)
                    runs[name].append(run)
                    print(f"delay {delay} round {round_} {name:5} {run['captures']:5d} captures {run['wall_s']:6.2f} s "
                          f"{run['pages_per_s']:5.0f} pages/s {run['html_per_s']:5.0f} html/s "
                          f"attachments {run['attachments']} {run['statuses']} waited {run['waited_s']:.1f} s "
                          f"(load {loads[-1]})", flush=True)
        finally:
            for server in servers.values():
                server.stop()

    def med(name: str, key: str) -> float:
        return statistics.median(run[key] for run in runs[name])

    return {"delay": delay, "articles": site["articles"], "linked": linked, "runs": runs, "loads": loads,
            "ratio_pages_per_s": med("with", "pages_per_s") / med("plain", "pages_per_s"),
            "ratio_html_per_s": med("with", "html_per_s") / med("plain", "html_per_s"),
            "ratio_wall": med("with", "wall_s") / med("plain", "wall_s"),
            "median": {name: {key: med(name, key) for key in ("wall_s", "cpu_s", "tree_rss_mib", "captures",
                                                              "pages_per_s", "html_per_s", "waited_s")}
                       for name in runs}}


# --- report ----------------------------------------------------------------------------------------

def report(types: list[dict], libraries: list[dict], crawls: list[dict], args: argparse.Namespace,
           loads: tuple[str, str]) -> str:
    lines = [SECTION, "", f"Command: `{shlex.join(['bench/attachments', *sys.argv[1:]])}` "
             "(it installs the PDF peers pypdf and pdfplumber, then runs bench/attachments.py)", "",
             f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}", "",
             f"Machine: {machine_note()}", "", f"Code measured: source fingerprint {code_fingerprint()}", "",
             f"Load average (1/5/15 min) at the start and end: {loads[0]} / {loads[1]}", "",
             f"### Per type (median of {args.repeat} reads, each in a forked child as the crawl reads them)", "",
             "| file | type | status | bytes | chars | CPU ms | chars/s per core | peak RSS of the reader, MiB "
             "(its worker's RSS) |",
             "|---|---|---|---:|---:|---:|---:|---:|"]
    for row in types:
        rate = f"{row['chars_per_s']:.0f}" if row["chars_per_s"] else "–"
        lines.append(f"| {row['file']} | {row['kind']} | {row['status']} | {row['bytes']} | {row['chars']} | "
                     f"{row['cpu_s'] * 1000:.1f} | {rate} | {row['peak_mib']:.0f} ({row['baseline_mib']:.0f}) |")
    lines += ["", f"### PDF libraries on Chinese text (median of {args.repeat} runs)", "",
              "| PDF | what it tests | library | similarity to the truth | chars/s |", "|---|---|---|---:|---:|"]
    what = {"notice.pdf": "LibreOffice, embedded subset Noto CJK, ToUnicode", "cid.pdf":
            "STSong-Light, UniGB-UCS2-H, no font, no ToUnicode", "columns.pdf": "two columns",
            "order.pdf": "content stream written bottom line first"}
    for row in libraries:
        lines.append(f"| {row['file']} | {what[row['file']]} | {row['library']} | {row['similarity']:.3f} | "
                     f"{row['chars_per_s']:.0f} |")
    for crawl in crawls:
        plain, with_files = crawl["median"]["plain"], crawl["median"]["with"]
        bound = ("CPU-bound: no delay, 16 requests at a time" if not crawl["delay"] else
                 f"politeness-bound: DOWNLOAD_DELAY={crawl['delay']} s, 16 connections")
        lines += ["", f"### Crawl, {bound}: {crawl['articles']} articles, {crawl['linked']} of them with an "
                  f"attachment (medians of {args.rounds} rounds, order alternating)", "",
                  "| portal | captures | wall s | pages/s (all captures) | HTML pages/s | CPU s | tree RSS MiB "
                  "| waited at the end for reads, s |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for label, row in (("without attachments", plain), ("half the articles with one", with_files)):
            lines.append(f"| {label} | {row['captures']:.0f} | {row['wall_s']:.1f} | {row['pages_per_s']:.0f} | "
                         f"{row['html_per_s']:.0f} | {row['cpu_s']:.1f} | {row['tree_rss_mib']:.0f} | "
                         f"{row['waited_s']:.1f} |")
        lines += ["", f"- with/without pages/s ratio: {crawl['ratio_pages_per_s']:.2f}; HTML pages/s ratio: "
                  f"{crawl['ratio_html_per_s']:.2f}; wall time ratio: {crawl['ratio_wall']:.2f}",
                  f"- load average before each crawl: {', '.join(crawl['loads'])}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="reads per file; medians are reported")
    parser.add_argument("--rounds", type=int, default=3, help="crawl rounds per portal")
    parser.add_argument("--articles", type=int, default=600, help="articles in the crawl portal")
    parser.add_argument("--skip-crawl", action="store_true", help="types and libraries only")
    parser.add_argument("--delays", default="0.05,0", help="crawl benchmarks, one per DOWNLOAD_DELAY (comma-separated)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--record", action="store_true", help=f"write the '{SECTION}' section of BENCHMARKS.md")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    start_load = load_avg()
    types = bench_types(args.repeat)
    libraries = bench_pdf_libraries(args.repeat)
    crawls = [] if args.skip_crawl else [bench_crawl(args.articles, args.rounds, args.out, float(delay))
                                          for delay in args.delays.split(",")]
    text = report(types, libraries, crawls, args, (start_load, load_avg()))
    print()
    print(text)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (args.out / f"attachments-{stamp}.json").write_text(json.dumps(
        {"types": types, "libraries": libraries, "crawls": crawls}, indent=2, ensure_ascii=False, default=str))
    if args.record:
        replace_section(SECTION, text)
        print("recorded in BENCHMARKS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
