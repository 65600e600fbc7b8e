"""A loopback portal whose server misbehaves the ways government servers do."""

from __future__ import annotations

import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from loopback_internet import Listener

ARTICLE = ("<html><head><meta charset='utf-8'><title>{title}_测试网</title></head><body>"
           "<h1>{title}</h1><div class='info'>来源：测试网 发布时间：2021-03-0{n} 10:00</div>"
           "<div class='content'>" + "<p>" + "天津市消防救援总队开展冬季火灾防控工作，检查重点单位，排查整改隐患。" * 6
           + "</p>" * 1 + "</div></body></html>")
PAGES = {
    "/flaky.html": "先失败后成功的文章",
    "/limited.html": "限流后成功的文章",
    "/plain.html": "一切正常的文章",
}
JSL_CHALLENGE = (b"<html><script>document.cookie=('_')+('_jsl_clearance_s=1612345678.1|0|abc')+';max-age=3600;"
                 b"path=/';location.href=location.pathname+location.search</script></html>")
WZWS_CHALLENGE = (b"<html><head><script type='text/javascript' src='/wzwsconfirm.js'></script></head><body>"
                  b"<script>var wzwschallenge='abc';</script></body></html>")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 drops SYNs under a crawler's burst


class MisbehavingServer:
    """Home links to every misbehaving page; ``hits`` counts requests per path."""

    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with server.lock:
                    count = server.hits[self.path] = server.hits.get(self.path, 0) + 1
                server.respond(self, count)

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def links(self) -> list[str]:
        """What the home page links to."""
        return ["/flaky.html", "/limited.html", "/plain.html", "/challenge.html", "/wzws.html", "/cut.html",
                "/huge.html", "/stall.html", "/broken.html"]

    def respond(self, handler: BaseHTTPRequestHandler, count: int) -> None:
        path = handler.path
        if path == "/":
            body = ("<html><body>" + "".join(f"<a href='{link}'>链接{link}页面标题足够长</a>" for link in self.links())
                    + "</body></html>").encode()
            return self.send(handler, 200, body)
        if path in PAGES:
            if (path == "/flaky.html" and count == 1) or (path == "/limited.html" and count == 1):
                status = 503 if path == "/flaky.html" else 429
                return self.send(handler, status, b"busy", [("Retry-After", "0")] if status == 429 else [])
            n = list(PAGES).index(path) + 1
            return self.send(handler, 200, ARTICLE.format(title=PAGES[path], n=n).encode())
        if path == "/challenge.html":
            return self.send(handler, 521, JSL_CHALLENGE)
        if path == "/wzws.html":
            return self.send(handler, 200, WZWS_CHALLENGE)
        if path == "/cut.html":
            handler.send_response(200)
            handler.send_header("Content-Type", "text/html; charset=utf-8")
            handler.send_header("Content-Length", "5000")
            handler.end_headers()
            handler.wfile.write(ARTICLE.format(title="半截文章", n=4).encode()[:1000])
            handler.wfile.flush()
            handler.close_connection = True
            return None
        if path == "/huge.html":
            return self.send(handler, 200, ARTICLE.format(title="超大文章", n=5).encode() * 400)
        if path == "/stall.html":
            time.sleep(5)
            return self.send(handler, 200, b"<html>late</html>")
        if path == "/broken.html":
            return self.send(handler, 500, b"error")
        return self.send(handler, 404, b"not found")

    @staticmethod
    def send(handler: BaseHTTPRequestHandler, status: int, body: bytes,
             headers: list[tuple[str, str]] | None = None) -> None:
        handler.send_response(status)
        if not any(name.lower() == "content-type" for name, _ in headers or []):
            handler.send_header("Content-Type", "text/html; charset=utf-8")
        for name, value in headers or []:
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        # One request per connection keeps attempts and server hits one to one.
        handler.send_header("Connection", "close")
        handler.close_connection = True
        handler.end_headers()
        try:
            handler.wfile.write(body)
        except ConnectionError:
            pass

    def __enter__(self) -> MisbehavingServer:
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --- Hostile pages (issue 10): each one used to hang the crawl, leak, or cost gigabytes ---------

GBK_FILENAME = "关于开展冬季消防检查的通知.doc".encode("gbk")
# A header line longer than Twisted's 16 kB line limit (HTTPParser is a LineReceiver).
LONG_HEADER = ("X-Padding", "a" * 20_000)
TRAP_LINKS = 100_000


