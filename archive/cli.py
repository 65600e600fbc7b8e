"""``portal-archive``: the researcher's command line over an archive directory.

An archive is ``DIR/warc/*.warc.gz`` plus an index (``DIR/index.sqlite`` unless ``--index``
names another database).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import IO, TYPE_CHECKING, ClassVar

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

    engine = open_index(_index_url(args), create=False)
    before = schema_revision(engine)
    upgrade(engine)
    after = schema_revision(engine)
    engine.dispose()
    if before == after:
        print(f"index schema already at {after}: nothing to do")
    else:
        print(f"index schema: {before or 'empty'} -> {after}")
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
    from archive.index import crawl_ref, parse_at

    if crawl_ref(value) is not None:
        return value.strip()
    try:
        parse_at(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc}, or crawl:N") from None
    return value


def _date(value: str) -> str:
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


def _query(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("the query is empty: give a word or phrase to search for")
    return value


def _known_site(index: Index, site: str | None) -> str | None:
    """An error line when ``--site`` names no site of this archive (it would match nothing)."""
    if not site:
        return None
    sites = index.sites()
    if site in sites:
        return None
    shown = ", ".join(sites[:30]) + (f" … ({len(sites)} in all)" if len(sites) > 30 else "")
    return f"no site {site!r} in this archive; its sites: {shown or '(none yet)'}"


def _known_crawls(index: Index, *moments: str | None) -> str | None:
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


def _not_a_key(key: str) -> str | None:
    """An error line when ``key`` can be neither an article id nor a URL (exit 2, not "not found")."""
    from archive.index import row_id

    number = row_id(key)
    if number == -1:
        return f"nothing archived for {key}: not a possible article id (too large)"
    if number is None and "://" not in key:
        return f"nothing archived for {key!r}: not an article id (a number) nor a URL (http://…)"
    return None


def _first_capture(index: Index, url: str, at: str) -> str:
    """Why nothing was found for ``url`` at ``at``: when its first capture was, if it has one."""
    from archive.index import describe_at

    rows = index.captures(url)
    if not rows:
        return f"nothing archived for {url}"
    return (f"nothing archived for {url} {describe_at(at)}: its first capture is {rows[0]['fetched_at']} "
            f"(crawl {rows[0]['crawl_id']})")


def _open(args: argparse.Namespace) -> Index:
    from archive.index import Index

    warc_dir = Path(args.warc_dir) if args.warc_dir else Path(args.archive) / "warc"
    if args.index:
        return Index.open(args.index, warc_dir)
    return Index.open(args.archive, warc_dir)


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--site", help="only this site")
    parser.add_argument("--channel", help="only this channel")
    parser.add_argument("--since", type=_date, help="published on or after (2020, 2020-01, 2020-01-15)")
    parser.add_argument("--until", type=_date, help="published on or before")


SEARCH_COLUMNS = ("id", "url", "title", "published_at", "source", "site", "channel", "snippet")
# With --in attachments|all: where the phrase was found, and the attachment (archive/attachments.py).
ATTACHMENT_HIT_COLUMNS = ("found_in", "attachment_id", "attachment_url", "attachment_title", "attachment_kind")


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
        widths = {"id": 6, "url": 50, "title": 30, "published_at": 22, "snippet": 50, "found_in": 10,
                  "attachment_id": 6, "attachment_url": 50, "attachment_title": 30, "attachment_kind": 6}
        out.write("\n".join(_table(rows, columns, widths)) + "\n")
        count = len(rows)
    return count


def cmd_search(args: argparse.Namespace) -> int:
    with _open(args) as index:
        if problem := _known_site(index, args.site):
            return _error(problem, 2)
        rows = index.search(args.query, site=args.site, channel=args.channel, since=args.since, until=args.until,
                            limit=args.limit, within=args.within)
    columns = SEARCH_COLUMNS if args.within == "articles" else SEARCH_COLUMNS + ATTACHMENT_HIT_COLUMNS
    _emit(rows, columns, args.format, sys.stdout)
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


def _error(message: str, status: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return status


def cmd_show(args: argparse.Namespace) -> int:
    if problem := _not_a_key(args.key):
        return _error(problem, 2)
    with _open(args) as index:
        if problem := _known_crawls(index, args.at):
            return _error(problem, 2)
        if args.raw or args.headers or args.html:
            capture = _capture_of(index, args.key, args.at)
            if capture is None:
                return _error(_nothing_for(index, args.key, args.at), 1)
            if args.raw:
                sys.stdout.buffer.write(index.read_payload(capture))
            elif args.headers:
                record = index.record(capture)
                http = record.http_headers
                if http is None:
                    return _error(f"{args.key} is a {record.rec_type} record without HTTP headers "
                                  f"({capture.get('content_type') or 'no content type'})", 1)
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
        files = index.attachments(article["id"]) if article else []
        if article is None and capture is None:
            return _error(_nothing_for(index, args.key, args.at), 1)
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
    for line in _attachment_lines(files):
        print(line)
    if article is not None:
        print()
        print(article.get("body") or "")
    return 0


def _attachment_lines(files: list[dict]) -> list[str]:
    """``show``'s attachment list: one line per link (portal-archive attachments ID for more)."""
    if not files:
        return []
    lines = [f"attachments: {len(files)} (portal-archive attachments ID -o DIR saves them)"]
    for link in files:
        if link["attachment_id"] is None:
            state = "not read"
        else:
            state = ", ".join(part for part in (
                link["kind"], link["status"], f"{link['pages']} pages" if link["pages"] else None,
                f"{len(link['text'] or '')} chars", f"attachment {link['attachment_id']}",
                f"newer version {link['latest_id']}" if link["latest_id"] != link["attachment_id"] else None) if part)
        lines.append(f"  {link['position']}. {link['title'] or '(no link text)'}  {link['url']}  [{state}]")
    return lines


