"""Index at scale: build (or reuse) an N-article index by ``portal-archive import``, time what researchers run.

    bench/index [--articles 1000000] [--backends sqlite,postgresql] [--rounds 5] [--jobs 2] [--json FILE]
                [--peer-tree DIR] [--write-peer N] [--write-peer-postgres N] [--record]

Prints its results as JSON (``--json`` also writes them to a file); ``--record`` writes the
"Index at scale" section of BENCHMARKS.md from them, with this command beside it.

The index is built the way a researcher builds one from a collection: WARC files of N
generated article pages (bench/portal_warcs.py: the demo portal's chrome, ~1,500-character
bodies of sentences from the shared corpus's real articles, 300 sites, publication dates
random over 2005-2026 in random order, the hard case for "newest first") are imported with
``portal-archive import -j JOBS`` into an index at the current schema (Alembic head). The
corpus is required: without it there is nothing real to make the texts of, and the run
stops with an error.

Built indexes are kept in ``bench/out/index-N-BACKEND`` (PostgreSQL: a database of that
name) with the schema they were made with, and reused while it matches; the WARCs in
``bench/out/warcs-N``.

Each phrase's share of the articles is counted on the built index (one pass, kept with the
build), and printed with its hits beside its time. Timed: ``search`` of 1/2/3/8-character
phrases (common and rare; newest 20 hits; median of ``--rounds`` after one warm-up),
``stats``, ``history URL``, ``show``, export rate per slice of 20,000 rows (steady or not),
CLI start-up (``show`` and ``search`` as a process), size per article, build time. The
crawl-start memory is the peak RSS of a child process (its process tree, sampled from /proc)
doing the start's work, beside a child that only opens the index (the floor) and one loading
every URL as crawls did before migration 0008 (the peer): tracemalloc would not see SQLite's
own memory. ``--peer-tree`` names the checkout whose CLI start-up is timed beside this one's;
there is none by default.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, create_engine, func, select, text  # noqa: E402

from archive.index import Index  # noqa: E402
from archive.models import (  # noqa: E402
    articles,
    captures,
    crawls,
    index_url_for,
    open_index,
    schema_revision,
    upgrade,
)
from archive.store import index_rows  # noqa: E402
from bench.portal_warcs import HISTORY_URL, generate, make_article, sentence_pool  # noqa: E402
from bench.report import BENCHMARKS_MD, command_line, commit, load_average, replace_section  # noqa: E402

OUT = ROOT / "bench" / "out"
# Phrases timed: (length and kind, phrase). Their share of the articles is counted on the
# built index (``phrase_shares``), not assumed. Common ones stop early; rare ones (planted
# in one article in 997 by bench/portal_warcs.py) test the worst case.
PHRASES = [
    ("1 char", "火"),
    ("2 chars, common", "安全"),
    ("2 chars, rare", "鲸鱼"),
    ("3 chars, common", "组织部"),
    ("3 chars, less common", "中国式"),
    ("3 chars, rare", "潜水艇"),
    ("8 chars, common", "长三角一体化发展"),
    ("8 chars, less common", "年阶段发展的基础"),
    ("8 chars, rare", "深入开展消防安全"),
    ("8 chars, absent", "完全不存在的短语"),
]


def build(url: str, location: Path, count: int, jobs: int) -> dict:
    """Fill an empty index with ``count`` articles: generated WARCs, then ``portal-archive import``."""
    warcs = OUT / f"warcs-{count}"
    started = time.perf_counter()
    files = generate(warcs, count, jobs=jobs)
    generated = time.perf_counter() - started
    print(f"  {len(files)} WARC files in {warcs} ({generated:.0f} s); importing", file=sys.stderr, flush=True)
    command = [sys.executable, "-m", "archive.cli", "import", "--index", url, "--warc-dir", str(location / "warc"),
               "-j", str(jobs), "--progress-every", "60", str(warcs)]
    started, cpu = time.perf_counter(), os.times()
    subprocess.run(command, cwd=ROOT, check=True)
    after = os.times()
    return {"build_s": time.perf_counter() - started, "generate_s": generated,
            "import_cpu_s": (after.children_user - cpu.children_user) + (after.children_system - cpu.children_system),
            "warc_bytes": sum(path.stat().st_size for path in files), "jobs": jobs}


def phrase_shares(engine: Engine) -> dict[str, int]:
    """How many articles hold each phrase (title or body), counted in one pass over the table."""
    def holds(phrase: str):
        if engine.dialect.name == "postgresql":
            return func.strpos(articles.c.title + "\n" + articles.c.body, phrase) > 0
        return func.instr(articles.c.title + "\n" + articles.c.body, phrase) > 0

    columns = [func.count().filter(holds(phrase)).label(f"p{n}") for n, (_, phrase) in enumerate(PHRASES)]
    with engine.connect() as conn:
        row = conn.execute(select(*columns)).one()
    return {phrase: row[n] for n, (_, phrase) in enumerate(PHRASES)}


def _capture(crawl_id: int, url: str, rid: str, offset: int, published: str | None, status: int = 200) -> dict:
    return {"crawl_id": crawl_id, "url": url, "status": status, "content_type": "text/html; charset=utf-8",
            "fetched_at": "2026-01-01T00:00:00Z", "warc_date": "2026-01-01T00:00:00.000000Z",
            "payload_digest": "sha1:" + rid[-20:].rjust(32, "A"), "record_type": "response" if status == 200
            else "revisit", "warc_file": "peer-00000.warc.gz", "warc_offset": offset, "warc_length": 4000,
            "warc_record_id": rid, "method": "GET", "payload_length": 15000, "ip_address": "127.0.0.1",
            "truncated": None, "request_offset": offset + 4000, "request_length": 300, "etag": '"e"',
            "last_modified": None, "flags": None, "ref": None}


def timed(fn, rounds: int) -> tuple[float, float, float]:
    """(first, median, max) milliseconds over one cold call and ``rounds`` more."""
    t0 = time.perf_counter()
    fn()
    first = (time.perf_counter() - t0) * 1000
    runs = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t0) * 1000)
    return first, statistics.median(runs), max(runs)


def cli_ms(args: list[str], rounds: int, tree: Path = ROOT) -> float:
    """Median wall time of ``portal-archive ARGS`` as a process, with the code of ``tree``.

    Bytecode is written and used, as for any installed package: one untimed run first,
    and PYTHONDONTWRITEBYTECODE (set in some shells) dropped."""
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    command = [sys.executable, "-m", "archive.cli", *args]
    subprocess.run(command, cwd=tree, capture_output=True, check=False, env=env)
    runs = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        subprocess.run(command, cwd=tree, capture_output=True, check=False, env=env)
        runs.append((time.perf_counter() - t0) * 1000)
    return statistics.median(runs)


def size_bytes(engine: Engine, location: Path | None) -> dict:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            total = (location / "index.sqlite").stat().st_size
            parts = {}
            try:
                for name, size in conn.exec_driver_sql(
                        "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 12"):
                    parts[name] = size
            except Exception:  # noqa: BLE001 - dbstat is an optional SQLite build
                pass
            return {"total": total, "parts": parts}
        total = conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
        parts = dict(conn.execute(text(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i') "
            "ORDER BY 2 DESC LIMIT 12")).all())
        return {"total": total, "parts": parts}


def measure(engine: Engine, location: Path, index_url: str | None, rounds: int, count: int,
            shares: dict[str, int], peer_tree: Path | None = None) -> dict:
    index = Index(engine, location / "warc")
    result: dict = {"search": {}}
    for label, phrase in PHRASES:
        hits: list = []

        def run(phrase=phrase, hits=hits):
            hits[:] = index.search(phrase)

        first, median, worst = timed(run, rounds)
        ordered = [hit["published_at"] for hit in hits] == sorted((hit["published_at"] for hit in hits),
                                                                  reverse=True)
        holding = shares.get(phrase)
        share = f"{100 * holding / count:.3g}% ({holding} articles)" if holding is not None else "share not counted"
        result["search"][label] = {"phrase": phrase, "first_ms": first, "median_ms": median, "max_ms": worst,
                                   "hits": len(hits), "articles_holding": holding, "newest_first": ordered}
        print(f"  search {label} {phrase}, in {share}: median {median:.1f} ms, max {worst:.1f} ms "
              f"(first {first:.1f}), {len(hits)} hits", file=sys.stderr, flush=True)
    result["stats_ms"] = timed(index.stats, max(1, rounds // 2))
    result["history_ms"] = timed(lambda: index.captures(HISTORY_URL), rounds)
    with engine.connect() as conn:
        some_id = conn.execute(select(func.max(articles.c.id))).scalar() // 2
        some_url = conn.execute(select(articles.c.url).where(articles.c.id == some_id)).scalar()
    result["show_ms"] = timed(lambda: (index.article(some_id), index.capture(some_url)), rounds)
    # Export: rows per second for each slice of 20,000 (at most 10 slices).
    rates, slice_rows, t0, seen = [], 20_000, time.perf_counter(), 0
    for _row in index.iter_articles():
        seen += 1
        if seen % slice_rows == 0:
            now = time.perf_counter()
            rates.append(slice_rows / (now - t0))
            t0 = now
            if len(rates) >= min(10, max(1, count // slice_rows)):
                break
    result["export_rows_per_s"] = rates
    archive = ["--index", index_url, "--warc-dir", str(location / "warc")]
    result["cli_show_ms"] = cli_ms(["show", str(some_id), *archive], rounds)
    result["cli_show_url_ms"] = cli_ms(["show", some_url, *archive], rounds)
    result["cli_search_ms"] = cli_ms(["search", "消防员", *archive], rounds)
    if peer_tree is not None:
        # The same command with an older checkout's code (imports everything up front).
        result["cli_show_peer_ms"] = cli_ms(["show", str(some_id), *archive], rounds, peer_tree)
    result["cli_noop_python_ms"] = statistics.median(
        _run_ms([sys.executable, "-c", "pass"]) for _ in range(rounds))
    result["cli_import_sqlalchemy_ms"] = statistics.median(
        _run_ms([sys.executable, "-c", "import sqlalchemy"]) for _ in range(rounds))
    result["cli_import_sqlalchemy_orm_ms"] = statistics.median(
        _run_ms([sys.executable, "-c", "import sqlalchemy.orm"]) for _ in range(rounds))
    result["crawl_start"] = crawl_start(engine, location, index_url or index_url_for(location))
    result["size"] = size_bytes(engine, location)
    result["bytes_per_article"] = result["size"]["total"] / count
    return result


def crawl_start(engine: Engine, location: Path | None, url: str) -> dict:
    """What a crawl's start costs: on-demand History (now) beside loading every URL (before 0008)."""
    import shutil
    import tempfile

    from archive.history import History
    from archive.lookup import ArchiveLookup

    with engine.connect() as conn:
        urls = conn.execute(select(articles.c.url).order_by(articles.c.id.desc()).limit(200)).scalars().all()
    out = {}
    # The archive's own WARC directory is empty: the imported files are where import found them.
    placeholder = Path(tempfile.mkdtemp(prefix="bench-warc-"))
    t0 = time.perf_counter()
    history = History.load(engine, placeholder, "bench")
    lookup = ArchiveLookup(engine)
    answers = [(url in history.known_articles, history.validators.get(url), lookup.has_text(url, "x"))
               for url in urls]
    out["on_demand_start_plus_200_lookups_s"] = time.perf_counter() - t0
    assert all(known for known, _, _ in answers)
    # Which WARC files are gone: one index seek per file, beside the pass over every capture it replaced.
    from archive.presence import missing_warc_files

    with engine.connect() as conn:
        t0 = time.perf_counter()
        missing_warc_files(conn, placeholder)
        out["missing_files_by_file_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        conn.execute(select(captures.c.warc_file, crawls.c.hostname)
                     .join(crawls, crawls.c.id == captures.c.crawl_id, isouter=True).distinct()).all()
        out["missing_files_every_row_s"] = time.perf_counter() - t0
    # The three structures every crawl loaded before (writer originals, history, dedup digests).
    t0 = time.perf_counter()
    with engine.connect() as conn:
        known = set(conn.execute(select(articles.c.url).distinct()).scalars())
        captured = set(conn.execute(select(captures.c.url).distinct()).scalars())
        digests = conn.execute(select(articles.c.url, articles.c.body_digest)).all()
        latest = conn.execute(select(captures.c.url, func.max(captures.c.id)).group_by(captures.c.url)).all()
    out["load_everything_s"] = time.perf_counter() - t0
    del known, captured, digests, latest
    out["peak_rss_mib"] = start_memory(url, placeholder)
    shutil.rmtree(placeholder)
    return out


