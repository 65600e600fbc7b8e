"""Crawl benchmark: portal-archiver against a bare Scrapy spider and wget, on one local portal.

    python bench/crawl.py [--articles 2000] [--rounds 3] [--out bench/out] [--record]
    python bench/crawl.py --browser [--articles 1000] [--rounds 3] [--record]   # bench/browser.py

The portal is the project's own demo generator written out as static files and served by
nginx, so the server costs almost nothing next to the crawlers and every tool sees the same
bytes. Each round runs every tool once, in alternating order, so page-cache warmth and
background noise do not always favour the same tool; medians over rounds are reported.

The figure that matters is project/bare HTML pages/s: the bare spider fetches the same pages
with the same Scrapy settings and keeps nothing, so the gap is the price of archiving (WARC
records, SQLite index, extraction, page requisites). The issue asks for at least 0.8x.

Every tool's counts are in the same units: HTML pages (200 responses with a text/html
content type) and total requests (every request sent: robots.txt, page requisites,
redirects and errors included). Rates are per HTML page. Memory is the process tree's peak
RSS sampled from /proc only (``ru_maxrss`` is inherited across fork and exec: it reports the
harness's own memory for a small child).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import pstats
import re
import shlex
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import commit, load_average, replace_section  # noqa: E402

BENCH = ROOT / "bench"
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"
SECTION = "## Crawl benchmark"
TARGET_RATIO = 0.8
TOOLS = ("project", "bare", "wget")
PROJECT_DIRS = ("crawler", "archive", "pipelines")

# Identical for both Scrapy crawlers: what makes their pages/s comparable.
SHARED_SCRAPY_SETTINGS = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "0",
    "CONCURRENT_REQUESTS": "16",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
    "ROBOTSTXT_OBEY": "0",
    "LOG_LEVEL": "WARNING",
}

sys.path.insert(0, str(ROOT))  # demo/ is importable from a checkout even when not installed


@dataclass(frozen=True)
class Counts:
    """What a crawl fetched, in the units every benchmark table uses."""

    # 200 responses with a text/html content type (no robots.txt, requisites, redirects, errors).
    html_pages: int
    # Every request sent: robots.txt, page requisites, redirects, errors and retries included.
    requests: int


@dataclass
class Run:
    """One tool's crawl in one round."""

    tool: str
    round: int
    html_pages: int
    requests: int
    wall_s: float
    cpu_s: float
    tree_rss_mib: float
    returncode: int
    # Scrapy's own elapsed_time_seconds: the crawl without interpreter start-up.
    crawl_s: float | None = None
    extra: dict[str, object] = field(default_factory=dict)
    tree_pss_mib: float | None = None

    @property
    def pages_per_s(self) -> float:
        """HTML pages per second of the process's wall time."""
        return self.html_pages / self.wall_s if self.wall_s else 0.0


@dataclass
class Summary:
    """Medians over rounds for one tool, the numbers the table shows."""

    tool: str
    html_pages: list[int]
    requests: list[int]
    pps_median: float
    pps_min: float
    pps_max: float
    crawl_pps_median: float | None
    cpu_median_s: float
    tree_rss_median_mib: float


# --- The portal and its server -----------------------------------------------------------------

