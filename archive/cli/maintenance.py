"""Looking after the archive: verify (and repair), the index schema, extraction of a saved page."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from archive.access import open_existing_index
from archive.cli.common import (
    archive_options,
    index_url_of,
)
from archive.models import index_url_for


def cmd_verify(args: argparse.Namespace) -> int:
    from archive.recovery import cut_incomplete_tails, drop_dangling, live_writers, recover, reindex
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
                cut_incomplete_tails(warc_dir, report.cut_off_files, fixed)
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

    engine = open_index(index_url_of(args), create=False)
    before = schema_revision(engine)
    upgrade(engine)
    after = schema_revision(engine)
    engine.dispose()
    if before == after:
        print(f"index schema already at {after}: nothing to do")
    else:
        print(f"index schema: {before or 'empty'} -> {after}")
    return 0


def add_commands(commands) -> None:
    """This group's subcommands, added to ``commands`` (what the top parser's ``add_subparsers`` returned)."""
    verify = commands.add_parser(
        "verify",
        help="check WARC digests and that the index and the WARC files agree",
        description="Read every WARC record (digests checked) and cross-check the index. "
        "With FILE arguments, check just those WARC files. Exits 1 when anything is wrong.",
    )
    archive_options(verify)
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

    db = commands.add_parser("db", help="manage the index schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_upgrade = db_commands.add_parser("upgrade", help="migrate the index to the current schema, in place")
    archive_options(db_upgrade)
    db_upgrade.set_defaults(run=cmd_db_upgrade)
