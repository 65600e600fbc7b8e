"""Small archives written by the real archive writer, without a crawl (fast CLI and repair tests)."""

from __future__ import annotations

import socket
from pathlib import Path

from support import index_url

from archive.records import HttpExchange
from archive.store import ArchiveWriter, ArticleRow


def exchange(n: int, body: bytes | None = None) -> HttpExchange:
    return HttpExchange(
        url=f"http://127.0.0.1/a/{n}.html",
        status=200,
        response_headers=[(b"Content-Type", b"text/html; charset=utf-8")],
        body=body if body is not None else f"<html><p>第{n}篇 正文</p></html>".encode() * 40,
        request_headers=[(b"User-Agent", b"test")],
        ip_address="127.0.0.1",
    )


def write_archive(archive: Path, count: int, bodies: list[bytes] | None = None) -> list[HttpExchange]:
    """``count`` exchanges (and an article for each) written and indexed by the real writer."""
    writer = ArchiveWriter(archive / "warc", index_url(archive), warcinfo={"software": "test"}, prefix="t",
                           fsync=False)
    writer.start_crawl("portal", "127.0.0.1", socket.gethostname())
    exchanges = [exchange(n, bodies[n] if bodies else None) for n in range(count)]
    for n, item in enumerate(exchanges):
        writer.add_exchange(item)
        writer.add_article(ArticleRow(item.record_id, {"url": item.url, "title": f"第{n}篇文章", "site": "127.0.0.1",
                                                        "body": f"消防安全检查 第{n}篇 正文"}))
    writer.drain()
    writer.finish_crawl("finished", {})
    return exchanges