def _nothing_for(index: Index, key: str, at: str | None) -> str:
    """Why ``show`` found nothing: a URL asked for before its first capture says when that was."""
    if at and "://" in key:
        return _first_capture(index, key, at)
    return f"nothing archived for {key}"


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
        if problem := _known_site(index, args.site):
            return _error(problem, 2)
        # The stream is closed before the index, also when the reader of stdout has gone.
        with closing(index.iter_events(site=args.site, since=args.since, until=args.until, kind=args.kind,
                                       url=args.url)) as stream:
            if args.format == "table":
                widths = {"detected_at": 20, "site": 20, "kind": 15, "url": 60, "title": 30, "detail": 40}
                rows = list(stream)
                columns = ("detected_at", "site", "kind", "url", "title", "detail")
                sys.stdout.write("\n".join(_table(rows, columns, widths)) + "\n")
                print(f"({len(rows)} event{'s' if len(rows) != 1 else ''})", file=sys.stderr)
            else:
                _emit(stream, CHANGES_COLUMNS, args.format, sys.stdout)
    return 0


def _version_at(versions: list[dict], at: str | None) -> dict | None:
    """The latest version captured at or before ``at`` (the latest of all without ``at``)."""
    if at is None:
        return versions[-1] if versions else None
    from archive.index import row_at_or_before

    earlier = [version for version in versions if row_at_or_before(version, at)]
    return earlier[-1] if earlier else None


