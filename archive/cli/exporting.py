"""Taking data out: articles to CSV, JSON lines or Parquet; CDXJ, WACZ and pywb collections
for replay."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import IO, TYPE_CHECKING

from archive.cli.common import (
    add_filters,
    archive_options,
    emit_rows,
    error,
    open_archive,
    protected_files,
    unknown_site,
)
from archive.outputs import check_output, open_output

if TYPE_CHECKING:
    from archive.index import Index


EXPORT_COLUMNS = ("id", "url", "site", "channel", "title", "published_at", "source", "author", "views", "body",
                  "capture_id")


def cmd_export(args: argparse.Namespace) -> int:
    with open_archive(args) as index:
        if problem := unknown_site(index, args.site):
            return error(problem, 2)
        if args.format == "parquet" and not args.output:
            return error("parquet needs -o FILE", 2)
        # The stream is closed before the index, also when the reader of stdout has gone.
        with closing(index.iter_articles(site=args.site, channel=args.channel, since=args.since,
                                         until=args.until)) as articles:
            rows, columns = articles, EXPORT_COLUMNS
            if args.attachments:
                rows, columns = _with_attachment_text(index, articles), EXPORT_COLUMNS + ("attachment_text",)
            if args.format == "parquet":
                with open_output(args.output, protected_files(args), args.force, binary=True) as out:
                    count = _export_parquet(rows, out, columns=columns)
            elif args.output:
                with open_output(args.output, protected_files(args), args.force) as out:
                    count = emit_rows(rows, columns, args.format, out)
            else:
                count = emit_rows(rows, columns, args.format, sys.stdout)
    print(f"exported {count} articles", file=sys.stderr)
    return 0


def _with_attachment_text(index: Index, rows: Iterator[dict]) -> Iterator[dict]:
    """Each article with ``attachment_text``: its attachments' texts, each under a
    ``== link text (URL) ==`` line (NULL when it has none with text)."""
    for row in rows:
        parts = [f"== {link['title'] or link['url']} ({link['url']}) ==\n{link['text']}"
                 for link in index.attachments(row["id"]) if link["text"]]
        yield {**row, "attachment_text": "\n".join(parts) or None}


def _export_parquet(rows: Iterator[dict], path: Path | IO[bytes], batch: int = 10_000,
                    columns: tuple[str, ...] = EXPORT_COLUMNS) -> int:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        print("error: parquet export needs pyarrow: pip install 'portal-archiver[parquet]'", file=sys.stderr)
        raise SystemExit(2) from None
    schema = pa.schema([(name, pa.int64() if name in ("id", "views", "capture_id") else pa.string())
                        for name in columns])
    count = 0
    with pq.ParquetWriter(path, schema) as writer:
        chunk: list[dict] = []
        for row in rows:
            chunk.append({name: row.get(name) for name in columns})
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

    with open_archive(args) as index:
        if args.output:
            try:
                with open_output(args.output, protected_files(args), args.force) as out:
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

    output = check_output(args.output, protected_files(args), args.force)
    with open_archive(args) as index:
        package = write_wacz(index, output)
    print(f"wrote {args.output}: {len(package['resources'])} resources", file=sys.stderr)
    return 0


def cmd_pywb(args: argparse.Namespace) -> int:
    from archive.replay import write_pywb_collection

    collection = Path(args.collection)
    with open_archive(args) as index:
        count, files = write_pywb_collection(index, collection, copy=args.copy)
    print(f"pywb collection {collection}: {len(files)} WARC files, {count} index lines", file=sys.stderr)
    if collection.parent.name == "collections":
        command, missing = _wayback()
        print(f"serve it: cd {collection.parent.parent} && {command}  (then http://localhost:8080/{collection.name}/)",
              file=sys.stderr)
        if missing:
            print(missing, file=sys.stderr)
    return 0


def _wayback() -> tuple[str, str | None]:
    """How to run pywb's ``wayback`` here, and how to get it when it is missing: pywb is not a
    dependency of this package (it pins redis<3, which scrapy-redis cannot share)."""
    import shutil

    if shutil.which("wayback"):
        return "wayback", None
    beside = Path(__file__).resolve().parents[2] / ".venv-pywb" / "bin" / "wayback"  # scripts/replay-tools
    if beside.exists():
        return str(beside), None
    return "wayback", ("`wayback` is pywb's server, not installed here: in the repository, `bash scripts/replay-tools` "
                       "installs pywb into .venv-pywb/ (run .venv-pywb/bin/wayback); elsewhere `pipx install pywb` "
                       "(pywb pins redis<3: keep it out of this environment)")


def add_commands(commands) -> None:
    """This group's subcommands, added to ``commands`` (what the top parser's ``add_subparsers`` returned)."""
    export = commands.add_parser("export", help="stream articles to CSV, JSON lines or Parquet")
    archive_options(export)
    add_filters(export)
    export.add_argument("--format", choices=("csv", "jsonl", "parquet"), default="jsonl")
    export.add_argument("-o", "--output", help="file to write (default: standard output)")
    export.add_argument("--force", action="store_true", help="overwrite the output file if it exists")
    export.add_argument("--attachments", action="store_true",
                        help="add attachment_text: the text of each article's attachments (PDF, DOC, XLS, OFD ...)")
    export.set_defaults(run=cmd_export)

    cdxj = commands.add_parser("cdxj", help="a CDXJ index of the WARC files, for pywb")
    archive_options(cdxj)
    cdxj.add_argument("-o", "--output", help="file to write (default: standard output)")
    cdxj.add_argument("--force", action="store_true", help="overwrite the output file if it exists")
    cdxj.set_defaults(run=cmd_cdxj)

    wacz = commands.add_parser("wacz", help="package WARCs, index and pages as a WACZ 1.1.1 file")
    archive_options(wacz)
    wacz.add_argument("-o", "--output", required=True)
    wacz.add_argument("--force", action="store_true", help="overwrite the output file if it exists")
    wacz.set_defaults(run=cmd_wacz)

    pywb = commands.add_parser(
        "pywb", help="lay out a ready pywb collection (WARCs linked, index written)",
        description="Make COLLECTION_DIR a pywb collection: archive/ links the WARC files, indexes/index.cdxj "
        "is the replay index. Name it ROOT/collections/NAME and run `wayback` in ROOT.")
    archive_options(pywb)
    pywb.add_argument("collection", metavar="COLLECTION_DIR")
    pywb.add_argument("--copy", action="store_true", help="copy the WARC files instead of symlinking them")
    pywb.set_defaults(run=cmd_pywb)
