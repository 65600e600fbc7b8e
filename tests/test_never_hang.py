"""Never leak, never hang, never alter (issue 10, items 2, 3, 4, 14, 15 and 18): crawls of
loopback servers that used to hang the crawl, read this machine's files, outlive a kill,
ignore a robots.txt server error, rewrite header bytes or lose a page with a long header."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import zlib

import pytest
import support
from misbehaving_server import ARTICLE, GBK_FILENAME, LONG_HEADER, HostileServer, MisbehavingServer, SilentFtpServer
from proctree import alive, descendants
from sqlalchemy import select
from support import ROOT, index, records_holding, warc_files, warcio_check
from zygote import popen, run

from archive.models import articles, captures, crawls

pytestmark = [pytest.mark.slow, pytest.mark.crawl]

SECRET = b"THIS-MACHINE-S-OWN-FILE-4d1c"


def crawl_command(archive, url: str, **settings: str) -> list[str]:
    return support.crawl_command(archive, f"start_url={url}", settings={"RETRY_BACKOFF_BASE": "0.05", **settings})


def crawl(archive, url: str, timeout: float = 180, **settings: str) -> subprocess.CompletedProcess[str]:
    return run(crawl_command(archive, url, **settings), cwd=ROOT, capture_output=True, text=True,
               timeout=timeout, env={**os.environ, "PYTHONUNBUFFERED": "1"})


class ManyPages(MisbehavingServer):
    """A home page linking to ``count`` small articles, each served after ``delay`` seconds."""

    def __init__(self, count: int, delay: float = 0.0, extra: list[str] | None = None) -> None:
        super().__init__()
        self.count, self.delay, self.extra = count, delay, extra or []

    def links(self) -> list[str]:
        return [f"/p{n}.html" for n in range(self.count)] + self.extra

    def respond(self, handler, count: int) -> None:
        if handler.path.startswith("/p") and handler.path.endswith(".html"):
            time.sleep(self.delay)
            n = int(handler.path[2:-5])
            return self.send(handler, 200, ARTICLE.format(title=f"第{n}篇测试文章标题", n=n % 9 + 1).encode())
        return super().respond(handler, count)


def test_ftp_and_file_links_neither_hang_nor_read_local_files(tmp_path):
    """Item 2: a link to a silent FTP server used to hang the crawl for ever (no timeout, no
    SIGTERM), and file://HOST/path archived this machine's own file.

    The scope gate is opened for both schemes and every port, so the links reach the download
    handlers (off for ftp and file), the last line of defence behind scope: each is refused
    at once, and the FTP server never sees a connection."""
    secret = tmp_path / "secret.txt"
    secret.write_bytes(SECRET)
    archive = tmp_path / "archive"
    with SilentFtpServer() as ftp:
        links = [f"ftp://127.0.0.1:{ftp.port}/pub/notice.txt", f"file://127.0.0.1{secret}"]
        with ManyPages(2, extra=links) as server:
            # Bounded: with the ftp handler on, this crawl never ends (DOWNLOAD_TIMEOUT does not
            # stop Scrapy's FTP client), and run() kills it and raises TimeoutExpired.
            result = crawl(archive, server.url, timeout=90, SCOPE_SCHEMES="http,https,ftp,file",
                           SCOPE_ANY_PORT="1", DOWNLOAD_TIMEOUT="5")
        ftp_connections = len(ftp.connections)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert ftp_connections == 0
    for scheme in ("ftp", "file"):
        assert f"Unsupported URL scheme '{scheme}'" in result.stderr, result.stderr[-3000:]
    with index(archive).connect() as conn:
        urls = [url for (url,) in conn.execute(select(captures.c.url))]
        stats = conn.execute(select(crawls.c.stats)).scalar_one()
    assert not [key for key in stats if key.startswith("scope/")], stats
    assert sorted(urls) == sorted([server.url, server.url + "p0.html", server.url + "p1.html",
                                   server.url + "robots.txt"])
    read, holding = records_holding(warc_files(archive), SECRET)
    assert read >= 9 and holding == []
    warcio_check(warc_files(archive))


def test_a_dead_archive_writer_ends_the_crawl_with_archive_failed(tmp_path):
    """Item 3: the WARC directory is moved away mid-crawl, so the writer thread dies at its next
    file; with a queue of one, the reactor used to block in queue.put for ever."""
    archive = tmp_path / "archive"
    with ManyPages(300, delay=0.2) as server:
        process = popen(crawl_command(archive, server.url, WARC_MAX_SIZE="1", ARCHIVE_QUEUE_SIZE="1"),
                        cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        deadline = time.monotonic() + 120
        while not sum(1 for path in (archive / "warc").glob("*.warc.gz")) >= 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        (archive / "warc").rename(tmp_path / "gone")  # the WARC volume vanishes under the crawl
        try:
            _, log = process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail("the crawl hung after its archive writer died")
        hits = sum(count for path, count in server.hits.items() if path.startswith("/p"))
    assert process.returncode == 1, log[-3000:]
    assert "crawl failed: archive failed: " in log, log[-3000:]
    assert "Traceback" not in log, log[-3000:]
    assert hits < 300  # it stopped instead of fetching pages it could not archive


def test_sigkill_of_a_crawl_leaves_no_worker_behind(tmp_path):
    """Item 4: page workers (and their resource tracker) used to outlive a SIGKILLed crawl."""
    archive = tmp_path / "archive"
    with ManyPages(200, delay=0.5) as server:
        process = popen(crawl_command(archive, server.url, PAGE_WORKERS="2"), cwd=ROOT,
                        stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        children: set[int] = set()
        deadline = time.monotonic() + 120
        while len(children) < 2 and time.monotonic() < deadline:  # the workers start with the first page
            children = descendants(process.pid)
            time.sleep(0.1)
        assert children, "the crawl started no page worker"
        deadline = time.monotonic() + 30
        while len(children) < 3 and time.monotonic() < deadline:  # both workers and the resource tracker
            children = descendants(process.pid)
            time.sleep(0.1)
        process.send_signal(signal.SIGKILL)
        process.wait()
        deadline = time.monotonic() + 30
        while any(alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.2)
        survivors = [pid for pid in children if alive(pid)]
        for pid in survivors:
            os.kill(pid, signal.SIGKILL)
    assert survivors == [], f"{len(survivors)} of {len(children)} worker processes outlived the crawl"


class RobotsFails(ManyPages):
    """robots.txt answers 503 the first ``failures`` times (None: always)."""

    def __init__(self, failures: int | None) -> None:
        super().__init__(3)
        self.failures = failures

    def respond(self, handler, count: int) -> None:
        if handler.path == "/robots.txt":
            if self.failures is None or count <= self.failures:
                return self.send(handler, 503, b"<html>Service Unavailable</html>")
            return self.send(handler, 200, b"User-agent: *\nDisallow: /p2.html\n", [("Content-Type", "text/plain")])
        return super().respond(handler, count)


def test_robots_txt_server_error_disallows_the_whole_host(tmp_path):
    """Item 18: RFC 9309 says a 5xx robots.txt means "disallow all"; it used to mean allow all."""
    with RobotsFails(None) as server:
        result = crawl(tmp_path / "archive", server.url, timeout=120)
        asked = dict(server.hits)
    assert asked == {"/robots.txt": 4}  # the first try and 3 retries, nothing else
    assert "robots.txt of 127.0.0.1:" in result.stderr and "answered HTTP 503: the whole host is disallowed" \
        in result.stderr
    assert "Traceback" not in result.stderr
    assert result.returncode == 1 and "crawl failed: " in result.stderr  # it archived only the robots.txt errors


def test_robots_txt_that_recovers_within_the_retries_is_obeyed(tmp_path):
    with RobotsFails(2) as server:
        result = crawl(tmp_path / "archive", server.url, timeout=120)
        asked = dict(server.hits)
    assert result.returncode == 0, result.stderr[-3000:]
    assert asked["/robots.txt"] == 3 and asked["/"] == 1 and asked["/p0.html"] == 1 and "/p2.html" not in asked
    assert "whole host is disallowed" not in result.stderr


class HeaderPages(HostileServer):
    """Only the header pages of HostileServer: raw GBK bytes, and a 20 kB header line."""

    def links(self) -> list[str]:
        return ["/gbk.doc", "/long-header.html"]


@pytest.fixture(scope="module")
def header_crawl(tmp_path_factory):
    archive = tmp_path_factory.mktemp("headers")
    with HeaderPages(ftp_port=9, local_file="/nonexistent", bomb_size=0) as server:
        result = crawl(archive, server.url, timeout=120)
        yield archive, server, result


def stored_http_headers(archive, path: str) -> list[bytes]:
    """The HTTP header lines of the response record for ``path``, as bytes in the WARC file."""
    with index(archive).connect() as conn:
        row = conn.execute(select(captures).where(captures.c.url.endswith(path))).one()
    with open(archive / "warc" / row.warc_file, "rb") as stream:
        stream.seek(row.warc_offset)
        record = zlib.decompress(stream.read(row.warc_length), zlib.MAX_WBITS | 16)
    return record.split(b"\r\n\r\n", 2)[1].split(b"\r\n")


def test_gbk_header_bytes_are_stored_as_received(header_crawl):
    """Item 14: warcio percent-encoded a GBK filename into filename*=UTF-8''..."""
    archive, server, result = header_crawl
    assert result.returncode == 0, result.stderr[-3000:]
    sent = b'Content-Disposition: attachment; filename="' + GBK_FILENAME + b'"'
    assert server.sent_headers["/gbk.doc"] == [b"Content-Type: application/msword", sent]
    stored = stored_http_headers(archive, "/gbk.doc")
    assert sent in stored and not any(b"filename*=" in line for line in stored)


def test_a_header_line_over_16_kb_is_archived(header_crawl):
    """Item 15: Twisted's 16 kB line limit dropped the connection; the page was lost."""
    archive, server, result = header_crawl
    assert server.hits["/long-header.html"] == 1  # not retried
    line = f"{LONG_HEADER[0]}: {LONG_HEADER[1]}".encode()
    assert line in stored_http_headers(archive, "/long-header.html")
    with index(archive).connect() as conn:
        titles = [title for (title,) in conn.execute(select(articles.c.title))]
    assert titles == ["超长头部的文章"]
