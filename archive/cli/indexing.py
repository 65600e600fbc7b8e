"""Filling the index from WARC files: ``import`` (other tools' collections) and ``reindex``
(today's extraction over the archive's own captures)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from archive.access import IndexUnavailable, open_existing_index
from archive.cli.common import archive_options, date_type, error, index_url_of, limit_type, log_progress


def cmd_import(args: argparse.Namespace) -> int:
    """Index WARC/WACZ files other tools wrote (archive/importer.py)."""
    from archive.importer import Importer, find_sources
    from archive.models import open_index

    log_progress()
    archive = Path(args.archive)
    warc_dir = Path(args.warc_dir) if args.warc_dir else archive / "warc"
    if not args.index:
        archive.mkdir(parents=True, exist_ok=True)
    sources, problems = find_sources([Path(name) for name in args.paths])
    for line in problems:
        print(f"error: {line}", file=sys.stderr)
    engine = open_index(index_url_of(args))
    try:
        report = Importer(engine, warc_dir, site=args.site, copy=args.copy, jobs=args.jobs,
                          batch_size=args.batch, progress_every=args.progress_every).run(sources)
    finally:
        engine.dispose()
    for line in report.errors:
        print(f"error: {line}", file=sys.stderr)
    for line in report.skipped:
        print(f"skipped: {line}", file=sys.stderr)
    for line in report.lines():
        print(line)
    return 1 if problems or report.errors else 0


def cmd_reindex(args: argparse.Namespace) -> int:
    """Today's extraction over the archive's own captures (archive/reindex.py)."""
    from archive.reindex import Reindexer

    log_progress()
    warc_dir = Path(args.warc_dir) if args.warc_dir else Path(args.archive) / "warc"
    try:
        open_existing_index(index_url_of(args)).dispose()  # read-only first: a missing index is not made
        engine = open_existing_index(index_url_of(args), readonly=False)
    except IndexUnavailable as exc:
        return error(str(exc), 1)
    try:
        reindexer = Reindexer(engine, warc_dir, jobs=args.jobs)
        for one in reindexer.run(site=args.site, since=args.since):
            print(f"changed {one.id} {one.url}: {', '.join(one.fields)}")
    finally:
        engine.dispose()
    for line in reindexer.report.lines():
        print(line)
    return 0


def add_commands(commands) -> None:
    """This group's subcommands, added to ``commands`` (what the top parser's ``add_subparsers`` returned)."""
    imports = commands.add_parser(
        "import", help="index WARC, WARC.gz and WACZ files written by any tool (wget, Heritrix, Browsertrix ...)",
        description="Index the captures, articles and sites of WARC files other tools wrote, reading each record "
        "where it is (or a copy in the archive's warc/ with --copy). Directories are searched for *.warc, "
        "*.warc.gz and *.wacz. A file imported before is skipped; a killed import resumes. Exits 1 when a file "
        "could not be read (one error line each; the others are imported).")
    archive_options(imports)
    imports.add_argument("paths", nargs="+", metavar="FILE|DIR", help="WARC, WARC.gz or WACZ files, or directories")
    imports.add_argument("--copy", action="store_true", help="copy each WARC into the archive's warc/ directory")
    imports.add_argument("--site", help="put every article in this site (default: the host of its URL)")
    imports.add_argument("-j", "--jobs", type=limit_type, default=1, metavar="N",
                         help="extract pages in N worker processes (default: 1, in this process)")
    imports.add_argument("--batch", type=limit_type, default=500, metavar="N",
                         help="captures per transaction (default: 500)")
    imports.add_argument("--progress-every", type=float, default=10.0, metavar="SECONDS",
                         help="log progress this often (default: 10)")
    imports.set_defaults(run=cmd_import)

    reindex = commands.add_parser(
        "reindex", help="run today's extraction again on the archive's own captures",
        description="Read each article's capture from its WARC record again, extract it as the crawl does today "
        "and update the row and its search entry. A field changed this way is not an edit of the portal's page: "
        "no article event is written. Prints each changed article with its changed fields, then a summary.")
    archive_options(reindex)
    reindex.add_argument("--site", help="only this site's articles")
    reindex.add_argument("--since", type=date_type,
                         help="only captures fetched on or after (2026, 2026-11, 2026-11-29)")
    reindex.add_argument("-j", "--jobs", type=limit_type, default=1, metavar="N",
                         help="extract pages in N worker processes (default: 1, in this process)")
    reindex.set_defaults(run=cmd_reindex)