class SilentFtpServer(Listener):
    """Accepts TCP connections on loopback and never says a word (an FTP server that hangs)."""

    def __init__(self) -> None:
        super().__init__("127.0.0.1", 16)


def gzip_bomb(size: int) -> bytes:
    """A gzip body that decodes to ``size`` bytes of HTML-ish filler (about 1000:1).

    Built in well under a second, not by deflating a GiB: after a full flush a deflate stream
    starts afresh, so every 1 MiB chunk compresses to the same bytes, written once and repeated
    (the gzip trailer's CRC-32 and length are those of the whole decoded body)."""
    chunk = b"<p>" + b" " * (1 << 20)
    count = size // len(chunk)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)  # raw deflate: the gzip frame is ours
    opening = b"<html><body>"
    head = deflate.compress(opening) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(opening)
    for _ in range(count):
        crc = zlib.crc32(chunk, crc)
    length = len(opening) + count * len(chunk)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # gzip, deflate, no name, no mtime
    trailer = crc.to_bytes(4, "little") + (length & 0xFFFFFFFF).to_bytes(4, "little")
    return header + head + block * count + deflate.flush() + trailer


class HostileServer(MisbehavingServer):
    """MisbehavingServer plus the pages that broke the archive's promises: a redirect to a
    silent FTP server, a file:// link to a file on the crawler's disk, raw GBK header bytes,
    a header line over 16 kB, an endless body, a gzip bomb and 100,000 links on one page.
    ``sent_headers`` keeps the exact header bytes sent per path."""

    def __init__(self, ftp_port: int, local_file: str, bomb_size: int = 1 << 30) -> None:
        super().__init__()
        self.ftp_port = ftp_port
        self.local_file = local_file
        self.bomb = gzip_bomb(bomb_size)
        self.sent_headers: dict[str, list[bytes]] = {}
        self.endless_sent = 0

    def links(self) -> list[str]:
        return super().links() + [f"ftp://127.0.0.1:{self.ftp_port}/pub/notice.txt", "/ftp.html",
                                  f"file://127.0.0.1{self.local_file}", "/gbk.doc", "/long-header.html",
                                  "/endless.html", "/bomb.html", "/links.html"]

    def respond(self, handler: BaseHTTPRequestHandler, count: int) -> None:
        path = handler.path
        if path == "/robots.txt":
            return self.send(handler, 200, b"User-agent: *\nDisallow: /trap/\n", [("Content-Type", "text/plain")])
        if path == "/ftp.html":
            return self.send(handler, 302, b"", [("Location", f"ftp://127.0.0.1:{self.ftp_port}/pub/notice.txt")])
        if path == "/gbk.doc":
            disposition = b'attachment; filename="' + GBK_FILENAME + b'"'
            # send_header encodes latin-1: these are the GBK bytes, unchanged, on the wire.
            headers = [("Content-Type", "application/msword"), ("Content-Disposition", disposition.decode("latin-1"))]
            return self.send(handler, 200, b"\xd0\xcf\x11\xe0 fake word file", headers)
        if path == "/long-header.html":
            return self.send(handler, 200, ARTICLE.format(title="超长头部的文章", n=6).encode(), [LONG_HEADER])
        if path == "/endless.html":
            handler.send_response(200)
            handler.send_header("Content-Type", "text/html; charset=utf-8")
            handler.send_header("Connection", "close")
            handler.end_headers()
            handler.close_connection = True
            chunk = ("<p>" + "无尽的页面内容" * 1000 + "</p>\n").encode() * 16
            try:
                handler.wfile.write(b"<html><body>")
                while True:
                    handler.wfile.write(chunk)
                    self.endless_sent += len(chunk)
            except OSError:
                return None
        if path == "/bomb.html":
            return self.send(handler, 200, self.bomb, [("Content-Encoding", "gzip")])
        if path == "/links.html":
            body = "<html><body>" + "".join(f"<a href='/trap/{n}.html'>第{n}页</a>" for n in range(TRAP_LINKS))
            return self.send(handler, 200, (body + "</body></html>").encode())
        return super().respond(handler, count)

    def send(self, handler: BaseHTTPRequestHandler, status: int, body: bytes,
             headers: list[tuple[str, str]] | None = None) -> None:
        self.sent_headers[handler.path] = [f"{name}: {value}".encode("latin-1") for name, value in headers or []]
        super().send(handler, status, body, headers)
