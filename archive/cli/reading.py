"""Reading the archive: search, show, history, changes, diff, images, attachments, stats."""

from __future__ import annotations

import argparse
import sys
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

from archive.cli.common import (
    add_filters,
    archive_options,
    date_type,
    emit_rows,
    error,
    first_capture,
    limit_type,
    moment_type,
    not_a_key,
    open_archive,
    protected_files,
    query_type,
    table_lines,
    unknown_crawl,
    unknown_site,
)
from archive.events import KINDS

if TYPE_CHECKING:
    from archive.index import Index


SEARCH_COLUMNS = ("id", "url", "title", "published_at", "source", "site", "channel", "snippet")


# With --in attachments|all: where the phrase was found, and the attachment (archive/attachments.py).
ATTACHMENT_HIT_COLUMNS = ("found_in", "attachment_id", "attachment_url", "attachment_title", "attachment_kind")


def cmd_search(args: argparse.Namespace) -> int:
    with open_archive(args) as index:
        if problem := unknown_site(index, args.site):
            return error(problem, 2)
        rows = index.search(args.query, site=args.site, channel=args.channel, since=args.since, until=args.until,
                            limit=args.limit, within=args.within)
    columns = SEARCH_COLUMNS if args.within == "articles" else SEARCH_COLUMNS + ATTACHMENT_HIT_COLUMNS
    emit_rows(rows, columns, args.format, sys.stdout)
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
    if problem := not_a_key(args.key):
        return error(problem, 2)
    with open_archive(args) as index:
        if problem := unknown_crawl(index, args.at):
            return error(problem, 2)
        if args.raw or args.headers or args.html:
            capture = _capture_of(index, args.key, args.at)
            if capture is None:
                return error(_nothing_for(index, args.key, args.at), 1)
            if args.raw:
                sys.stdout.buffer.write(index.read_payload(capture))
            elif args.headers:
                record = index.record(capture)
                http = record.http_headers
                if http is None:
                    return error(f"{args.key} is a {record.rec_type} record without HTTP headers "
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
            return error(_nothing_for(index, args.key, args.at), 1)
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
        return first_capture(index, key, at)
    return f"nothing archived for {key}"


def cmd_history(args: argparse.Namespace) -> int:
    with open_archive(args) as index:
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
    with open_archive(args) as index:
        if problem := unknown_site(index, args.site):
            return error(problem, 2)
        # The stream is closed before the index, also when the reader of stdout has gone.
        with closing(index.iter_events(site=args.site, since=args.since, until=args.until, kind=args.kind,
                                       url=args.url)) as stream:
            if args.format == "table":
                widths = {"detected_at": 20, "site": 20, "kind": 15, "url": 60, "title": 30, "detail": 40}
                rows = list(stream)
                columns = ("detected_at", "site", "kind", "url", "title", "detail")
                sys.stdout.write("\n".join(table_lines(rows, columns, widths)) + "\n")
                print(f"({len(rows)} event{'s' if len(rows) != 1 else ''})", file=sys.stderr)
            else:
                emit_rows(stream, CHANGES_COLUMNS, args.format, sys.stdout)
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

    with open_archive(args) as index:
        if problem := unknown_crawl(index, args.from_, args.to):
            return error(problem, 2)
        versions = index.versions(args.url)
    if not versions:
        return error(f"no article archived at {args.url}", 1)
    first = f"its first version is from {versions[0]['fetched_at']} (crawl {versions[0]['crawl_id']})"
    new = _version_at(versions, args.to)
    if new is None:
        return error(f"no version of {args.url} {describe_at(args.to)}: {first}", 1)
    if args.from_:
        old = _version_at(versions, args.from_)
        if old is None:
            return error(f"no version of {args.url} {describe_at(args.from_)}: {first}", 1)
    else:
        old = versions[versions.index(new) - 1] if versions.index(new) > 0 else None
        if old is None:
            return error(f"only one version of {args.url} archived {'by then ' if args.to else ''}"
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


def _article_of(index: Index, args: argparse.Namespace) -> tuple[dict | None, int]:
    """The article ``args.key`` names (at ``args.at``), or None and the exit status after its error line."""
    if problem := not_a_key(args.key):
        return None, error(problem, 2)
    if problem := unknown_crawl(index, args.at):
        return None, error(problem, 2)
    article = index.article(args.key, at=args.at)
    if article is None:
        return None, error(f"no article {args.key}", 1)
    return article, 0


def cmd_images(args: argparse.Namespace) -> int:
    from archive.article_images import save_images

    with open_archive(args) as index:
        article, status = _article_of(index, args)
        if article is None:
            return status
        saved = save_images(index, article["id"], Path(args.output), protected_files(args), args.force)
    print("position\turl\tfile\tbytes\tcapture_id")
    for image in saved:
        print(f"{image.position}\t{image.url}\t{image.file or '(not archived)'}\t{image.size}\t"
              f"{image.capture_id or ''}")
    written = sum(1 for image in saved if image.file)
    print(f"article {article['id']}: {written} of {len(saved)} images written to {args.output}", file=sys.stderr)
    return 0 if written == len(saved) else 1


def cmd_attachments(args: argparse.Namespace) -> int:
    with open_archive(args) as index:
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


def cmd_stats(args: argparse.Namespace) -> int:
    with open_archive(args) as index:
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


def add_commands(commands) -> None:
    """This group's subcommands, added to ``commands`` (what the top parser's ``add_subparsers`` returned)."""
    search = commands.add_parser("search", help="full-text search of titles and bodies (Chinese, any length)")
    archive_options(search)
    search.add_argument("query", type=query_type)
    add_filters(search)
    search.add_argument("--limit", type=limit_type, default=20)
    search.add_argument("--format", choices=("table", "csv", "jsonl"), default="table")
    search.add_argument("--in", dest="within", choices=("articles", "attachments", "all"), default="articles",
                        help="search article titles and bodies (default), the text of their attachments, or both")
    search.set_defaults(run=cmd_search)

    show = commands.add_parser("show", help="an article's fields and text, or a capture's bytes")
    archive_options(show)
    show.add_argument("key", metavar="ID|URL", help="article id or URL")
    show.add_argument("--at", type=moment_type, help="the capture at or before this time (20200115, "
                      "2020-01-15T08:00:00Z), or as of crawl N (crawl:N)")
    mode = show.add_mutually_exclusive_group()
    mode.add_argument("--raw", action="store_true", help="the payload as served, content-decoded, to stdout")
    mode.add_argument("--headers", action="store_true", help="the HTTP status line and headers")
    mode.add_argument("--html", action="store_true", help="the page decoded to UTF-8")
    show.set_defaults(run=cmd_show)

    history = commands.add_parser("history", help="every capture of a URL, and whether its content changed")
    archive_options(history)
    history.add_argument("url")
    history.set_defaults(run=cmd_history)

    changes = commands.add_parser(
        "changes", help="what re-checks found: edited, deleted, soft-deleted, redirected-away … articles",
        description="List article events (the article_events table): one per re-check of a known article.")
    archive_options(changes)
    changes.add_argument("--site", help="only this site")
    changes.add_argument("--since", type=date_type, help="detected on or after (2026, 2026-11, 2026-11-29)")
    changes.add_argument("--until", type=date_type, help="detected on or before")
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
    archive_options(diff)
    diff.add_argument("url")
    diff.add_argument("--from", dest="from_", metavar="TS", type=moment_type,
                      help="the version at or before this time, or as of crawl N (crawl:N) (old side)")
    diff.add_argument("--to", metavar="TS", type=moment_type,
                      help="the version at or before this time, or crawl:N (new side; default latest)")
    diff.add_argument("--side-by-side", action="store_true", help="two columns instead of a unified diff")
    diff.add_argument("--width", type=int, default=120, help="total width for --side-by-side (default 120)")
    diff.add_argument("--context", type=int, default=1, help="unchanged paragraphs around each change (default 1)")
    diff.set_defaults(run=cmd_diff)

    images = commands.add_parser("images", help="save an article's images (bytes as served) into a directory")
    archive_options(images)
    images.add_argument("key", metavar="ID|URL", help="article id or URL (its latest version)")
    images.add_argument("--at", type=moment_type, help="the article version at or before this time (or crawl:N)")
    images.add_argument("-o", "--output", required=True, metavar="DIR",
                        help="directory to write into (made if missing; existing files are never replaced)")
    images.add_argument("--force", action="store_true", help="replace files of the same name in DIR")
    images.set_defaults(run=cmd_images)

    files = commands.add_parser(
        "attachments", help="an article's attachments (type, status, text size); -o DIR saves them as served",
        description="List the files an article links (PDF, OFD, DOC/DOCX/WPS, XLS/XLSX, ZIP ...) with what "
        "their text extraction found; with -o DIR, write each one's bytes as served into DIR as NN-name.ext "
        "(never over an existing file without --force, never into the archive's own files).")
    archive_options(files)
    files.add_argument("key", metavar="ID|URL", help="article id or URL (its latest version)")
    files.add_argument("--at", type=moment_type, help="the article version at or before this time (or crawl:N)")
    files.add_argument("-o", "--output", metavar="DIR", help="directory to save the files into (made if missing)")
    files.add_argument("--force", action="store_true", help="overwrite files of the same name in DIR")
    files.set_defaults(run=cmd_attachments)

    stats = commands.add_parser("stats", help="articles by site, channel and month; crawl history")
    archive_options(stats)
    stats.set_defaults(run=cmd_stats)
