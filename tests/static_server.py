"""A loopback static file server with HTTP Range support, as ReplayWeb.page needs to read a
WACZ in place (it asks for byte ranges of the zip, never the whole file)."""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from demo.loopback import LoopbackServer, QuietHandler

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")
_TYPES = {".js": "application/javascript", ".wacz": "application/wacz+zip", ".html": "text/html; charset=utf-8",
          ".json": "application/json", ".wasm": "application/wasm"}


class _Handler(QuietHandler):
    def respond(self, send_body: bool) -> None:
        path = unquote(urlsplit(self.path).path).lstrip("/") or "index.html"
        target = None
        for root in self.server.owner.roots:
            candidate = (root / path).resolve()
            if candidate.is_file() and candidate.is_relative_to(root.resolve()):
                target = candidate
                break
        if target is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        size = target.stat().st_size
        start, end, status = 0, size - 1, 200
        match = _RANGE.match(self.headers.get("Range", ""))
        if match and size:
            first, last = match.groups()
            if first:
                start, end = int(first), min(int(last), size - 1) if last else size - 1
            else:
                start = max(0, size - int(last or 0))
            status = 206
        ctype = _TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(max(0, end - start + 1)))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if send_body:
            with open(target, "rb") as stream:
                stream.seek(start)
                remaining = end - start + 1
                while remaining > 0 and (chunk := stream.read(min(remaining, 1 << 16))):
                    try:
                        self.wfile.write(chunk)
                    except ConnectionError:
                        return
                    remaining -= len(chunk)


class StaticServer(LoopbackServer):
    """Serve files from several directories (first match wins) on 127.0.0.1."""

    handler = _Handler

    def __init__(self, *roots: Path) -> None:
        self.roots = [Path(root) for root in roots]
        super().__init__()