# A crawl start's work in a process of its own, so its memory (SQLite's page cache included,
# which tracemalloc cannot see) is what /proc says the process holds.
_START_CHILD = """
import sys
from pathlib import Path
from sqlalchemy import func, select
from archive.history import History
from archive.lookup import ArchiveLookup
from archive.models import articles, captures, open_index
mode, url, warc = sys.argv[1], sys.argv[2], Path(sys.argv[3])
engine = open_index(url, create=False)
with engine.connect() as conn:
    urls = conn.execute(select(articles.c.url).order_by(articles.c.id.desc()).limit(200)).scalars().all()
    if mode == "load every URL (before 0008, the peer)":
        kept = (set(conn.execute(select(articles.c.url).distinct()).scalars()),
                set(conn.execute(select(captures.c.url).distinct()).scalars()),
                conn.execute(select(articles.c.url, articles.c.body_digest)).all(),
                conn.execute(select(captures.c.url, func.max(captures.c.id)).group_by(captures.c.url)).all())
if mode == "on demand (History + 200 x 3 lookups)":
    history = History.load(engine, warc, "bench")
    lookup = ArchiveLookup(engine)
    answers = [(u in history.known_articles, history.validators.get(u), lookup.has_text(u, "x")) for u in urls]
"""
START_MODES = ("open the index only (the floor)", "on demand (History + 200 x 3 lookups)",
               "load every URL (before 0008, the peer)")


