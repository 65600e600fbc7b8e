"""``portal-archive``: the researcher's command line over an archive directory.

An archive is ``DIR/warc/*.warc.gz`` plus an index (``DIR/index.sqlite`` unless ``--index``
names another database).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from archive.models import index_url_for, open_index, schema_revision, upgrade
from archive.recovery import drop_dangling, recover, reindex
from archive.verify import check_files, verify_archive


def _archive_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--archive", default="data", help="archive directory (default: ./data)")
    parser.add_argument("--index", help="SQLAlchemy URL of the index (default: sqlite:///ARCHIVE/index.sqlite)")
    parser.add_argument("--warc-dir", help="directory of the WARC files (default: ARCHIVE/warc)")


def cmd_verify(args: argparse.Namespace) -> int:
    if args.files:
        report, _ = check_files([Path(name) for name in args.files])
    else:
        archive = Path(args.archive)
        index_url = args.index or index_url_for(archive)
        warc_dir = Path(args.warc_dir) if args.warc_dir else archive / "warc"
        if not warc_dir.is_dir():
            print(f"error: no WARC directory at {warc_dir}", file=sys.stderr)
            return 2
        engine = open_index(index_url, create=False)
        try:
            report = verify_archive(warc_dir, engine)
            if args.repair and not report.ok:
                # Close abandoned files first: their rows only look dangling while they are .open.
                fixed = recover(engine, warc_dir)
                report = verify_archive(warc_dir, engine)
                drop_dangling(engine, report.dangling_ids, fixed)
                reindex(engine, [warc_dir / name for name in sorted(report.orphan_files)], fixed)
                for line in fixed.lines():
                    print(f"repair: {line}")
                report = verify_archive(warc_dir, engine)
        finally:
            engine.dispose()
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1


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
    for unset in ("site", "warc_record_id"):
        data.pop(unset, None)
    print(json.dumps(data, ensure_ascii=False, indent=2))
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    engine = open_index(_index_url(args), create=False)
    before = schema_revision(engine)
    upgrade(engine)
    print(f"index schema: {before or 'empty'} -> {schema_revision(engine)}")
    engine.dispose()
    return 0


def _index_url(args: argparse.Namespace) -> str:
    return args.index or index_url_for(Path(args.archive))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="portal-archive",
        description="Read, check and export a portal-archiver archive (WARC files + SQL index).",
    )
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
    db = commands.add_parser("db", help="manage the index schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_upgrade = db_commands.add_parser("upgrade", help="migrate the index to the current schema, in place")
    _archive_args(db_upgrade)
    db_upgrade.set_defaults(run=cmd_db_upgrade)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
