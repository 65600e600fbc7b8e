"""Hand the archive to standard replay tools: a CDXJ index (pywb) and a WACZ (ReplayWeb.page).

Both come from the SQL index, not from re-reading the WARC files: the index already knows
every record's URL, time, digest, file and offset.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import surt
from sqlalchemy import select

from archive.index import Index
from archive.models import articles, captures

WACZ_VERSION = "1.1.1"


def _timestamp(warc_date: str | None, fetched_at: str) -> str:
    value = warc_date or fetched_at
    return "".join(ch for ch in value if ch.isdigit())[:14]


def cdxj_lines(index: Index) -> Iterator[str]:
    """One CDXJ line per response and revisit record, sorted as pywb expects."""
    columns = (captures.c.url, captures.c.warc_date, captures.c.fetched_at, captures.c.content_type,
               captures.c.status, captures.c.payload_digest, captures.c.warc_length, captures.c.warc_offset,
               captures.c.warc_file, captures.c.record_type, captures.c.method, captures.c.request_body)
    lines = []
    with index.engine.connect() as conn:
        for row in conn.execute(select(*columns)):
            mime = "warc/revisit" if row.record_type == "revisit" else (row.content_type or "").split(";")[0].strip()
            fields = {"url": row.url, "mime": mime, "status": str(row.status), "digest": row.payload_digest,
                      "length": str(row.warc_length), "offset": str(row.warc_offset), "filename": row.warc_file}
            fields = {key: value for key, value in fields.items() if value not in (None, "", "None")}
            key_url = row.url
            if row.request_body is not None:  # POST: keyed by its body, as cdxj-indexer --post-append does
                key_url, fields["method"], fields["requestBody"] = post_key(row.url, row.method, row.request_body)
            lines.append(f"{surt.surt(key_url)} {_timestamp(row.warc_date, row.fetched_at)} {json.dumps(fields)}")
    lines.sort()
    yield from lines


def post_key(url: str, method: str, body_query: str) -> tuple[str, str, str]:
    """(URL to key by, method, requestBody) of a POST capture: pywb looks a replayed POST up
    by ``url?__wb_method=post&<body query>``."""
    method = (method or "POST").upper()
    appended = ("&" if "?" in url else "?") + "__wb_method=" + method + ("&" + body_query if body_query else "")
    return url + appended, method, body_query


def write_cdxj(index: Index, out: IO[str]) -> int:
    count = 0
    for line in cdxj_lines(index):
        out.write(line + "\n")
        count += 1
    return count


def _pages(index: Index) -> Iterator[dict]:
    """pages.jsonl entries: one per article."""
    with index.engine.connect() as conn:
        rows = conn.execute(
            select(articles.c.id, articles.c.url, articles.c.title, captures.c.warc_date, captures.c.fetched_at)
            .join(captures, captures.c.id == articles.c.capture_id).order_by(articles.c.id)
        )
        for row in rows:
            ts = (row.warc_date or row.fetched_at)[:19] + "Z"
            yield {"id": f"article-{row.id}", "url": row.url, "ts": ts, "title": row.title or ""}


class _HashingWriter:
    """Counts and sha256-hashes what passes into a zip entry, for datapackage.json."""

    def __init__(self, target: IO[bytes]) -> None:
        self.target, self.digest, self.size = target, hashlib.sha256(), 0

    def write(self, data: bytes) -> None:
        self.target.write(data)
        self.digest.update(data)
        self.size += len(data)


def write_wacz(index: Index, path: Path, title: str = "portal-archiver collection") -> dict:
    """Write a WACZ 1.1.1 file, streaming every part to disk; return its datapackage."""
    resources = []
    with zipfile.ZipFile(path, "w", allowZip64=True) as wacz:
        def add(name: str, chunks: Iterator[bytes], compress: bool) -> None:
            info = zipfile.ZipInfo(name, date_time=datetime.now(UTC).timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
            with wacz.open(info, "w", force_zip64=True) as entry:
                writer = _HashingWriter(entry)
                for chunk in chunks:
                    writer.write(chunk)
            resources.append({"name": Path(name).name, "path": name, "hash": f"sha256:{writer.digest.hexdigest()}",
                              "bytes": writer.size})

        for warc in sorted(index.warc_dir.glob("*.warc.gz")):
            add(f"archive/{warc.name}", _file_chunks(warc), compress=False)
        add("indexes/index.cdxj", (line.encode("utf-8") + b"\n" for line in cdxj_lines(index)), compress=True)
        header = {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}
        add("pages/pages.jsonl", (json.dumps(entry, ensure_ascii=False).encode("utf-8") + b"\n"
                                  for entry in [header, *_pages(index)]), compress=True)
        package = {
            "profile": "data-package",
            "wacz_version": WACZ_VERSION,
            "title": title,
            "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "software": "portal-archiver",
            "resources": resources,
        }
        package_bytes = json.dumps(package, ensure_ascii=False, indent=2).encode("utf-8")
        wacz.writestr("datapackage.json", package_bytes)
        digest = {"path": "datapackage.json", "hash": f"sha256:{hashlib.sha256(package_bytes).hexdigest()}"}
        wacz.writestr("datapackage-digest.json", json.dumps(digest))
    return package


def _file_chunks(path: Path, size: int = 1 << 20) -> Iterator[bytes]:
    with open(path, "rb") as stream:
        while chunk := stream.read(size):
            yield chunk
