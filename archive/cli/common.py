"""What every ``portal-archive`` command shares: the archive options, argument types that
refuse input which would match nothing, opening the archive, and the table/CSV/JSON writers."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

from archive.models import index_url_for
from archive.outputs import archive_files

if TYPE_CHECKING:
    from archive.index import Index


def archive_options(parser: argparse.ArgumentParser, top: bool = False) -> None:
    """The archive options, accepted before the subcommand (``top``) and after it; after it
    they default to SUPPRESS, so they never overwrite what was given before."""
    defaults = {"archive": "data", "index": None, "warc_dir": None} if top else dict.fromkeys(
        ("archive", "index", "warc_dir"), argparse.SUPPRESS)
    parser.add_argument("--archive", default=defaults["archive"], help="archive directory (default: ./data)")
    parser.add_argument("--index", default=defaults["index"],
                        help="SQLAlchemy URL of the index (default: sqlite:///ARCHIVE/index.sqlite)")
    parser.add_argument("--warc-dir", default=defaults["warc_dir"],
                        help="directory of the WARC files (default: ARCHIVE/warc)")


def index_url_of(args: argparse.Namespace) -> str:
    return args.index or index_url_for(Path(args.archive))


def protected_files(args: argparse.Namespace) -> tuple[set[Path], set[Path]]:
    """The archive's own files, which ``-o`` must never write over."""
    warc_dir = Path(args.warc_dir) if args.warc_dir else Path(args.archive) / "warc"
    return archive_files(index_url_of(args), warc_dir)


def limit_type(value: str) -> int:
    """``--limit``: a whole number the database can take."""
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 1_000_000_000:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number from 1 to 1000000000")
    return int(value)


def moment_type(value: str) -> str:
    """``--at``: checked when parsed, so a malformed moment never means "the latest"."""
    from archive.index import crawl_ref, parse_at

    if crawl_ref(value) is not None:
        return value.strip()
    try:
        parse_at(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc}, or crawl:N") from None
    return value


def date_type(value: str) -> str:
    """``--since``/``--until``: a year, month or day (``2020``, ``2020-01``, ``2020-01-15``; also
    ``202001``, ``20200115``), as the prefix the index compares with. Anything else is refused:
    ``yesterday`` or ``2020-13`` once matched nothing, in silence."""
    import re
    from datetime import date

    text = value.strip()
    match = re.fullmatch(r"(\d{4})(?:-?(\d{2})(?:-?(\d{2}))?)?", text, re.ASCII)
    try:
        if match is None:
            raise ValueError
        year, month, day = match.groups()
        date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {value!r} (use 2020, 2020-01 or 2020-01-15)") from None
    return "-".join(part for part in (year, month, day) if part)


def query_type(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("the query is empty: give a word or phrase to search for")
    return value


def unknown_site(index: Index, site: str | None) -> str | None:
    """An error line when ``--site`` names no site of this archive (it would match nothing)."""
    if not site:
        return None
    sites = index.sites()
    if site in sites:
        return None
    shown = ", ".join(sites[:30]) + (f" … ({len(sites)} in all)" if len(sites) > 30 else "")
    return f"no site {site!r} in this archive; its sites: {shown or '(none yet)'}"


def unknown_crawl(index: Index, *moments: str | None) -> str | None:
    """An error line when a ``crawl:N`` moment names no crawl of this archive."""
    from archive.index import crawl_ref

    numbers = [number for moment in moments if moment and (number := crawl_ref(moment)) is not None]
    if not numbers:
        return None
    ids = index.crawl_ids()
    missing = [number for number in numbers if number not in ids]
    if not missing:
        return None
    known = f"crawls {ids[0]} to {ids[-1]}" if len(ids) > 1 else (f"crawl {ids[0]}" if ids else "no crawl yet")
    return f"no crawl {missing[0]} in this archive ({known})"


def not_a_key(key: str) -> str | None:
    """An error line when ``key`` can be neither an article id nor a URL (exit 2, not "not found")."""
    from archive.index import row_id

    number = row_id(key)
    if number == -1:
        return f"nothing archived for {key}: not a possible article id (too large)"
    if number is None and "://" not in key:
        return f"nothing archived for {key!r}: not an article id (a number) nor a URL (http://…)"
    return None


def first_capture(index: Index, url: str, at: str) -> str:
    """Why nothing was found for ``url`` at ``at``: when its first capture was, if it has one."""
    from archive.index import describe_at

    rows = index.captures(url)
    if not rows:
        return f"nothing archived for {url}"
    return (f"nothing archived for {url} {describe_at(at)}: its first capture is {rows[0]['fetched_at']} "
            f"(crawl {rows[0]['crawl_id']})")


def open_archive(args: argparse.Namespace) -> Index:
    from archive.index import Index

    warc_dir = Path(args.warc_dir) if args.warc_dir else Path(args.archive) / "warc"
    if args.index:
        return Index.open(args.index, warc_dir)
    return Index.open(args.archive, warc_dir)


def add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--site", help="only this site")
    parser.add_argument("--channel", help="only this channel")
    parser.add_argument("--since", type=date_type, help="published on or after (2020, 2020-01, 2020-01-15)")
    parser.add_argument("--until", type=date_type, help="published on or before")


def table_lines(rows: list[dict], columns: tuple[str, ...], widths: dict[str, int]) -> list[str]:
    def cell(value: object, width: int) -> str:
        text = "" if value is None else str(value).replace("\n", " ")
        return text if len(text) <= width else text[: width - 1] + "…"

    lines = ["  ".join(column for column in columns)]
    for row in rows:
        lines.append("  ".join(cell(row.get(column), widths.get(column, 30)) for column in columns))
    return lines


def emit_rows(rows: list[dict] | Iterator[dict], columns: tuple[str, ...], fmt: str, out: IO[str]) -> int:
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
        widths = {"id": 6, "url": 50, "title": 30, "published_at": 22, "snippet": 50, "found_in": 10,
                  "attachment_id": 6, "attachment_url": 50, "attachment_title": 30, "attachment_kind": 6}
        out.write("\n".join(table_lines(rows, columns, widths)) + "\n")
        count = len(rows)
    return count


def error(message: str, status: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return status