def start_memory(url: str, warc: Path) -> dict[str, float]:
    """Peak RSS (MiB, the child's process tree from /proc) of each START_MODES child."""
    from bench.crawl import measure

    out = {}
    for mode in START_MODES:
        log = warc / "start.log"
        measured = measure([sys.executable, "-c", _START_CHILD, mode, url, str(warc)], ROOT, log)
        if measured.returncode != 0:
            raise SystemExit(f"crawl-start child ({mode}) failed: {log.read_text()[-2000:]}")
        out[mode] = measured.tree_rss_mib
    print(f"  crawl start peak RSS MiB: {out}", file=sys.stderr, flush=True)
    return out


def _run_ms(command: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(command, capture_output=True, check=False)
    return (time.perf_counter() - t0) * 1000


def postgres_server() -> str:
    """The server's URL: the one given in PORTAL_TEST_POSTGRES, else the benchmark's own."""
    return os.environ.get("PORTAL_TEST_POSTGRES") or own_postgres_server()


@functools.cache
def own_postgres_server() -> str:
    """A durable server, as one at scale would run: fsync on (the tests' server runs without it)
    and a 1 GB buffer pool (PostgreSQL's default of 128 MB is sized for a laptop). Started once
    per run (hence the cache), stopped at its end (a server left running would hold the directory)."""
    options = {**os.environ, "PORTAL_PG_OPTIONS": "-c fsync=on -c shared_buffers=1GB"}
    out = subprocess.run(["bash", str(ROOT / "scripts" / "postgres"), "start", str(OUT / "pg")],
                         capture_output=True, text=True, check=True, env=options).stdout
    return out.strip().split("=", 1)[1]


def stop_postgres_server() -> None:
    if own_postgres_server.cache_info().currsize:
        subprocess.run(["bash", str(ROOT / "scripts" / "postgres"), "stop", str(OUT / "pg")],
                       capture_output=True, check=False)
        own_postgres_server.cache_clear()


def schema_fingerprint() -> str:
    """Digest of every migration file: an index built with other migrations is built again."""
    import hashlib

    digest = hashlib.sha1()
    for path in sorted((ROOT / "archive" / "migrations" / "versions").glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:12]


def prepare(backend: str, count: int, jobs: int, revision: str = "head") -> tuple[Engine, Path, str, dict]:
    """An index of ``count`` articles at ``revision``: reused when built before, else built now."""
    name = f"index-{count}-{backend}" + ("" if revision == "head" else f"-{revision}")
    location = OUT / name
    location.mkdir(parents=True, exist_ok=True)
    marker = location / "built.json"
    if backend == "sqlite":
        url = f"sqlite:///{location / 'index.sqlite'}"
    else:
        server = postgres_server()
        admin = create_engine(server + "postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name.replace("-", "_")}
                                ).first():
                conn.execute(text(f'CREATE DATABASE "{name.replace("-", "_")}"'))
        admin.dispose()
        url = server + name.replace("-", "_")
    engine = open_index(url, create=False)
    (location / "warc").mkdir(exist_ok=True)
    built = json.loads(marker.read_text()) if marker.exists() else None
    if built and built.get("schema") == schema_fingerprint() and built.get("articles") == count:
        print(f"{backend}: reusing {name} ({count} articles)", file=sys.stderr)
        return engine, location, url, built
    print(f"{backend}: building {name} ({count} articles)", file=sys.stderr)
    if backend == "sqlite":
        engine.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(str(location / "index.sqlite") + suffix).unlink(missing_ok=True)
        engine = open_index(url, create=False)
    else:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade(engine, revision)
    marker.unlink(missing_ok=True)
    stats = build(url, location, count, jobs)
    print(f"  imported in {stats['build_s']:.0f} s; counting the phrases' shares", file=sys.stderr, flush=True)
    if backend == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    with engine.connect() as conn:
        built_articles = conn.execute(select(func.count()).select_from(articles)).scalar()
    started = time.perf_counter()
    stats.update(revision=schema_revision(engine), schema=schema_fingerprint(), articles=count,
                 articles_indexed=built_articles, shares=phrase_shares(engine),
                 shares_counted_s=time.perf_counter() - started)
    marker.write_text(json.dumps(stats, ensure_ascii=False))
    return engine, location, url, stats


def peer_batches(count: int) -> list[tuple[list[dict], list[dict]]]:
    """The write peers' articles, in batches of 200 (capture rows, article rows): the same
    articles for every schema compared."""
    import hashlib

    rng = random.Random(3)
    pool = sentence_pool()
    batches = []
    for first in range(0, count, 200):
        capture_rows, article_rows = [], []
        for number in range(first, min(first + 200, count)):
            made = make_article(rng, pool, number)
            article = {"url": made.url, "site": made.site, "channel": str(made.channel), "title": made.title,
                       "published_at": made.when.isoformat() + "+08:00", "source": made.source, "author": None,
                       "views": made.views, "body": "\n".join(made.paragraphs), "site_name": made.site,
                       "encoding": "utf-8"}
            rid = f"<urn:uuid:peer-{number}>"
            capture_rows.append(_capture(1, article["url"], rid, number, None))
            article_rows.append({"rid": rid, "body_digest": hashlib.sha1(article["body"].encode()).hexdigest(),
                                 **article})
        batches.append((capture_rows, article_rows))
    return batches


def write_peer(count: int, rounds: int = 2) -> dict:
    """Write cost per article, this schema and writer vs schema 0003 (trigram FTS + triggers,
    the writer's plain executemany before 0008), same articles, alternating, in temporary
    SQLite files: the ratio is what a loaded machine can still compare."""
    import tempfile

    from sqlalchemy import insert

    from archive.models import capture_id_of

    batches = peer_batches(count)

    def old_rows(conn, capture_rows, article_rows):
        conn.execute(insert(captures).values(refers_to_id=capture_id_of("ref")), capture_rows)
        conn.execute(insert(articles).values(capture_id=capture_id_of("rid")), article_rows)

    times: dict[str, list[float]] = {"0008 (this)": [], "0003 (before)": []}
    for _ in range(rounds):
        for label, revision, write in (("0008 (this)", "head", index_rows), ("0003 (before)", "0003", old_rows)):
            with tempfile.TemporaryDirectory() as tmp:
                engine = open_index(f"sqlite:///{tmp}/index.sqlite", create=False)
                upgrade(engine, revision)
                times[label].append(timed_writes(engine, batches, write) * 1000 / count)
                engine.dispose()
    result = {label: statistics.median(values) for label, values in times.items()}
    result["ratio"] = result["0008 (this)"] / result["0003 (before)"]
    print(f"  write cost ms/article: {result}", file=sys.stderr)
    return result


def timed_writes(engine, batches, write, vacuum: bool = False) -> float:
    """Seconds to write ``batches`` through ``write`` (one transaction per batch) into an index
    holding one crawl row; with ``vacuum`` the PostgreSQL GIN pending list merge is counted too."""
    with engine.begin() as conn:
        conn.execute(crawls.insert().values(id=1, spider="b", started_at="x", status="finished"))
    t0 = time.perf_counter()
    for capture_rows, article_rows in batches:
        with engine.begin() as conn:
            write(conn, capture_rows, article_rows)
    if vacuum:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM articles"))  # GIN's pending list is merged here: counted
    return time.perf_counter() - t0


def write_peer_postgres(count: int, rounds: int = 3) -> dict:
    """Write cost per article on PostgreSQL through the writer's batch insert, this schema
    (0010 and later: bigram GIN expression index) vs 0009 (pg_trgm GIN indexes), same
    articles, alternating, each into a fresh database of its own."""

    batches = peer_batches(count)
    server = postgres_server()
    admin = create_engine(server + "postgres", isolation_level="AUTOCOMMIT")
    times: dict[str, list[float]] = {"head (this)": [], "0009 (pg_trgm)": []}
    for _ in range(rounds):
        for label, revision in (("head (this)", "head"), ("0009 (pg_trgm)", "0009")):
            with admin.connect() as conn:
                conn.execute(text("DROP DATABASE IF EXISTS bench_write_peer"))
                conn.execute(text("CREATE DATABASE bench_write_peer"))
            engine = open_index(server + "bench_write_peer", create=False)
            upgrade(engine, revision)
            times[label].append(timed_writes(engine, batches, index_rows, vacuum=True) * 1000 / count)
            engine.dispose()
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS bench_write_peer"))
    admin.dispose()
    result = {label: statistics.median(values) for label, values in times.items()}
    result["ratio"] = result["head (this)"] / result["0009 (pg_trgm)"]
    print(f"  PostgreSQL write cost ms/article: {result}", file=sys.stderr)
    return result


def main() -> int:
    global OUT
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("-j", "--jobs", type=int, default=2, help="import -j while building (default: 2)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--out", type=Path, default=OUT,
                        help="where built indexes are kept and reused (default: bench/out)")
    parser.add_argument("--write-peer", type=int, default=0, metavar="N",
                        help="also time writing N articles with this schema and with schema 0003 (SQLite)")
    parser.add_argument("--peer-tree", type=Path, default=None,
                        help="a checkout whose CLI start-up is timed beside this one's (the peer, named "
                             "explicitly; none by default)")
    parser.add_argument("--record", action="store_true", help="write the results into BENCHMARKS.md")
    parser.add_argument("--write-peer-postgres", type=int, default=0, metavar="N",
                        help="also time writing N articles on PostgreSQL with this schema and with 0009")
    args = parser.parse_args()
    started, load_at_start = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), load_average()
    OUT = args.out
    OUT.mkdir(parents=True, exist_ok=True)
    results = {}
    if args.write_peer:
        results["write_peer"] = write_peer(args.write_peer)
    if args.write_peer_postgres:
        results["write_peer_postgres"] = write_peer_postgres(args.write_peer_postgres)
    peer = args.peer_tree
    if peer is not None and not (peer / "archive" / "models.py").exists():
        raise SystemExit(f"--peer-tree {peer} is not a portal-archiver checkout")
    try:
        for backend in [name for name in args.backends.split(",") if name]:
            engine, location, url, built = prepare(backend, args.articles, args.jobs)
            results[backend] = {"built": built, **measure(engine, location, url, args.rounds,
                                                          built["articles_indexed"], built.get("shares") or {}, peer)}
            engine.dispose()
            print(json.dumps(results[backend], ensure_ascii=False, indent=1, default=str))
    finally:
        stop_postgres_server()
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1, default=str))
    if args.record:
        replace_section(HEADING, record(results, args, started, load_at_start))
        print(f"recorded in {BENCHMARKS_MD}", file=sys.stderr)
    return 0


