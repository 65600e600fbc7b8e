"""Retries back off per host without holding a global download slot (crawler/fetch/retry.py).

Two hosts on loopback and two global concurrency slots. Host A answers its first two
articles (fetched at once) with 503 + Retry-After, one of them slowly, and a third with 429;
host B answers everything. While A's retries wait, B must be crawled (the old middleware
slept inside the downloader, so A's two sleeping retries held both slots and B waited too),
and A itself must get no request before Retry-After is over, counted from the answer that
asked for it (the old one sent A's next page at once; a later one counted from the slow
request's send, and sent it while the wait was not over).
"""

from __future__ import annotations

import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select
from support import ROOT, crawl_command, index
from zygote import run

from archive.models import captures

pytestmark = [pytest.mark.slow, pytest.mark.crawl]

RETRY_AFTER = 5
SLOW_503 = 2.0  # seconds host A takes to send one of its 503s


class Host:
    """A loopback host logging (monotonic time of the answer, path, status) of every request."""

    def __init__(self, address: str, pages: int, failing: dict[str, tuple[int, list[tuple[str, str]], float]]
                 ) -> None:
        self.log: list[tuple[float, str, int]] = []
        # path -> first answer (status, headers, seconds taken to answer); later answers are 200 at once
        self.failing = dict(failing)
        lock = threading.Lock()
        host = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with lock:
                    status, headers, slow = host.failing.pop(self.path, (200, [], 0.0))
                time.sleep(slow)
                with lock:
                    host.log.append((time.monotonic(), self.path, status))
                if self.path == "/":
                    links = "".join(f'<a href="/p{k}.html">第{k}篇文章的标题足够长</a>' for k in range(pages))
                    body = f"<html><body>{links}</body></html>".encode()
                else:
                    body = f"<html><body><h1>{self.path}</h1><p>{'正文内容。' * 40}</p></body></html>".encode()
                self.send_response(status)
                for name, value in [("Content-Type", "text/html; charset=utf-8"), *headers]:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer((address, 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://{address}:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Host:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    archive = tmp_path_factory.mktemp("backoff")
    wait = [("Retry-After", str(RETRY_AFTER))]
    failing = {"/p0.html": (503, wait, 0.0), "/p1.html": (503, wait, SLOW_503), "/p2.html": (429, [], 0.0)}
    with Host("127.0.0.2", 4, failing) as a, Host("127.0.0.3", 12, {}) as b:
        seeds = archive.parent / f"{archive.name}-seeds.txt"
        seeds.write_text(f"{a.url}\n{b.url}\n")
        settings = {"CONCURRENT_REQUESTS": "2",
                    "CONCURRENT_REQUESTS_PER_DOMAIN": "2", "RANDOMIZE_DOWNLOAD_DELAY": "0", "ROBOTSTXT_OBEY": "0",
                    "RETRY_BACKOFF_BASE": "1", "RETRY_BACKOFF_MAX": "30"}
        result = run(crawl_command(archive, f"sites={seeds}", settings=settings), cwd=ROOT,
                     env={**os.environ, "PYTHONUNBUFFERED": "1"}, capture_output=True, text=True, timeout=180)
        yield archive, a, b, result


def test_the_crawl_succeeds_and_archives_every_attempt(crawled):
    archive, a, _, result = crawled
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    with index(archive).connect() as conn:
        statuses = {}
        for url, status in conn.execute(select(captures.c.url, captures.c.status).order_by(captures.c.id)):
            statuses.setdefault(url.removeprefix(a.url), []).append(status)
    assert statuses["p0.html"] == statuses["p1.html"] == [503, 200]
    assert statuses["p2.html"] == [429, 200]


def test_other_hosts_go_on_while_a_retry_waits(crawled):
    _, a, b, _ = crawled
    first_503 = next(t for t, path, status in a.log if status == 503)
    retried = next(t for t, path, status in a.log if path == "/p0.html" and status == 200)
    assert retried - first_503 >= RETRY_AFTER - 0.1  # Retry-After honoured
    during = [path for t, path, _ in b.log if first_503 < t < first_503 + RETRY_AFTER - 1]
    # With the one global slot held by a sleeping retry, B could not be fetched at all here.
    assert len(during) >= 3, (during, b.log)


def test_the_struggling_host_itself_is_slowed(crawled):
    _, a, _, _ = crawled
    last_503 = max(t for t, path, status in a.log if status == 503)
    early = [path for t, path, _ in a.log if last_503 < t < last_503 + RETRY_AFTER - 0.1]
    assert early == [], a.log