def build_portal(root: Path, articles: int) -> dict[str, int]:
    """Write the demo portal as static files; return its page counts for the report."""
    from demo.site import CHANNELS, build_site

    channels = len(CHANNELS)  # build_site allows at most this many channels
    per_channel = math.ceil(articles / channels)
    site = build_site(style="trs", channels=channels, articles_per_channel=per_channel, per_page=20, seed=1,
                      extras=False)
    if len(site.articles) < articles:
        raise SystemExit(f"generator made {len(site.articles)} articles, wanted {articles}")
    site.write_static(root)
    html_pages = len(site.articles) + len(site.listings) + 1  # + the home page
    return {
        "articles": len(site.articles),
        "listings": len(site.listings),
        "html_pages": html_pages,
        "other_files": len(site.routes) - html_pages,
        "bytes": sum(len(route.body) for route in site.routes.values()),
        # TRS paginates the first channel only through createPageHTML(), which wget cannot run.
        "script_only_listings": per_channel // 20 + (per_channel % 20 > 0) - 1,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


NGINX_CONF = """\
{user}worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    types {{ text/html html; text/css css; image/gif gif; }}
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    # text/html is always in gzip_types; naming it again only earns a "duplicate MIME type" warning.
    gzip on;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
{servers}
}}
"""
SERVER_BLOCK = """\
    server {{
        listen {address}:{port};
        root {root};
        index index.html;
    }}"""


class Nginx:
    """A private nginx (own config, pid and logs in a temp dir) serving one directory, or
    one directory per loopback address (``sites``: [(address, root)], same port on each)."""

    def __init__(self, root: Path, prefix: Path, sites: list[tuple[str, Path]] | None = None) -> None:
        self.root, self.prefix = root, prefix
        self.sites = sites or [("127.0.0.1", root)]
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.prefix.mkdir(parents=True, exist_ok=True)
        for _attempt in range(3):  # another process may grab the free port before nginx binds it
            self.port = free_port()
            conf = self.prefix / "nginx.conf"
            servers = "\n".join(SERVER_BLOCK.format(address=address, port=self.port, root=root)
                                 for address, root in self.sites)
            conf.write_text(NGINX_CONF.format(
                user="user root;\n" if os.geteuid() == 0 else "", prefix=self.prefix, servers=servers))
            log = (self.prefix / "nginx.out").open("ab")
            self.proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(self.prefix),
                                          "-e", str(self.prefix / "error.log")], stdout=log, stderr=log)
            if self._wait_ready():
                return self.url
            self.stop()
        raise RuntimeError(f"nginx did not start; see {self.prefix / 'error.log'}")

    @property
    def url(self) -> str:
        return f"http://{self.sites[0][0]}:{self.port}/"

    def urls(self) -> list[str]:
        return [f"http://{address}:{self.port}/" for address, _ in self.sites]

    def _wait_ready(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(self.url, timeout=1) as response:
                    if response.status == 200:
                        return True
            except OSError:
                time.sleep(0.1)
        return False

    def stop(self) -> None:
        """Graceful stop (SIGQUIT lets the worker finish), then force."""
        if self.proc is None or self.proc.poll() is not None:
            return
        for sig in (signal.SIGQUIT, signal.SIGTERM, signal.SIGKILL):
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
                return
            except subprocess.TimeoutExpired:
                continue


# --- Running and measuring one crawl -------------------------------------------------------------

@dataclass
class Measured:
    """What one process run cost."""

    wall_s: float
    # user + system time of the process and every descendant it waited for (worker pools).
    cpu_s: float
    # Highest sum of RSS over the whole tree, sampled from /proc: worker processes counted,
    # nothing inherited (ru_maxrss is carried across fork and exec, so it is not used).
    tree_rss_mib: float
    returncode: int
    # Highest sum of PSS over the tree (``measure(pss=True)``): memory shared between the
    # tree's processes (a browser's) counted once, not once per process as RSS sums do.
    tree_pss_mib: float | None = None


class TreeRssSampler(threading.Thread):
    """Polls /proc for the summed RSS of a process and all its descendants.

    ru_maxrss only knows single processes, and inherits the parent's high-water mark; a
    crawler with worker processes needs the sum of what each process holds now. One /proc
    scan costs well under a millisecond, so 10 Hz barely touches the CPU budget. The first
    sample is taken at once, so a short run is sampled too.
    """

    def __init__(self, pid: int, interval: float = 0.1, roots: Callable[[], set[int]] | None = None,
                 pss: bool = False) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        # Several process trees at once (crawls run side by side): their current root pids.
        self.roots = roots or (lambda: {self.pid})
        self.peak_bytes = 0
        # With ``pss``, also the highest summed PSS (smaps_rollup: dearer to read, so every 4th sample).
        self.pss = pss
        self.peak_pss_bytes = 0
        self._samples = 0
        self.done = threading.Event()
        self.page_size = os.sysconf("SC_PAGE_SIZE")

    def run(self) -> None:
        while True:
            self.peak_bytes = max(self.peak_bytes, self._tree_rss())
            if self.done.wait(self.interval):
                return

    def _tree_rss(self) -> int:
        parent_of: dict[int, int] = {}
        rss_of: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_bytes()
            except OSError:
                continue
            fields = stat[stat.rindex(b")") + 2:].split()  # comm may contain spaces and parens
            parent_of[int(entry)], rss_of[int(entry)] = int(fields[1]), int(fields[21])
        roots = self.roots()
        tree, frontier = set(roots), list(roots)
        while frontier:
            parent = frontier.pop()
            children = [pid for pid, ppid in parent_of.items() if ppid == parent and pid not in tree]
            tree.update(children)
            frontier.extend(children)
        self._samples += 1
        if self.pss and self._samples % 4 == 1:
            self.peak_pss_bytes = max(self.peak_pss_bytes, sum(_pss(pid) for pid in tree))
        return sum(rss_of.get(pid, 0) for pid in tree) * self.page_size


def _pss(pid: int) -> int:
    """A process's proportional set size in bytes (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def measure(cmd: list[str], cwd: Path, log: Path, env: dict[str, str] | None = None, pss: bool = False) -> Measured:
    """Run to completion and report wall time, CPU time and memory.

    ``os.wait4`` hands back the child's rusage without polling; the sampler adds what
    rusage cannot say (the tree's summed RSS).
    """
    with log.open("wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        sampler = TreeRssSampler(proc.pid, pss=pss)
        sampler.start()
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        sampler.done.set()
        sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    # The /proc samples only: Linux carries ru_maxrss across fork and exec, so a child of a
    # parent holding 1 GiB (bench/fleet after generating 100,000 pages) reports 1 GiB however
    # little it uses, and /bin/true reads 46 MiB under this harness.
    return Measured(wall_s=wall, cpu_s=usage.ru_utime + usage.ru_stime, tree_rss_mib=sampler.peak_bytes / 2**20,
                    returncode=proc.returncode, tree_pss_mib=sampler.peak_pss_bytes / 2**20 if pss else None)


def child_python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def clean_env() -> dict[str, str]:
    """No inherited SCRAPY_SETTINGS_MODULE: the bare spider must not load the project's settings."""
    return {k: v for k, v in os.environ.items() if k != "SCRAPY_SETTINGS_MODULE"}


def scrapy_flags(settings: dict[str, str]) -> list[str]:
    return [arg for name, value in settings.items() for arg in ("-s", f"{name}={value}")]


def project_cmd(url: str, archive_dir: Path) -> list[str]:
    settings = {"ARCHIVE_DIR": str(archive_dir), **SHARED_SCRAPY_SETTINGS, "WARC_FSYNC": "1"}
    return ["-m", "scrapy", "crawl", "portal", "-a", f"start_url={url}", *scrapy_flags(settings)]


def code_fingerprint() -> str:
    """Hash of the project's sources, taken before each project run.

    The project is edited while benchmarks run; rounds measured on different code must
    not be silently folded into one median.
    """
    digest = hashlib.sha256()
    for directory in PROJECT_DIRS:
        for path in sorted((ROOT / directory).rglob("*")):
            if path.suffix in (".py", ".toml") and path.is_file():
                digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def project_counts(archive_dir: Path) -> tuple[Counts, int, dict]:
    """(counts, articles, the last crawl's Scrapy stats) of a project archive, from its index:
    HTML pages are the 200 text/html captures; requests are Scrapy's downloader/request_count
    of every crawl into it."""
    index = archive_dir / "index.sqlite"
    if not index.exists():
        return Counts(0, 0), 0, {}
    with sqlite3.connect(index) as db:
        html = db.execute("select count(*) from captures where status = 200 and record_type = 'response' "
                          "and content_type like 'text/html%'").fetchone()[0]
        articles = db.execute("select count(*) from articles").fetchone()[0]
        stats = [json.loads(row[0]) for row in db.execute("select stats from crawls order by id") if row[0]]
    requests = sum(int(crawl.get("downloader/request_count", 0)) for crawl in stats)
    return Counts(html, requests), articles, (stats[-1] if stats else {})


def run_project(url: str, work: Path, log: Path, round_: int) -> Run:
    """The project with everything on: WARC writer, index pipeline, extraction."""
    archive_dir = work / "archive"
    code = code_fingerprint()
    measured = measure([child_python(), *project_cmd(url, archive_dir)], ROOT, log, clean_env())
    counts, articles, stats = project_counts(archive_dir)
    return Run("project", round_, **asdict(counts), **asdict(measured), crawl_s=stats.get("elapsed_time_seconds"),
               extra={"articles": articles, "code": code})


def bare_counts(out: Path) -> tuple[Counts, float | None]:
    """What bench/bare_spider.py left in its ``out`` file."""
    data = json.loads(out.read_text()) if out.exists() else {}
    return Counts(int(data.get("html_pages", 0)), int(data.get("requests", 0))), data.get("elapsed_s")


def run_bare(url: str, work: Path, log: Path, round_: int) -> Run:
    """The bare spider, from a directory with no scrapy.cfg so no project settings apply."""
    out = work / "bare.json"
    cmd = [child_python(), "-m", "scrapy", "runspider", str(BENCH / "bare_spider.py"),
           "-a", f"start_url={url}", "-a", f"out={out}", *scrapy_flags(SHARED_SCRAPY_SETTINGS)]
    measured = measure(cmd, work, log, clean_env())
    counts, elapsed = bare_counts(out)
    return Run("bare", round_, **asdict(counts), **asdict(measured), crawl_s=elapsed)


def wget_cmd(url: str, work: Path) -> list[str]:
    # Whole host (-r -l inf, no -H), a WARC like the project's, nothing kept on disk
    # but the WARC. wget sends no Accept-Encoding by default, so HTML comes uncompressed.
    return ["wget", "-r", "-l", "inf", "-e", "robots=off", "--warc-file", str(work / "wget"),
            "--delete-after", "-P", str(work / "files"), "-nv", url]


def run_wget(url: str, work: Path, log: Path, round_: int) -> Run:
    """wget: one connection, no parsing beyond links; the classic archiving baseline."""
    from warcio.archiveiterator import ArchiveIterator

    measured = measure(wget_cmd(url, work), work, log)
    statuses: Counter[str] = Counter()
    html = requests = 0
    warc = work / "wget.warc.gz"
    if warc.exists():
        with warc.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type == "request":
                    requests += 1
                elif record.rec_type == "response":
                    status = record.http_headers.get_statuscode()
                    statuses[status] += 1
                    html += status == "200" and (record.http_headers.get_header("Content-Type") or "").startswith(
                        "text/html")
    # Exit code 8 means "the server answered some request with an error": wget takes the
    # createPageHTML script's JavaScript string '\""' for a link and gets a 404 per channel.
    if measured.returncode == 8 and statuses:
        measured.returncode = 0
    return Run("wget", round_, html, requests, **asdict(measured), extra={"statuses": dict(statuses)})


RUNNERS: dict[str, Callable[[str, Path, Path, int], Run]] = {
    "project": run_project, "bare": run_bare, "wget": run_wget,
}


def project_urls_vs_wget(url: str, work: Path) -> dict[str, list[str]]:
    """Which pages one tool fetched and the other did not (explains differing counts)."""
    from warcio.archiveiterator import ArchiveIterator

    with sqlite3.connect(work / "project" / "archive" / "index.sqlite") as db:
        project = {row[0] for row in db.execute("select url from captures")}
    with (work / "wget" / "wget.warc.gz").open("rb") as stream:
        wget = {r.rec_headers.get_header("WARC-Target-URI") for r in ArchiveIterator(stream)
                if r.rec_type == "response"}
    strip = len(url) - 1
    return {
        "project_only": sorted(u[strip:] for u in project - wget),
        "wget_only": sorted(u[strip:] for u in wget - project),
    }


# --- Profiling -----------------------------------------------------------------------------------

def profile_project(url: str, work: Path, out_dir: Path, top: int = 15) -> list[str]:
    """Profile one project crawl; return the top inclusive hot spots in the project's own code.

    py-spy (if on PATH) samples every thread, so the archive-writer thread's WARC and SQL
    work shows up; cProfile, the fallback, sees the reactor thread only.
    """
    log = out_dir / "logs" / "profile-project.log"
    spy = shutil.which("py-spy")
    if spy:
        raw = out_dir / "project-pyspy.txt"
        cmd = [spy, "record", "--format", "raw", "--rate", "250", "--threads", "--full-filenames",
               "--nonblocking", "-o", str(raw), "--", child_python(), *project_cmd(url, work / "archive")]
        rc = measure(cmd, ROOT, log, clean_env()).returncode
        if rc == 0 and raw.exists() and raw.stat().st_size:
            return _py_spy_hot_spots(raw, top)
        print(f"py-spy failed (rc={rc}, see {log}); falling back to cProfile", flush=True)
    return _cprofile_hot_spots(url, work, out_dir, log, top)


def _ours(filename: str) -> str | None:
    """Repository-relative path if the file is project code (crawler/, archive/, pipelines/)."""
    for directory in PROJECT_DIRS:
        prefix = str(ROOT / directory) + os.sep
        if filename.startswith(prefix):
            return os.path.relpath(filename, ROOT)
    return None


_SPY_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>.*):\d+\)$")


