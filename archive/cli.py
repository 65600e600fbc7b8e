"""``portal-archive``: the researcher's command line over an archive directory.

An archive is ``DIR/warc/*.warc.gz`` plus an index (``DIR/index.sqlite`` unless ``--index``
names another database).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from archive.access import IndexUnavailable, db_problem, open_existing_index
from archive.events import KINDS
from archive.models import index_url_for
from archive.outputs import OutputRefused, archive_files, check_output, open_output

if TYPE_CHECKING:
    from archive.index import Index

# Each command imports what it needs inside its function (warcio, Alembic, the replay and
# verify modules cost ~0.5 s together), so `show` and `search` start quickly.


def _archive_args(parser: argparse.ArgumentParser, top: bool = False) -> None:
    """The archive options, accepted before the subcommand (``top``) and after it; after it
    they default to SUPPRESS, so they never overwrite what was given before."""
    defaults = {"archive": "data", "index": None, "warc_dir": None} if top else dict.fromkeys(
        ("archive", "index", "warc_dir"), argparse.SUPPRESS)
    parser.add_argument("--archive", default=defaults["archive"], help="archive directory (default: ./data)")
    parser.add_argument("--index", default=defaults["index"],
                        help="SQLAlchemy URL of the index (default: sqlite:///ARCHIVE/index.sqlite)")
    parser.add_argument("--warc-dir", default=defaults["warc_dir"],
                        help="directory of the WARC files (default: ARCHIVE/warc)")


def cmd_verify(args: argparse.Namespace) -> int:
    from archive.recovery import drop_dangling, live_writers, recover, reindex
    from archive.verify import check_files, verify_archive

    _log_progress()
    if args.files:
        report, _ = check_files([Path(name) for name in args.files], progress_every=args.progress_every)
    else:
        archive = Path(args.archive)
        index_url = args.index or index_url_for(archive)
        warc_dir = Path(args.warc_dir) if args.warc_dir else archive / "warc"
        if not warc_dir.is_dir():
            print(f"error: no WARC directory at {warc_dir}", file=sys.stderr)
            return 2
        engine = open_existing_index(index_url, readonly=not args.repair)
        try:
            report = verify_archive(warc_dir, engine, args.progress_every)
            if args.repair and not report.ok:
                if alive := live_writers(engine, warc_dir):
                    # Their rows point into files still being written: repair would drop them.
                    print(f"error: repair refused while the archive is being written ({'; '.join(alive)}); "
                          "run it again when the crawl has ended", file=sys.stderr)
                    return 2
                # Close abandoned files first: their rows only look dangling while they are .open.
                fixed = recover(engine, warc_dir)
                report = verify_archive(warc_dir, engine, args.progress_every)
                drop_dangling(engine, report.dangling_ids, fixed)
                reindex(engine, [warc_dir / name for name in sorted(report.orphan_files)], fixed)
                for line in fixed.lines():
                    print(f"repair: {line}")
                report = verify_archive(warc_dir, engine, args.progress_every)
        finally:
            engine.dispose()
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1


def _log_progress() -> None:
    """Progress lines go to standard error (the report itself to standard output)."""
    logger = logging.getLogger("archive")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def cmd_extract(args: argparse.Namespace) -> int:
    """Extraction needs the crawler package (and Scrapy), so it is imported only here."""
    from itemadapter import ItemAdapter

    from crawler.extract import extract_article

    path = Path(args.file)
    try:
        body = sys.stdin.buffer.read() if args.file == "-" else path.read_bytes()
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    item = extract_article(body, url=args.url or (path.resolve().as_uri() if args.file != "-" else None))
    data = ItemAdapter(item).asdict()
    for unset in ("site", "warc_record_id", "body_digest"):
        data.pop(unset, None)
    print(json.dumps(data, ensure_ascii=False, indent=2))
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from archive.models import open_index, schema_revision, upgrade

    engine = open_index(_index_url(args), create=False)
    before = schema_revision(engine)
    upgrade(engine)
    print(f"index schema: {before or 'empty'} -> {schema_revision(engine)}")
    engine.dispose()
    return 0


def _index_url(args: argparse.Namespace) -> str:
    return args.index or index_url_for(Path(args.archive))


def _protected(args: argparse.Namespace) -> tuple[set[Path], set[Path]]:
    """The archive's own files, which ``-o`` must never write over."""
    warc_dir = Path(args.warc_dir) if args.warc_dir else Path(args.archive) / "warc"
    return archive_files(_index_url(args), warc_dir)


