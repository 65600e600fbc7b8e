"""Loopback HTTP/1.1 server for a :class:`demo.site.Site`.

A real socket server (not a mocked transport) so crawler tests exercise actual
gzip content-coding, chunked framing, keep-alive and redirects, and can assert
on exactly what the crawler sent.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import gzip
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from demo.loopback import LoopbackServer, QuietHandler, etag_of
from demo.site import HTML_UTF8, Route, Site, build_site

NOT_FOUND = Route(404, [("Content-Type", HTML_UTF8)], "<html><body><h1>404 页面不存在</h1></body></html>".encode())


@dataclass
class RequestLog:
    method: str
    path: str
    headers: list[tuple[str, str]]
    # When it arrived (time.monotonic()): tests of politeness read the gaps between requests.
    at: float = field(default_factory=time.monotonic)


def _accepts_gzip(value: str) -> bool:
    """Honour ``gzip;q=0`` so a client that refuses gzip never gets it."""
    for item in value.split(","):
        name, _, params = item.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            q = params.strip().lower()
            try:
                return not q.startswith("q=") or float(q[2:]) > 0
            except ValueError:
                return False
    return False


def _chunks(data: bytes, parts: int = 4) -> list[bytes]:
    size = max(1, -(-len(data) // parts))
    return [data[i:i + size] for i in range(0, len(data), size)]


class _Handler(QuietHandler):
    def respond(self, send_body: bool) -> None:
        demo: DemoServer = self.server.owner
        demo._record(RequestLog(self.command, self.path, list(self.headers.items())))
        with demo._serial_lock if demo.serial else contextlib.nullcontext():
            if demo.delay:
                time.sleep(demo.delay)
        route = demo.site.lookup(self.path) or NOT_FOUND
        body = route.body
        etag = etag_of(body)
        if route.status == 200 and demo.conditional and self.not_modified(etag):
            return
        zipped = route.gzip and _accepts_gzip(self.headers.get("Accept-Encoding", ""))
        if zipped:
            body = gzip.compress(body, mtime=0)
        chunked = route.chunked and self.request_version != "HTTP/1.0"
        try:
            self.send_response(route.status)
            for name, value in route.headers:
                self.send_header(name, value)
            if route.status == 200:
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", "Wed, 15 Jan 2020 00:39:29 GMT")
            if route.gzip:
                self.send_header("Vary", "Accept-Encoding")
            if zipped:
                self.send_header("Content-Encoding", "gzip")
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not send_body:
                return
            if chunked:
                for piece in _chunks(body):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.wfile.write(body)
        except ConnectionError:
            self.close_connection = True


class DemoServer(LoopbackServer):
    """Serves a site in a daemon thread; use as a context manager in tests."""

    handler = _Handler

    def __init__(self, site: Site, host: str = "127.0.0.1", port: int = 0, delay: float = 0.0) -> None:
        self.site = site
        # Seconds to wait before answering: a slow server keeps a crawl busy long enough to
        # be interrupted at a chosen point.
        self.delay = delay
        # One answer at a time (delay apart), however many connections the client opens.
        self.serial = False
        self._serial_lock = threading.Lock()
        # Answer If-None-Match with 304; off, the server sends every page in full (as many
        # portals do), so an unchanged page comes back as an identical-payload revisit.
        self.conditional = True
        self.requests: list[RequestLog] = []
        self._lock = threading.Lock()
        super().__init__(host, port)

    def _record(self, entry: RequestLog) -> None:
        with self._lock:
            self.requests.append(entry)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """No answer while inside (requests wait, and are answered in turn after): a crawl
        stays busy for exactly as long as a test needs, not for a delay that guesses it."""
        self.serial = True
        try:
            with self._serial_lock:
                yield
        finally:
            self.serial = False

    def sent_body(self, path: str) -> bytes:
        """What a client holds after content-decoding, for byte-exact comparison with archived records."""
        return (self.site.lookup(path) or NOT_FOUND).body


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the synthetic government portal on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--style", choices=["trs", "art"], default="trs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        server = DemoServer(build_site(style=args.style, seed=args.seed), args.host, args.port)
    except OSError as exc:
        print(f"error: cannot serve on {args.host}:{args.port}: {exc.strerror}"
              + (" (a demo server running already?)" if exc.errno == errno.EADDRINUSE else ""), file=sys.stderr)
        raise SystemExit(2) from None
    with server:
        print(f"serving {server.site.name} at {server.url} (Ctrl-C to stop)", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