def _py_spy_hot_spots(raw: Path, top: int) -> list[str]:
    """Inclusive and self shares of active samples per project function, from py-spy's raw stacks."""
    inclusive: Counter[tuple[str, str]] = Counter()
    own: Counter[tuple[str, str]] = Counter()
    threads: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        thread = "unnamed"
        if frames and frames[0].startswith("thread ("):
            thread = frames.pop(0).partition("): ")[2] or "unnamed"
        threads[thread] += int(count)
        seen = set()
        for depth, frame in enumerate(frames):
            if not (m := _SPY_FRAME.match(frame)) or not (path := _ours(m["file"])):
                continue
            key = (thread, f"{path}({m['func']})")
            if key not in seen:
                seen.add(key)
                inclusive[key] += int(count)
            if depth == len(frames) - 1:
                own[key] += int(count)
    total = threads.total() or 1
    share = ", ".join(f"{name} {n / total:.0%}" for name, n in threads.most_common(4))
    lines = [f"py-spy, {total} active samples at 250 Hz, all threads ({share})",
             "incl%   self%  thread          function"]
    lines += [f"{n / total:5.1%}  {own[key] / total:5.1%}  {key[0][:14]:14s}  {key[1]}"
              for key, n in inclusive.most_common(top)]
    return lines


