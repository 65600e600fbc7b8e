"""The demo portal is the crawler's test bed, so its HTTP behaviour must be exactly what the crawler tests assume."""

from __future__ import annotations

import gzip
import http.client
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from demo.server import DemoServer
from demo.site import Site, build_site


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


OPENER = urllib.request.build_opener(_NoRedirect)


@pytest.fixture(scope="module")
def site() -> Site:
    return build_site()


@pytest.fixture(scope="module")
def server(site: Site) -> Iterator[DemoServer]:
    with DemoServer(site) as running:
        yield running


def fetch(server: DemoServer, path: str, **headers: str) -> tuple[int, http.client.HTTPMessage, bytes]:
    request = urllib.request.Request(server.url.rstrip("/") + path, headers=headers)
    try:
        with OPENER.open(request, timeout=5) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.headers, err.read()


def gbk_path(site: Site) -> str:
    return next(p for p, r in site.routes.items() if ("Content-Type", "text/html; charset=gb2312") in r.headers)


def test_home_sets_two_cookies(server: DemoServer) -> None:
    status, headers, _ = fetch(server, "/")
    assert status == 200
    assert len(headers.get_all("Set-Cookie")) == 2


def test_home_gzipped_only_when_asked(server: DemoServer) -> None:
    _, headers, body = fetch(server, "/", **{"Accept-Encoding": "gzip"})
    assert headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body) == server.sent_body("/")
    _, headers, body = fetch(server, "/")
    assert headers["Content-Encoding"] is None
    assert body == server.sent_body("/")


def test_listing_is_chunked(server: DemoServer, site: Site) -> None:
    conn = http.client.HTTPConnection(urlsplit(server.url).netloc, timeout=5)
    try:
        conn.request("GET", site.listings[0])
        resp = conn.getresponse()
        assert resp.getheader("Transfer-Encoding") == "chunked"
        assert resp.getheader("Content-Length") is None
        assert resp.read() == server.sent_body(site.listings[0])
    finally:
        conn.close()


def test_gzip_and_chunked_article(server: DemoServer, site: Site) -> None:
    path = next(p for p in site.articles if site.routes[p].gzip and site.routes[p].chunked)
    conn = http.client.HTTPConnection(urlsplit(server.url).netloc, timeout=5)
    try:
        conn.request("GET", path, headers={"Accept-Encoding": "gzip, deflate"})
        resp = conn.getresponse()
        assert resp.getheader("Transfer-Encoding") == "chunked"
        assert resp.getheader("Content-Encoding") == "gzip"
        assert gzip.decompress(resp.read()) == server.sent_body(path)
    finally:
        conn.close()


def test_redirect_chain(server: DemoServer, site: Site) -> None:
    status, headers, _ = fetch(server, "/old/news.html")
    assert (status, headers["Location"]) == (301, "/old/news2.html")
    status, headers, _ = fetch(server, "/old/news2.html")
    assert (status, headers["Location"]) == (302, site.listings[0])


def test_unknown_path_is_404(server: DemoServer) -> None:
    status, headers, _ = fetch(server, "/missing.html")
    assert status == 404
    assert headers["Content-Type"].startswith("text/html")


def test_gbk_article(server: DemoServer, site: Site) -> None:
    path = gbk_path(site)
    status, headers, body = fetch(server, path)
    assert status == 200 and headers["Content-Type"] == "text/html; charset=gb2312"
    assert b'<meta charset="gb2312">' in body
    text = body.decode("gb18030")
    assert site.articles[path] in text and "更新时间:" in text
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")


def test_attachments(server: DemoServer) -> None:
    status, headers, body = fetch(server, "/uploads/report.pdf")
    assert status == 200 and headers["Content-Type"] == "application/pdf"
    assert body.startswith(b"%PDF-") and body.rstrip().endswith(b"%%EOF")
    _, headers, _ = fetch(server, "/uploads/form.doc")
    assert headers["Content-Type"] == "application/msword"


def test_calendar_trap_is_endless(server: DemoServer) -> None:
    for month in ("2020-01", "1987-07", "3001-12"):
        status, _, body = fetch(server, f"/calendar/{month}.html")
        assert status == 200
    assert b'href="3002-01.html"' in body and b'href="3001-11.html"' in body
    assert fetch(server, "/calendar/2020-13.html")[0] == 404


def test_loop_trap_repeats_segments(server: DemoServer) -> None:
    status, _, body = fetch(server, "/loop/more/more/more/")
    assert status == 200 and b'href="more/"' in body


def test_first_channel_paginated_by_script_only(site: Site) -> None:
    first = site.routes[site.listings[0]].body.decode()
    assert 'createPageHTML(3, 0, "index", "html");' in first
    assert 'href="index_1.html"' not in first
    assert 'href="index_1.html">下一页</a>' in site.routes["/tzgg/index.html"].body.decode()
    assert any("?" in path for path in site.listings)


def test_robots_and_request_log(server: DemoServer) -> None:
    status, _, body = fetch(server, "/robots.txt", **{"User-Agent": "demo-test"})
    assert status == 200 and b"Disallow: /admin/" in body
    entry = next(e for e in reversed(server.requests) if e.path == "/robots.txt")
    assert entry.method == "GET" and ("User-Agent", "demo-test") in entry.headers


def test_build_site_is_deterministic(tmp_path: Path) -> None:
    def snapshot(site: Site) -> dict[str, bytes]:
        return {path: route.body for path, route in site.routes.items()}

    assert snapshot(build_site(seed=7)) == snapshot(build_site(seed=7))
    assert snapshot(build_site(seed=7)) != snapshot(build_site(seed=8))
    art = build_site(style="art")
    assert len(set(art.articles.values())) == len(art.articles) == 36
    assert all(p.startswith("/art/") for p in art.articles)
    art.write_static(tmp_path)
    assert (tmp_path / "index.html").read_bytes() == art.routes["/"].body
    assert not list(tmp_path.rglob("*list*"))