def _limit(value: str) -> int:
    """``--limit``: a whole number the database can take."""
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 1_000_000_000:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number from 1 to 1000000000")
    return int(value)


def _moment(value: str) -> str:
    """``--at``: checked when parsed, so a malformed moment never means "the latest"."""
    from archive.index import parse_at

    try:
        parse_at(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def _open(args: argparse.Namespace) -> Index:
    from archive.index import Index

    warc_dir = Path(args.warc_dir) if args.warc_dir else Path(args.archive) / "warc"
    if args.index:
        return Index.open(args.index, warc_dir)
    return Index.open(args.archive, warc_dir)


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--site", help="only this site")
    parser.add_argument("--channel", help="only this channel")
    parser.add_argument("--since", help="published on or after (2020, 2020-01, 2020-01-15)")
    parser.add_argument("--until", help="published on or before")


SEARCH_COLUMNS = ("id", "url", "title", "published_at", "source", "site", "channel", "snippet")


def _table(rows: list[dict], columns: tuple[str, ...], widths: dict[str, int]) -> list[str]:
    def cell(value: object, width: int) -> str:
        text = "" if value is None else str(value).replace("\n", " ")
        return text if len(text) <= width else text[: width - 1] + "…"

    lines = ["  ".join(column for column in columns)]
    for row in rows:
        lines.append("  ".join(cell(row.get(column), widths.get(column, 30)) for column in columns))
    return lines


def _emit(rows: list[dict] | Iterator[dict], columns: tuple[str, ...], fmt: str, out: IO[str]) -> int:
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
            count += 1
    elif fmt == "jsonl":
        for row in rows:
            out.write(json.dumps({column: row.get(column) for column in columns}, ensure_ascii=False) + "\n")
            count += 1
    else:
        rows = list(rows)
        widths = {"id": 6, "url": 50, "title": 30, "published_at": 22, "snippet": 50}
        out.write("\n".join(_table(rows, columns, widths)) + "\n")
        count = len(rows)
    return count


def cmd_search(args: argparse.Namespace) -> int:
    with _open(args) as index:
        rows = index.search(args.query, site=args.site, channel=args.channel, since=args.since, until=args.until,
                            limit=args.limit)
    _emit(rows, SEARCH_COLUMNS, args.format, sys.stdout)
    if args.format == "table":
        print(f"({len(rows)} result{'s' if len(rows) != 1 else ''})", file=sys.stderr)
    return 0 if rows else 1


def _capture_of(index: Index, key: str, at: str | None) -> dict | None:
    """An article id's capture, or a URL's capture (at or before ``at``)."""
    from archive.index import row_id

    if row_id(key) is not None:
        article = index.article(key)
        return index.capture(article["capture_id"]) if article and article.get("capture_id") else None
    return index.capture(key, at=at)


def cmd_show(args: argparse.Namespace) -> int:
    with _open(args) as index:
        if args.raw or args.headers or args.html:
            capture = _capture_of(index, args.key, args.at)
            if capture is None:
                print(f"error: nothing archived for {args.key}", file=sys.stderr)
                return 1
            if args.raw:
                sys.stdout.buffer.write(index.read_payload(capture))
            elif args.headers:
                record = index.record(capture)
                http = record.http_headers
                if http is None:
                    print(f"error: {args.key} is a {record.rec_type} record without HTTP headers "
                          f"({capture.get('content_type') or 'no content type'})", file=sys.stderr)
                    return 1
                print(f"{http.protocol} {http.statusline}")
                for name, value in http.headers:
                    print(f"{name}: {value}")
            else:
                from crawler.extract.encoding import decode_html

                print(decode_html(index.read_payload(capture), capture.get("content_type")).text)
            return 0
        article = index.article(args.key, at=args.at)
        capture = _capture_of(index, args.key, args.at) if article is None else (
            index.capture(article["capture_id"]) if article.get("capture_id") else None)
        checks = [event for event in index.events(url=article["url"]) if event["kind"] != "blocked"] if article else []
    if article is None and capture is None:
        print(f"error: nothing archived for {args.key}", file=sys.stderr)
        return 1
    if article is None:
        # Archived, but not an article (a listing, a document): say what the capture is.
        for field in ("url", "status", "content_type", "fetched_at", "record_type"):
            print(f"{field}: {capture[field]}")
    else:
        for field in ("title", "url", "site", "channel", "published_at", "source", "author", "views", "fetched_at"):
            if article.get(field) is not None:
                print(f"{field}: {article[field]}")
        if checks:
            print(f"status: {checks[-1]['kind']} (re-checked {checks[-1]['detected_at']})")
    if capture is not None:
        print(f"warc: {capture['warc_file']} @ {capture['warc_offset']} ({capture['record_type']})")
        if capture.get("browser"):
            # Fetched for a browser (issue 19): the text above was read from the DOM it rendered.
            print(f"browser: {capture['browser']} (the rendered DOM is the conversion record referring to it)")
    if article is not None:
        print()
        print(article.get("body") or "")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    with _open(args) as index:
        rows = index.captures(args.url)
    if not rows:
        print(f"error: no capture of {args.url}", file=sys.stderr)
        return 1
    print("fetched_at            status  type      changed  digest                                   crawl  by")
    for row in rows:
        print(f"{row['fetched_at']:21} {row['status'] or '':>6}  {row['record_type']:8}  "
              f"{'yes' if row['changed'] else 'no':7}  {row['payload_digest'] or '':40} {row['crawl_id']:<6} "
              f"{'browser' if row.get('browser') else 'plain'}")
    return 0


CHANGES_COLUMNS = ("detected_at", "site", "kind", "url", "title", "detail", "capture_id", "previous_capture_id",
                   "article_id", "crawl_id")


def cmd_changes(args: argparse.Namespace) -> int:
    with _open(args) as index:
        rows = index.iter_events(site=args.site, since=args.since, until=args.until, kind=args.kind, url=args.url)
        if args.format == "table":
            widths = {"detected_at": 20, "site": 20, "kind": 15, "url": 60, "title": 30, "detail": 40}
            rows = list(rows)
            columns = ("detected_at", "site", "kind", "url", "title", "detail")
            sys.stdout.write("\n".join(_table(rows, columns, widths)) + "\n")
            print(f"({len(rows)} event{'s' if len(rows) != 1 else ''})", file=sys.stderr)
        else:
            _emit(rows, CHANGES_COLUMNS, args.format, sys.stdout)
    return 0


def _version_at(versions: list[dict], at: str | None) -> dict | None:
    """The latest version captured at or before ``at`` (the latest of all without ``at``)."""
    if at is None:
        return versions[-1] if versions else None
    from archive.index import parse_at

    moment = parse_at(at)
    earlier = [version for version in versions if (version["fetched_at"] or "") <= moment]
    return earlier[-1] if earlier else None


def cmd_diff(args: argparse.Namespace) -> int:
    from archive.textdiff import side_by_side, unified

    with _open(args) as index:
        versions = index.versions(args.url)
    if not versions:
        print(f"error: no article archived at {args.url}", file=sys.stderr)
        return 1
    new = _version_at(versions, args.to)
    if new is None:
        print(f"error: no version of {args.url} at or before {args.to}", file=sys.stderr)
        return 1
    old = _version_at(versions, args.from_) if args.from_ else (
        versions[versions.index(new) - 1] if versions.index(new) > 0 else None)
    if old is None:
        print(f"error: only one version of {args.url} archived before that (at {new['fetched_at']}); "
              "nothing to compare", file=sys.stderr)
        return 1

    def label(version: dict) -> str:
        return (f"{version['fetched_at']}  article {version['id']}  "
                f"{version.get('warc_file')} @ {version.get('warc_offset')}")

    print(f"{args.url}")
    for field in ("title", "published_at"):
        if (old.get(field) or "") != (new.get(field) or ""):
            print(f"{field}: {old.get(field)!s} -> {new.get(field)!s}")
    before, after = (old.get("body") or "").split("\n"), (new.get("body") or "").split("\n")
    if before == after:
        print(f"--- {label(old)}\n+++ {label(new)}\n(same text)")
        return 0
    if args.side_by_side:
        print(f"<<< {label(old)}\n>>> {label(new)}")
        lines = side_by_side(before, after, args.width)
    else:
        lines = unified(before, after, label(old), label(new), context=args.context)
    print("\n".join(lines))
    return 0


EXPORT_COLUMNS = ("id", "url", "site", "channel", "title", "published_at", "source", "author", "views", "body",
                  "capture_id")


def cmd_export(args: argparse.Namespace) -> int:
    with _open(args) as index:
        rows = index.iter_articles(site=args.site, channel=args.channel, since=args.since, until=args.until)
        if args.format == "parquet":
            if not args.output:
                print("error: parquet needs -o FILE", file=sys.stderr)
                return 2
            with open_output(args.output, _protected(args), args.force, binary=True) as out:
                count = _export_parquet(rows, out)
        elif args.output:
            with open_output(args.output, _protected(args), args.force) as out:
                count = _emit(rows, EXPORT_COLUMNS, args.format, out)
        else:
            count = _emit(rows, EXPORT_COLUMNS, args.format, sys.stdout)
    print(f"exported {count} articles", file=sys.stderr)
    return 0


def _export_parquet(rows: Iterator[dict], path: Path | IO[bytes], batch: int = 10_000) -> int:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        print("error: parquet export needs pyarrow: pip install 'portal-archiver[parquet]'", file=sys.stderr)
        raise SystemExit(2) from None
    schema = pa.schema([(name, pa.int64() if name in ("id", "views", "capture_id") else pa.string())
                        for name in EXPORT_COLUMNS])
    count = 0
    with pq.ParquetWriter(path, schema) as writer:
        chunk: list[dict] = []
        for row in rows:
            chunk.append({name: row.get(name) for name in EXPORT_COLUMNS})
            if len(chunk) >= batch:
                writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
                count += len(chunk)
                chunk = []
        if chunk:
            writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
            count += len(chunk)
    return count


def cmd_cdxj(args: argparse.Namespace) -> int:
    from archive.replay import ReplayError, write_cdxj

    with _open(args) as index:
        if args.output:
            try:
                with open_output(args.output, _protected(args), args.force) as out:
                    count = write_cdxj(index, out)
            except ReplayError:
                Path(args.output).unlink(missing_ok=True)  # ours, and empty: nothing was written
                raise
        else:
            count = write_cdxj(index, sys.stdout)
    print(f"{count} CDXJ lines", file=sys.stderr)
    return 0


def cmd_wacz(args: argparse.Namespace) -> int:
    from archive.replay import write_wacz

    output = check_output(args.output, _protected(args), args.force)
    with _open(args) as index:
        package = write_wacz(index, output)
    print(f"wrote {args.output}: {len(package['resources'])} resources", file=sys.stderr)
    return 0


def cmd_images(args: argparse.Namespace) -> int:
    from archive.article_images import save_images

    with _open(args) as index:
        article = index.article(args.key, at=args.at)
        if article is None:
            print(f"error: no article {args.key}", file=sys.stderr)
            return 1
        saved = save_images(index, article["id"], Path(args.output))
    for image, name in saved:
        print(f"{image['position']}\t{image['url']}\t{name or '(not archived)'}\t{image['capture_id'] or ''}")
    print(f"article {article['id']}: {sum(1 for _, name in saved if name)} of {len(saved)} images written to "
          f"{args.output}", file=sys.stderr)
    return 0 if all(name for _, name in saved) else 1


def cmd_pywb(args: argparse.Namespace) -> int:
    from archive.replay import write_pywb_collection

    collection = Path(args.collection)
    with _open(args) as index:
        count, files = write_pywb_collection(index, collection, copy=args.copy)
    print(f"pywb collection {collection}: {len(files)} WARC files, {count} index lines", file=sys.stderr)
    if collection.parent.name == "collections":
        print(f"serve it: cd {collection.parent.parent} && wayback  (then http://localhost:8080/{collection.name}/)",
              file=sys.stderr)
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    with _open(args) as index:
        stats = index.stats()
    print("articles by site:")
    for site, count in stats["by_site"]:
        print(f"  {site}: {count}")
    print("articles by channel:")
    for site, channel, count in stats["by_channel"]:
        print(f"  {site} / {channel}: {count}")
    print("articles by month of publication:")
    for site, month, count in stats["by_month"]:
        print(f"  {site} {month}: {count}")
    if stats["events"]:
        print("re-check events by site and month:")
        for site, month, kind, count in stats["events"]:
            print(f"  {site} {month} {kind}: {count}")
    print("crawls:")
    for crawl in stats["crawls"]:
        summary = (crawl["stats"] or {}).get("summary", {})
        print(f"  #{crawl['id']} {crawl['site']} {crawl['started_at']} -> {crawl['finished_at'] or '…'} "
              f"{crawl['status']}: {summary.get('pages', '?')} pages, {summary.get('articles_new', '?')} new articles, "
              f"{summary.get('revisits', '?')} revisits")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="portal-archive",
        description="Read, check and export a portal-archiver archive (WARC files + SQL index).",
    )
    _archive_args(parser, top=True)
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser(
        "verify",
        help="check WARC digests and that the index and the WARC files agree",
        description="Read every WARC record (digests checked) and cross-check the index. "
        "With FILE arguments, check just those WARC files. Exits 1 when anything is wrong.",
    )
    _archive_args(verify)
    verify.add_argument("--repair", action="store_true",
                        help="close abandoned .open files, index orphan records, drop dangling rows; then check again")
    verify.add_argument("--progress-every", type=float, default=10.0, metavar="SECONDS",
                        help="log progress (files, records, rate) this often (default: 10)")
    verify.add_argument("files", nargs="*", metavar="FILE", help="WARC files to check on their own")
    verify.set_defaults(run=cmd_verify)
    extract = commands.add_parser(
        "extract",
        help="extract the article from a saved HTML page and print it as JSON",
        description="Run the crawler's extraction on one saved page (raw bytes, any encoding) and print "
        "the item as UTF-8 JSON.",
    )
    extract.add_argument("file", metavar="FILE", help="saved HTML page, or - for standard input")
    extract.add_argument("--url", help="the page's URL (used for URL dates and absolute links)")
    extract.set_defaults(run=cmd_extract)
    search = commands.add_parser("search", help="full-text search of titles and bodies (Chinese, any length)")
    _archive_args(search)
    search.add_argument("query")
    _filters(search)
    search.add_argument("--limit", type=_limit, default=20)
    search.add_argument("--format", choices=("table", "csv", "jsonl"), default="table")
    search.set_defaults(run=cmd_search)

    show = commands.add_parser("show", help="an article's fields and text, or a capture's bytes")
    _archive_args(show)
    show.add_argument("key", metavar="ID|URL", help="article id or URL")
    show.add_argument("--at", type=_moment, help="the capture at or before this time (20200115, 2020-01-15T08:00:00Z)")
    mode = show.add_mutually_exclusive_group()
    mode.add_argument("--raw", action="store_true", help="the payload as served, content-decoded, to stdout")
    mode.add_argument("--headers", action="store_true", help="the HTTP status line and headers")
    mode.add_argument("--html", action="store_true", help="the page decoded to UTF-8")
    show.set_defaults(run=cmd_show)

    history = commands.add_parser("history", help="every capture of a URL, and whether its content changed")
    _archive_args(history)
    history.add_argument("url")
    history.set_defaults(run=cmd_history)

    changes = commands.add_parser(
        "changes", help="what re-checks found: edited, deleted, soft-deleted, redirected-away … articles",
        description="List article events (the article_events table): one per re-check of a known article.")
    _archive_args(changes)
    changes.add_argument("--site", help="only this site")
    changes.add_argument("--since", help="detected on or after (2026, 2026-11, 2026-11-29)")
    changes.add_argument("--until", help="detected on or before")
    changes.add_argument("--kind", action="append", choices=KINDS,
                         help="only events of this kind (repeat for several)")
    changes.add_argument("--url", help="only this article")
    changes.add_argument("--format", choices=("table", "csv", "jsonl"), default="table")
    changes.set_defaults(run=cmd_changes)

    diff = commands.add_parser(
        "diff", help="what changed between two archived versions of an article",
        description="A readable diff of two text versions of an article (title, published date, body); "
        "changed paragraphs are compared character by character: [-removed-] {+added+}. "
        "Default: the latest version against the one before it.")
    _archive_args(diff)
    diff.add_argument("url")
    diff.add_argument("--from", dest="from_", metavar="TS", type=_moment,
                      help="the version at or before this time (old side)")
    diff.add_argument("--to", metavar="TS", type=_moment,
                      help="the version at or before this time (new side; default latest)")
    diff.add_argument("--side-by-side", action="store_true", help="two columns instead of a unified diff")
    diff.add_argument("--width", type=int, default=120, help="total width for --side-by-side (default 120)")
    diff.add_argument("--context", type=int, default=1, help="unchanged paragraphs around each change (default 1)")
    diff.set_defaults(run=cmd_diff)

    export = commands.add_parser("export", help="stream articles to CSV, JSON lines or Parquet")
    _archive_args(export)
    _filters(export)
    export.add_argument("--format", choices=("csv", "jsonl", "parquet"), default="jsonl")
    export.add_argument("-o", "--output", help="file to write (default: standard output)")
    export.add_argument("--force", action="store_true", help="overwrite the output file if it exists")
    export.set_defaults(run=cmd_export)

    cdxj = commands.add_parser("cdxj", help="a CDXJ index of the WARC files, for pywb")
    _archive_args(cdxj)
    cdxj.add_argument("-o", "--output", help="file to write (default: standard output)")
    cdxj.add_argument("--force", action="store_true", help="overwrite the output file if it exists")
    cdxj.set_defaults(run=cmd_cdxj)

    wacz = commands.add_parser("wacz", help="package WARCs, index and pages as a WACZ 1.1.1 file")
    _archive_args(wacz)
    wacz.add_argument("-o", "--output", required=True)
    wacz.add_argument("--force", action="store_true", help="overwrite the output file if it exists")
    wacz.set_defaults(run=cmd_wacz)

    images = commands.add_parser("images", help="save an article's images (bytes as served) into a directory")
    _archive_args(images)
    images.add_argument("key", metavar="ID|URL", help="article id or URL (its latest version)")
    images.add_argument("--at", help="the article version at or before this time")
    images.add_argument("-o", "--output", required=True, metavar="DIR")
    images.set_defaults(run=cmd_images)

    pywb = commands.add_parser(
        "pywb", help="lay out a ready pywb collection (WARCs linked, index written)",
        description="Make COLLECTION_DIR a pywb collection: archive/ links the WARC files, indexes/index.cdxj "
        "is the replay index. Name it ROOT/collections/NAME and run `wayback` in ROOT.")
    _archive_args(pywb)
    pywb.add_argument("collection", metavar="COLLECTION_DIR")
    pywb.add_argument("--copy", action="store_true", help="copy the WARC files instead of symlinking them")
    pywb.set_defaults(run=cmd_pywb)

    stats = commands.add_parser("stats", help="articles by site, channel and month; crawl history")
    _archive_args(stats)
    stats.set_defaults(run=cmd_stats)

    db = commands.add_parser("db", help="manage the index schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_upgrade = db_commands.add_parser("upgrade", help="migrate the index to the current schema, in place")
    _archive_args(db_upgrade)
    db_upgrade.set_defaults(run=cmd_db_upgrade)
    return parser


def _replay_error() -> type[Exception]:
    from archive.replay import ReplayError  # missing or truncated WARC files behind cdxj/wacz/pywb

    return ReplayError


def _warc_read_error() -> type[Exception]:
    from archive.warc_reader import WarcReadError  # imports warcio: only on the error path

    return WarcReadError


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:
        return 0
    except (FileNotFoundError, IndexUnavailable, OutputRefused, _warc_read_error(), _replay_error()) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        print(f"error: the index: {db_problem(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