def _cprofile_hot_spots(url: str, work: Path, out_dir: Path, log: Path, top: int) -> list[str]:
    prof = out_dir / "project.prof"
    cmd = [child_python(), "-m", "cProfile", "-o", str(prof), *project_cmd(url, work / "archive-cprofile")]
    measure(cmd, ROOT, log, clean_env())
    entries = pstats.Stats(str(prof)).stats  # type: ignore[attr-defined]
    rows = []
    for (filename, line, func), (_cc, ncalls, tottime, cumtime, _callers) in entries.items():
        if path := _ours(filename):
            rows.append((cumtime, tottime, ncalls, f"{path}:{line}({func})"))
    rows.sort(reverse=True)
    total = max((ct for (_f, _l, fn), (_c, _n, _t, ct, _cl) in entries.items() if fn == "<module>"), default=0.0)
    lines = [f"cProfile, main (reactor) thread only, ~{total:.1f}s profiled",
             "cumtime_s  tottime_s    ncalls  function"]
    lines += [f"{ct:9.2f}  {tt:9.2f}  {n:8d}  {name}" for ct, tt, n, name in rows[:top]]
    return lines


# --- Reporting -----------------------------------------------------------------------------------

def summarise(runs: list[Run]) -> dict[str, Summary]:
    result = {}
    for tool in TOOLS:
        mine = [r for r in runs if r.tool == tool]
        if not mine:
            continue
        pps = [r.pages_per_s for r in mine]
        crawl = [r.html_pages / r.crawl_s for r in mine if r.crawl_s]
        result[tool] = Summary(
            tool=tool,
            html_pages=[r.html_pages for r in mine],
            requests=[r.requests for r in mine],
            pps_median=statistics.median(pps),
            pps_min=min(pps),
            pps_max=max(pps),
            crawl_pps_median=statistics.median(crawl) if crawl else None,
            cpu_median_s=statistics.median(r.cpu_s for r in mine),
            tree_rss_median_mib=statistics.median(r.tree_rss_mib for r in mine),
        )
    return result