def cmd_diff(args: argparse.Namespace) -> int:
    from archive.index import describe_at
    from archive.textdiff import side_by_side, unified

    with _open(args) as index:
        if problem := _known_crawls(index, args.from_, args.to):
            return _error(problem, 2)
        versions = index.versions(args.url)
    if not versions:
        return _error(f"no article archived at {args.url}", 1)
    first = f"its first version is from {versions[0]['fetched_at']} (crawl {versions[0]['crawl_id']})"
    new = _version_at(versions, args.to)
    if new is None:
        return _error(f"no version of {args.url} {describe_at(args.to)}: {first}", 1)
    if args.from_:
        old = _version_at(versions, args.from_)
        if old is None:
            return _error(f"no version of {args.url} {describe_at(args.from_)}: {first}", 1)
    else:
        old = versions[versions.index(new) - 1] if versions.index(new) > 0 else None
        if old is None:
            return _error(f"only one version of {args.url} archived {'by then ' if args.to else ''}"
                          f"(at {new['fetched_at']}); nothing to compare", 1)

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
        if problem := _known_site(index, args.site):
            return _error(problem, 2)
        if args.format == "parquet" and not args.output:
            return _error("parquet needs -o FILE", 2)
        # The stream is closed before the index, also when the reader of stdout has gone.
        with closing(index.iter_articles(site=args.site, channel=args.channel, since=args.since,
                                         until=args.until)) as articles:
            rows, columns = articles, EXPORT_COLUMNS
            if args.attachments:
                rows, columns = _with_attachment_text(index, articles), EXPORT_COLUMNS + ("attachment_text",)
            if args.format == "parquet":
                with open_output(args.output, _protected(args), args.force, binary=True) as out:
                    count = _export_parquet(rows, out, columns=columns)
            elif args.output:
                with open_output(args.output, _protected(args), args.force) as out:
                    count = _emit(rows, columns, args.format, out)
            else:
                count = _emit(rows, columns, args.format, sys.stdout)
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


def _article_of(index: Index, args: argparse.Namespace) -> tuple[dict | None, int]:
    """The article ``args.key`` names (at ``args.at``), or None and the exit status after its error line."""
    if problem := _known_crawls(index, args.at):
        return None, _error(problem, 2)
    article = index.article(args.key, at=args.at)
    if article is None:
        return None, _error(f"no article {args.key}", 1)
    return article, 0


def cmd_images(args: argparse.Namespace) -> int:
    from archive.article_images import save_images

    if problem := _not_a_key(args.key):
        return _error(problem, 2)
    with _open(args) as index:
        article, status = _article_of(index, args)
        if article is None:
            return status
        saved = save_images(index, article["id"], Path(args.output), _protected(args), args.force)
    print("position\turl\tfile\tbytes\tcapture_id")
    for image in saved:
        print(f"{image.position}\t{image.url}\t{image.file or '(not archived)'}\t{image.size}\t"
              f"{image.capture_id or ''}")
    written = sum(1 for image in saved if image.file)
    print(f"article {article['id']}: {written} of {len(saved)} images written to {args.output}", file=sys.stderr)
    return 0 if written == len(saved) else 1


def cmd_attachments(args: argparse.Namespace) -> int:
    if problem := _not_a_key(args.key):
        return _error(problem, 2)
    with _open(args) as index:
        article, status = _article_of(index, args)
        if article is None:
            return status
        if args.output:
            saved = index.save_attachments(article["id"], Path(args.output), force=args.force)
        else:
            saved = [(link, None) for link in index.attachments(article["id"])]
    print("position\tlink text\turl\tkind\tstatus\tpages\tchars\tattachment\tfile")
    for link, name in saved:
        print("\t".join(str(value) if value is not None else "" for value in (
            link["position"], link["title"], link["url"], link["kind"], link["status"], link["pages"],
            len(link["text"] or "") if link["attachment_id"] else None, link["attachment_id"], name)))
    if args.output:
        written = sum(1 for _, name in saved if name)
        print(f"article {article['id']}: {written} of {len(saved)} attachments written to {args.output}",
              file=sys.stderr)
        return 0 if written == len(saved) else 1
    return 0


def cmd_pywb(args: argparse.Namespace) -> int:
    from archive.replay import write_pywb_collection

    collection = Path(args.collection)
    with _open(args) as index:
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
    beside = Path(__file__).resolve().parent.parent / ".venv-pywb" / "bin" / "wayback"  # scripts/replay-tools
    if beside.exists():
        return str(beside), None
    return "wayback", ("`wayback` is pywb's server, not installed here: in the repository, `bash scripts/replay-tools` "
                       "installs pywb into .venv-pywb/ (run .venv-pywb/bin/wayback); elsewhere `pipx install pywb` "
                       "(pywb pins redis<3: keep it out of this environment)")


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


