"""A loopback portal whose server misbehaves the ways government servers do."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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

    def respond(self, handler: BaseHTTPRequestHandler, count: int) -> None:
        path = handler.path
        if path == "/":
            links = ["/flaky.html", "/limited.html", "/plain.html", "/challenge.html", "/wzws.html", "/cut.html",
                     "/huge.html", "/stall.html", "/broken.html"]
            body = ("<html><body>" + "".join(f"<a href='{link}'>链接{link}页面标题足够长</a>" for link in links)
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