def ratios(summary: dict[str, Summary]) -> dict[str, float]:
    project = summary["project"].pps_median
    return {f"project/{other}": project / summary[other].pps_median
            for other in ("bare", "wget") if other in summary and summary[other].pps_median}


def table(summary: dict[str, Summary]) -> str:
    labels = {"project": "portal-archiver (WARC + index)", "bare": "bare Scrapy spider", "wget": "wget -r --warc-file"}
    lines = [
        "| Tool | HTML pages | Total requests | HTML pages/s (median) | min–max | HTML pages/s in-crawl | CPU s "
        "| CPU ms per HTML page | Peak RSS MiB (process tree) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in summary.values():
        crawl = f"{s.crawl_pps_median:.0f}" if s.crawl_pps_median else "n/a"
        per_page = 1000 * s.cpu_median_s / statistics.median(s.html_pages) if any(s.html_pages) else float("nan")
        lines.append(f"| {labels[s.tool]} | {spread(s.html_pages)} | {spread(s.requests)} | {s.pps_median:.0f} "
                     f"| {s.pps_min:.0f}–{s.pps_max:.0f} | {crawl} | {s.cpu_median_s:.1f} | {per_page:.1f} "
                     f"| {s.tree_rss_median_mib:.0f} |")
    return "\n".join(lines)


def spread(values: list[int]) -> str:
    """One count, or the range over rounds."""
    return str(values[0]) if len(set(values)) == 1 else f"{min(values)}–{max(values)}"


def version_of(cmd: list[str]) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except OSError:
        return "missing"
    return (proc.stdout + proc.stderr).strip().splitlines()[0] if (proc.stdout + proc.stderr).strip() else "?"


def machine_note() -> str:
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists() and (m := re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.M)):
        cpu = m.group(1).strip()
    scrapy = subprocess.run([child_python(), "-c", "import scrapy, twisted; print(scrapy.__version__, "
                             "twisted.__version__)"], capture_output=True, text=True).stdout.split()
    python = subprocess.run([child_python(), "-V"], capture_output=True, text=True).stdout.strip()
    return (f"{os.cpu_count()} cores (`nproc` = {os.cpu_count()}), {cpu}; Linux {platform.release()}; "
            f"{python}, Scrapy {scrapy[0] if scrapy else '?'}, Twisted {scrapy[1] if len(scrapy) > 1 else '?'}; "
            f"{version_of(['nginx', '-v'])}; {version_of(['wget', '--version'])}")