class _Parser(argparse.ArgumentParser):
    """Keeps every long option name of every command (``_misspelt_option``)."""

    options: ClassVar[set[str]] = set()

    def add_argument(self, *names: str, **kwargs):  # type: ignore[override]
        _Parser.options.update(name for name in names if name.startswith("--"))
        return super().add_argument(*names, **kwargs)

    def add_mutually_exclusive_group(self, **kwargs):  # type: ignore[override]
        group = super().add_mutually_exclusive_group(**kwargs)
        add = group.add_argument

        def add_argument(*names: str, **options):
            _Parser.options.update(name for name in names if name.startswith("--"))
            return add(*names, **options)

        group.add_argument = add_argument  # type: ignore[method-assign]
        return group


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
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
    search.add_argument("query", type=_query)
    _filters(search)
    search.add_argument("--limit", type=_limit, default=20)
    search.add_argument("--format", choices=("table", "csv", "jsonl"), default="table")
    search.add_argument("--in", dest="within", choices=("articles", "attachments", "all"), default="articles",
                        help="search article titles and bodies (default), the text of their attachments, or both")
    search.set_defaults(run=cmd_search)

    show = commands.add_parser("show", help="an article's fields and text, or a capture's bytes")
    _archive_args(show)
    show.add_argument("key", metavar="ID|URL", help="article id or URL")
    show.add_argument("--at", type=_moment, help="the capture at or before this time (20200115, "
                      "2020-01-15T08:00:00Z), or as of crawl N (crawl:N)")
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
    changes.add_argument("--since", type=_date, help="detected on or after (2026, 2026-11, 2026-11-29)")
    changes.add_argument("--until", type=_date, help="detected on or before")
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
                      help="the version at or before this time, or as of crawl N (crawl:N) (old side)")
    diff.add_argument("--to", metavar="TS", type=_moment,
                      help="the version at or before this time, or crawl:N (new side; default latest)")
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
    export.add_argument("--attachments", action="store_true",
                        help="add attachment_text: the text of each article's attachments (PDF, DOC, XLS, OFD ...)")
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
    images.add_argument("--at", type=_moment, help="the article version at or before this time (or crawl:N)")
    images.add_argument("-o", "--output", required=True, metavar="DIR",
                        help="directory to write into (made if missing; existing files are never replaced)")
    images.add_argument("--force", action="store_true", help="replace files of the same name in DIR")
    images.set_defaults(run=cmd_images)

    files = commands.add_parser(
        "attachments", help="an article's attachments (type, status, text size); -o DIR saves them as served",
        description="List the files an article links (PDF, OFD, DOC/DOCX/WPS, XLS/XLSX, ZIP ...) with what "
        "their text extraction found; with -o DIR, write each one's bytes as served into DIR as NN-name.ext "
        "(never over an existing file without --force, never into the archive's own files).")
    _archive_args(files)
    files.add_argument("key", metavar="ID|URL", help="article id or URL (its latest version)")
    files.add_argument("--at", type=_moment, help="the article version at or before this time (or crawl:N)")
    files.add_argument("-o", "--output", metavar="DIR", help="directory to save the files into (made if missing)")
    files.add_argument("--force", action="store_true", help="overwrite files of the same name in DIR")
    files.set_defaults(run=cmd_attachments)

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


def _misspelt_option(argv: list[str]) -> str | None:
    """An option no command has (``--archvie``), named with the one it likely meant; argparse
    would take its value for the subcommand and say ``invalid choice: 'x'``."""
    import difflib

    known = _Parser.options
    for arg in argv:
        if arg == "--":
            break
        name = arg.split("=", 1)[0]
        if not name.startswith("--") or any(option.startswith(name) for option in known):  # abbreviations
            continue
        close = difflib.get_close_matches(name, sorted(known), n=1)
        return f"unknown option {name}" + (f" (did you mean {close[0]}?)" if close else "")
    return None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    if problem := _misspelt_option(argv):
        parser.error(problem)
    args = parser.parse_args(argv)
    try:
        status = args.run(args)
        sys.stdout.flush()  # a reader gone away shows here when the output fit in the buffer
        return status
    except BrokenPipeError:
        # `portal-archive export | head`: the reader has what it wanted. End quietly: the
        # interpreter's last flush of stdout goes nowhere instead of raising again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
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