HEADING = "## Index at scale (issues 12 and 21)"
# The targets of issue 21 at 1,000,000 articles.
SEARCH_TARGET_MS, LOOKUP_TARGET_MS, BUILD_TARGET_S = 50, 10, 3600


def record(results: dict, args: argparse.Namespace, started: str, load_at_start: str) -> str:
    """The BENCHMARKS.md section: what was built, then each backend's timings side by side."""
    from bench.crawl import machine_note

    backends = [name for name in ("sqlite", "postgresql") if name in results]
    names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    count = args.articles
    lines = [HEADING, "", f"Command: `{command_line('bench/index')}` (built indexes are reused while the "
             "migrations are unchanged: a build's figures are those of the run that made it)", "",
             f"Date: {started} to {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average "
             f"(1/5/15 min) {load_at_start} at the start, {load_average()} at the end", "",
             f"Machine: {machine_note()}", "", f"Code measured: commit {commit()}", "",
             f"Each index holds {count:,} generated articles (bench/portal_warcs.py: the demo portal's "
             "chrome, ~1,500-character bodies of sentences from the shared corpus's real articles, 300 "
             "sites, publication dates random over 2005-2026 in random order), built by "
             f"`portal-archive import -j {args.jobs}` of the generated WARC files. PostgreSQL is a local "
             "server started by the benchmark with fsync on and a 1 GB buffer pool; its own CPU is not "
             "in the importer's CPU.", "", "Build:", "",
             "| | " + " | ".join(names[b] for b in backends) + " |", "|---|" + "---:|" * len(backends)]

    def row(label: str, cell) -> None:
        lines.append(f"| {label} | " + " | ".join(cell(results[b]) for b in backends) + " |")

    def warcs(r: dict) -> str:
        made = r["built"].get("generate_s", 0)  # under a second: files of an earlier run, reused
        return f"{r['built'].get('warc_bytes', 0) / 1e9:.2f} GB " + (f"in {made:.0f} s" if made >= 1 else "(reused)")

    row("WARC files (generated)", warcs)
    row("articles indexed", lambda r: f"{r['built']['articles_indexed']:,}")
    row("import wall time", lambda r: f"{r['built']['build_s'] / 60:.1f} min")
    row("importer CPU per article", lambda r: f"{1000 * r['built']['import_cpu_s'] / count:.2f} ms")
    row("size per article", lambda r: f"{r['bytes_per_article'] / 1024:.1f} KiB")
    row("largest parts", lambda r: ", ".join(f"{name} {size / 1e9:.2f} GB" for name, size
                                             in list(r["size"]["parts"].items())[:3]) or "not listed")
    lines += ["", f"Search, newest 20 hits: median and max of {args.rounds} runs after one warm-up; the "
              "share of articles holding each phrase is counted on the built index.", "",
              "| phrase kind | phrase | articles holding it | " + " | ".join(
                  f"{names[b]} median ms | {names[b]} max ms | hits" for b in backends) + " |",
              "|---|---|---:|" + "---:|---:|---:|" * len(backends)]
    for label, phrase in PHRASES:
        first = results[backends[0]]["search"][label]
        held = first["articles_holding"]
        share = f"{held:,} ({100 * held / count:.3g}%)" if held is not None else "not counted"
        cells = [f"{results[b]['search'][label]['median_ms']:.1f} | {results[b]['search'][label]['max_ms']:.1f} | "
                 f"{results[b]['search'][label]['hits']}" for b in backends]
        lines.append(f"| {label} | {phrase} | {share} | " + " | ".join(cells) + " |")
    lines += ["", "Other reads (milliseconds: median, max of the runs in brackets; first cold call after it):", "",
              "| | " + " | ".join(names[b] for b in backends) + " |", "|---|" + "---:|" * len(backends)]

    def ms(triple) -> str:
        first, median, worst = triple
        return f"{median:.1f} (max {worst:.1f}; first {first:.1f})"

    row("`history URL` (60 captures)", lambda r: ms(r["history_ms"]))
    row("`show ID` + capture by URL", lambda r: ms(r["show_ms"]))
    row("`stats`", lambda r: ms(r["stats_ms"]))
    def export_rate(r: dict) -> str:
        rates = r["export_rows_per_s"]
        if not rates:
            return "not timed (fewer than 20,000 articles)"
        return f"{statistics.median(rates):,.0f} ({min(rates):,.0f}-{max(rates):,.0f})"

    row("export, rows/s per slice of 20,000 (median, min-max)", export_rate)
    row("CLI `show ID` / `search` as a process", lambda r: f"{r['cli_show_ms']:.0f} / {r['cli_search_ms']:.0f}")
    row("floors: `python -c pass` / `import sqlalchemy`",
        lambda r: f"{r['cli_noop_python_ms']:.0f} / {r['cli_import_sqlalchemy_ms']:.0f}")
    def start_ms(key: str):
        return lambda r: f"{r['crawl_start'][key] * 1000:,.0f}"

    row("crawl start: History + 200 x 3 lookups", start_ms("on_demand_start_plus_200_lookups_s"))
    row("crawl start: which WARC files are gone", start_ms("missing_files_by_file_s"))
    row("the same by reading every capture (peer)", start_ms("missing_files_every_row_s"))
    row("loading every URL, as crawls did before 0008 (peer)", start_ms("load_everything_s"))
    for mode in START_MODES:
        row(f"crawl start peak RSS MiB: {mode}",
            lambda r, mode=mode: f"{r['crawl_start']['peak_rss_mib'].get(mode, 0):.0f}")
    lines += ["", "How the searches work is in archive/search.py: SQLite walks an FTS5 table of character "
              "bigrams whose rowids are publication-day keys, newest first, and checks each candidate "
              "against the text; PostgreSQL tests the newest articles one by one (200, then up to 1,000) "
              "and, for rarer phrases, takes the candidates of a GIN index over the same bigrams newest "
              "first. Every hit is checked against the text, so hits are exact; the tests compare hit "
              "lists with the truth on both backends (tests/test_index_scale.py, tests/test_pg_search.py).",
              ""]
    for backend in backends:
        r = results[backend]
        timed_searches = [value for label, value in r["search"].items() if not label.startswith("1 char")]
        slowest = max(timed_searches, key=lambda value: value["median_ms"])
        ordered = all(value["newest_first"] for value in r["search"].values())
        lookups_ms = max(r["history_ms"][1], r["show_ms"][1])
        verdict = [f"searches of 2, 3 and 8 characters: slowest median {slowest['median_ms']:.1f} ms "
                   f"({slowest['phrase']}; target < {SEARCH_TARGET_MS} ms: "
                   f"{'met' if slowest['median_ms'] < SEARCH_TARGET_MS else 'NOT met'})",
                   f"`history` {r['history_ms'][1]:.1f} ms and `show` {r['show_ms'][1]:.1f} ms (target < "
                   f"{LOOKUP_TARGET_MS} ms: {'met' if lookups_ms < LOOKUP_TARGET_MS else 'NOT met'})",
                   f"every result list newest first: {'yes' if ordered else 'NO'}"]
        if backend == "postgresql":
            build_s = r["built"]["build_s"]
            verdict.append(f"import of {count:,} articles in {build_s / 60:.1f} min (target < "
                           f"{BUILD_TARGET_S // 60} min: {'met' if build_s < BUILD_TARGET_S else 'NOT met'})")
        lines.append(f"- {names[backend]}: " + "; ".join(verdict))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