def _examples(urls: list[str]) -> str:
    return ", ".join(urls[:3]) + (", ..." if len(urls) > 3 else "") if urls else "none"


def differences_note(site: dict[str, int], runs: list[Run], diff: dict[str, list[str]]) -> str:
    """Why the tools' page counts differ, with the evidence from round 1."""
    statuses = next((r.extra["statuses"] for r in runs if r.tool == "wget"), {})
    notes = [
        f"Portal: {site['articles']} articles, {site['listings']} listing pages and a home page "
        f"({site['html_pages']} HTML pages) plus {site['other_files']} page requisites (CSS, GIF), "
        f"{site['bytes'] / 1e6:.1f} MB uncompressed, served by nginx with gzip.",
    ]
    indexed = sorted({int(str(r.extra["articles"])) for r in runs if r.tool == "project"})
    notes.append(f"The project indexed {'/'.join(map(str, indexed))} of {site['articles']} articles as `articles` "
                 "rows (generic profile from start_url: no URL patterns, page classification only).")
    if diff:
        notes.append(
            f"Round 1: the project fetched {len(diff['project_only'])} URL(s) wget did not "
            f"({_examples(diff['project_only'])}); wget fetched {len(diff['wget_only'])} the project did not "
            f"({_examples(diff['wget_only'])})."
        )
    requests = {r.tool: r.requests - r.html_pages for r in runs if r.round == 1}
    notes.append(
        f"Why counts differ: the first channel's {site['script_only_listings']} later listing page(s) are linked "
        "only from `createPageHTML()` scripts, which both Scrapy crawlers expand and wget cannot. Requests beyond "
        f"the HTML pages (round 1): project {requests.get('project', 'n/a')} (page requisites, CSS and GIF, which "
        f"it archives for replay; robots.txt is off here), bare {requests.get('bare', 'n/a')} (it fetches no "
        f"requisites), wget {requests.get('wget', 'n/a')} (requisites, and the JavaScript string `\\\"\"` in "
        f"the pager script taken for a link: one 404 per channel; wget HTTP statuses: {statuses})."
    )
    return "\n".join(f"- {n}" for n in notes)


