"""What every loopback HTTP server of the demo, the tests and the benchmarks shares: a real
threaded HTTP/1.1 socket server in a daemon thread, started and stopped as a context manager,
with a request queue deep enough for a crawler's burst and no access log on stderr.

A server class subclasses :class:`LoopbackServer` and gives it a handler class (a
:class:`QuietHandler`); the handler reaches its server object as ``self.server.owner``.
"""

from __future__ import annotations

import hashlib
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 drops SYNs under a crawler's burst of connections, and the
    # kernel retries them only after a second.
    request_queue_size = 128
    owner: Any

    def handle_error(self, request: Any, client_address: tuple[str, int]) -> None:
        """Clients (crawlers being cancelled) hang up mid-response; that is not a server bug."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive; GET and HEAD go to ``respond(send_body)``."""

    protocol_version = "HTTP/1.1"
    timeout = 10
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        """Tests read the server's own request log; stderr noise would bury real failures."""

    def do_GET(self) -> None:
        self.respond(send_body=True)

    def do_HEAD(self) -> None:
        self.respond(send_body=False)

    def respond(self, send_body: bool) -> None:
        raise NotImplementedError

    def not_modified(self, etag: str) -> bool:
        """Answer 304 when the client already holds ``etag`` (If-None-Match); True if it did."""
        if self.headers.get("If-None-Match") != etag:
            return False
        self.send_response(304)
        self.send_header("ETag", etag)
        self.send_header("Content-Length", "0")
        self.end_headers()
        return True


def etag_of(payload: bytes) -> str:
    """A strong validator for a payload, so re-crawls can ask conditionally."""
    return '"' + hashlib.sha1(payload).hexdigest()[:16] + '"'


class LoopbackServer:
    """Serves in a daemon thread on ``host:port`` (port 0: any free one); ``url`` is its root."""

    handler: type[QuietHandler]

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._httpd = _Server((host, port), self.handler)
        self._httpd.owner = self
        self._thread: threading.Thread | None = None
        bound_host, bound_port = self._httpd.server_address[:2]
        self.url = f"http://{bound_host}:{bound_port}/"

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