def record(command: str, rounds: int, machine: str, code: str, site_note: str, tbl: str,
           ratio_lines: list[str], load: str) -> None:
    """Replace (or append) the Crawl benchmark section, leaving the rest of BENCHMARKS.md alone."""
    section = f"""{SECTION}

Command: `{command}` (from the repository root; `bench/crawl` wraps it)

Date: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}; load average (1/5/15 min) {load}

Machine: {machine}

Code measured: {code}

{tbl}

{chr(10).join(f"- {line}" for line in ratio_lines)}

Notes:

- Timing on a shared 2-core VM is noisy, so each tool ran {rounds} rounds (order alternating every round)
  and the table reports medians; min–max shows the spread.
- HTML pages = 200 responses with a text/html content type (project: its `captures`; bare: counted by
  the spider; wget: `response` records of its WARC); total requests = every request sent, robots.txt,
  page requisites, redirects and errors included (project and bare: Scrapy's `downloader/request_count`;
  wget: `request` records). The same units for every tool.
- HTML pages/s = HTML pages / wall time of the tool's process, start-up and shutdown (WARC fsync,
  index commit) included. "In-crawl" divides by Scrapy's `elapsed_time_seconds` instead.
- CPU s = user + system time of the crawler and the child processes it waited for (`os.wait4` rusage);
  on 2 cores, CPU a crawler spends in worker processes is CPU nginx and the reactor cannot use.
- Peak RSS = the highest sum of RSS over the crawler and its descendants, sampled from /proc at 10 Hz
  (first sample at start). Not `ru_maxrss`: Linux carries it across fork and exec, so it reports the
  harness's own memory for a small child (wget's earlier "48 MiB").
- Both Scrapy crawlers run with CONCURRENT_REQUESTS=16, CONCURRENT_REQUESTS_PER_DOMAIN=16,
  DOWNLOAD_DELAY=0, no AutoThrottle, no robots.txt, breadth-first; wget uses one connection.
{site_note}
"""
    replace_section(SECTION, section, BENCHMARKS_MD)


# --- Main ------------------------------------------------------------------------------------------

def run_rounds(url: str, tmp: Path, rounds: int, log_prefix: Path) -> tuple[list[Run], dict[str, list[str]]]:
    """Every tool once per round, order reversed on even rounds; stop at the first failure."""
    runs: list[Run] = []
    diff: dict[str, list[str]] = {}
    for round_ in range(1, rounds + 1):
        order = TOOLS if round_ % 2 else tuple(reversed(TOOLS))
        for tool in order:
            work = tmp / f"r{round_}" / tool
            work.mkdir(parents=True)
            log = Path(f"{log_prefix}-r{round_}-{tool}.log")
            run = RUNNERS[tool](url, work, log, round_)
            runs.append(run)
            print(f"round {round_} {tool:7s} {run.html_pages:5d} HTML pages {run.requests:5d} requests "
                  f"{run.wall_s:6.2f}s {run.pages_per_s:6.0f} HTML pages/s cpu {run.cpu_s:5.1f}s "
                  f"rss {run.tree_rss_mib:4.0f} MiB (tree)", flush=True)
            if run.returncode != 0 or run.html_pages == 0:
                raise SystemExit(f"{tool} failed (rc={run.returncode}, {run.html_pages} HTML pages); see {log}")
        if round_ == 1:
            diff = project_urls_vs_wget(url, tmp / "r1")
        shutil.rmtree(tmp / f"r{round_}")  # WARCs of 2,000 pages add up over rounds
    return runs, diff


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--browser" in argv:  # the portals only a browser can read (issue 19): bench/browser.py
        from bench.browser import main as browser_main

        return browser_main([arg for arg in argv if arg != "--browser"])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=2000, help="minimum article pages in the portal")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; medians are reported")
    parser.add_argument("--out", type=Path, default=BENCH / "out", help="raw per-round JSON and logs")
    parser.add_argument("--record", action="store_true", help=f"write the '{SECTION}' section of BENCHMARKS.md")
    parser.add_argument("--profile", choices=("auto", "always", "never"), default="auto",
                        help=f"profile one project crawl with py-spy if on PATH, else cProfile "
                             f"(auto: when project/bare < {TARGET_RATIO})")
    args = parser.parse_args(argv)
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        raise SystemExit("nginx is not installed (bench/crawl installs it with apt-get)")
    if shutil.which("wget") is None:
        raise SystemExit("wget is not installed")

    load_start = load_average()
    out_dir: Path = args.out.resolve()
    (out_dir / "logs").mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    profile_lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="crawl-bench-") as tmp_name:
        tmp = Path(tmp_name)
        site = build_portal(tmp / "site", args.articles)
        print(f"portal: {site['articles']} articles, {site['html_pages']} HTML pages in {tmp / 'site'}", flush=True)
        server = Nginx(tmp / "site", tmp / "nginx")
        try:
            url = server.start()
            print(f"nginx serving {url}", flush=True)
            runs, diff = run_rounds(url, tmp, args.rounds, out_dir / "logs" / stamp)
            summary = summarise(runs)
            rat = ratios(summary)
            if args.profile == "always" or (args.profile == "auto" and rat.get("project/bare", 1) < TARGET_RATIO):
                print("profiling one project crawl ...", flush=True)
                work = tmp / "profile"
                work.mkdir()
                profile_lines = profile_project(url, work, out_dir)
        finally:
            server.stop()

    tbl = table(summary)
    ratio_lines = [f"{name} HTML pages/s ratio: {value:.2f}" for name, value in rat.items()]
    verdict = "meets" if rat["project/bare"] >= TARGET_RATIO else "is BELOW"
    ratio_lines.append(f"target: project/bare >= {TARGET_RATIO:.2f}; at {rat['project/bare']:.3f} the project "
                       f"{verdict} it")
    codes = {str(r.extra["code"]) for r in runs if r.tool == "project"}
    if len(codes) > 1:
        ratio_lines.append(f"WARNING: the project's code changed between rounds ({len(codes)} versions: "
                           f"{', '.join(sorted(codes))}); rerun for a clean comparison")
    site_note = differences_note(site, runs, diff)
    print()
    print(tbl)
    print()
    print("\n".join(ratio_lines))
    print(site_note)
    if profile_lines:
        print("\nproject hot spots (project code only, top 15 by inclusive time):")
        print("\n".join(profile_lines))

    result_file = out_dir / f"crawl-{stamp}.json"
    result_file.write_text(json.dumps({
        "command": sys.argv,
        "date": stamp,
        "site": site,
        "runs": [{**asdict(r), "pages_per_s": r.pages_per_s} for r in runs],
        "summary": {k: asdict(v) for k, v in summary.items()},
        "ratios": rat,
        "url_differences_round1": diff,
        "profile": profile_lines,
    }, indent=2, ensure_ascii=False))
    print(f"\nraw results: {result_file}")
    if args.record:
        command = shlex.join(["python", "bench/crawl.py", *(sys.argv[1:] if argv is None else argv)])
        code = f"commit {commit()}; source fingerprint {', '.join(sorted(codes))}"
        record(command, args.rounds, machine_note(), code, site_note, tbl, ratio_lines,
               f"{load_start} at the start, {load_average()} at the end")
        print(f"recorded in {BENCHMARKS_MD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
