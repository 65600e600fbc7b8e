"""The browser's rules without a browser: which route a host takes (crawler/fetch/browser/hosts.py),
what a script shell is (crawler/fetch/browser/shell.py), the CAPTCHA gate, the conversion record.

Shell detection and the CAPTCHA rule are checked against every real page of the shared
corpus too: none of them is a shell or a CAPTCHA, so no real portal would be sent to the
browser (or reported) for nothing.
"""

from __future__ import annotations

import io
import time

import pytest
from browser_portals import CAPTCHA_PAGE, JSL_STUB, RS_STUB, SPA_SHELL, GatedPortal, make_articles, static_pages
from support import CORPUS, needs_shared
from warcio.archiveiterator import ArchiveIterator
from warcio.warcwriter import WARCWriter

from archive.challenges import challenge_kind
from archive.records import RenderedPage, build_conversion
from crawler.capture.workers import process_bytes
from crawler.fetch.browser.hosts import BLOCKED, BROWSER, HANDOFF, PLAIN, HostRoutes
from crawler.fetch.browser.network import StaticCache, redirect_page
from crawler.spiders.profiles import generic_profile

HOST = "www.example.gov.cn"


def test_a_cookie_gate_passed_hands_the_host_back_to_plain_requests() -> None:
    routes = HostRoutes(handoff_min_pages=3)
    assert routes.challenged(HOST, "jsl")
    assert routes.route(HOST).mode == PLAIN  # until the browser gets past it
    routes.passed(HOST, [{"name": "__jsl_clearance_s", "value": "1", "domain": HOST, "path": "/"}], "UA", gated=True)
    assert routes.route(HOST).mode == HANDOFF
    for _ in range(5):
        routes.plain_answer(HOST)
    # The cookie expires an hour later: the gate comes back after many good pages; one more pass.
    assert routes.challenged(HOST, "jsl") and routes.route(HOST).mode == HANDOFF
    assert routes.report() == {HOST: "jsl challenge"}


def test_a_gate_back_at_once_means_single_use_tokens() -> None:
    routes = HostRoutes(handoff_min_pages=3)
    routes.challenged(HOST, "ruishu")
    routes.passed(HOST, [], "UA", gated=True)
    routes.plain_answer(HOST)
    assert routes.challenged(HOST, "ruishu")
    assert routes.route(HOST).mode == BROWSER and routes.needs_browser(HOST)
    assert "single-use" in routes.report()[HOST]


def test_a_gate_the_browser_never_passed_blocks_the_host_but_bad_luck_does_not() -> None:
    routes = HostRoutes()
    routes.challenged(HOST, "captcha")
    assert routes.not_passed(HOST) and routes.route(HOST).mode == BLOCKED
    assert not routes.challenged(HOST, "captcha")  # never sent to the browser again
    other = "other.example.gov.cn"
    routes.challenged(other, "ruishu")
    routes.passed(other, [], "UA", gated=True)
    assert not routes.not_passed(other) and routes.route(other).mode == HANDOFF


def test_script_shells_send_a_host_to_the_browser_until_they_prove_empty() -> None:
    routes = HostRoutes(shell_trials=2)
    assert routes.shell(HOST) and routes.route(HOST).mode == BROWSER
    assert routes.shell_rendered(HOST, filled=False)
    assert not routes.shell_rendered(HOST, filled=False)  # twice nothing: back to plain
    assert routes.route(HOST).mode == PLAIN and not routes.shell(HOST)
    filled = "spa.example.gov.cn"
    routes.shell(filled)
    routes.shell_rendered(filled, filled=True)
    for _ in range(5):
        routes.shell_rendered(filled, filled=False)
    assert routes.route(filled).mode == BROWSER


def test_browser_hosts_are_forced_by_pattern() -> None:
    routes = HostRoutes(forced=("*.gov.cn",))
    assert routes.needs_browser("www.example.gov.cn:8080") and not routes.needs_browser("example.com")
    assert HostRoutes(forced=("*",)).needs_browser("example.com")


def test_handed_off_requests_carry_the_cookies_a_browser_would_send() -> None:
    routes = HostRoutes()
    now = time.time()
    routes.passed(HOST, [
        {"name": "a", "value": "1", "domain": ".example.gov.cn", "path": "/", "expires": -1},
        {"name": "b", "value": "2", "domain": HOST, "path": "/xwdt", "expires": now + 3600},
        {"name": "c", "value": "3", "domain": HOST, "path": "/", "secure": True},
        {"name": "d", "value": "4", "domain": HOST, "path": "/", "expires": now - 10},
        {"name": "e", "value": "5", "domain": "other.gov.cn", "path": "/"},
    ], "UA", gated=True)
    assert routes.cookie_header(HOST, "/xwdt/index.html", secure=False) == "a=1; b=2"
    assert routes.cookie_header(HOST, "/xwdtx", secure=True) == "a=1; c=3"
    assert routes.cookie_header("www.other.cn", "/", secure=False) is None


def _result(body: bytes, url: str = f"http://{HOST}/"):
    return process_bytes(url, body, b"text/html; charset=utf-8", generic_profile(url))


def test_a_script_rendered_portal_is_a_shell_and_its_rendered_pages_are_not() -> None:
    assert _result(SPA_SHELL).shell
    pages = static_pages(make_articles(12))
    assert not any(_result(body, f"http://{HOST}{path}").shell for path, body in pages.items())
    # Little text and no links, but nothing that loads data: an empty page, not a shell.
    assert not _result(b"<html><body><p>\xe6\x9a\x82\xe6\x97\xa0\xe4\xbf\xa1\xe6\x81\xaf</p></body></html>").shell
    # A shell whose inline script asks a JSON API.
    assert _result(b"<html><body><ul id=list></ul><script>fetch('/api/list').then(r => r.json())</script>"
                   b"</body></html>").shell


@needs_shared
def test_no_real_page_of_the_corpus_is_a_shell_or_a_captcha() -> None:
    pages = sorted((CORPUS / "pages").glob("*.html")) + sorted((CORPUS / "listing").glob("*.html"))
    assert len(pages) > 20
    for path in pages:
        body = path.read_bytes()
        assert challenge_kind(200, body) != "captcha", path.name
        assert not _result(body).shell, path.name


def test_the_captcha_gate_is_named_and_the_other_stubs_keep_their_names() -> None:
    assert challenge_kind(403, CAPTCHA_PAGE.encode()) == "captcha"
    assert challenge_kind(200, CAPTCHA_PAGE.encode()) == "captcha"  # 安全验证 title, 验证码 input
    assert challenge_kind(521, JSL_STUB.format(expr="1").encode()) == "jsl"
    assert challenge_kind(412, RS_STUB.format(nonce="abc").encode()) == "ruishu"
    # A 留言 (message board) page with a CAPTCHA field is content, not a gate.
    board = ("<html><head><title>在线留言</title></head><body><h1>在线留言</h1><form><textarea></textarea>"
             "<input name='captcha' placeholder='请输入验证码'></form></body></html>")
    assert challenge_kind(200, board.encode()) is None


def test_a_rendered_dom_is_a_conversion_record_referring_to_its_document() -> None:
    from warcio.recordbuilder import RecordBuilder

    page = RenderedPage("http://www.example.gov.cn/", "<html><body>渲染</body></html>".encode(), "<urn:uuid:1>",
                        "Chrome/1.0")
    record = build_conversion(RecordBuilder(warc_version="1.1"), page)
    out = io.BytesIO()
    WARCWriter(out, gzip=True).write_record(record)
    out.seek(0)
    records = [(record, record.content_stream().read()) for record in ArchiveIterator(out, check_digests=True)]
    (read, content), = records
    assert read.rec_type == "conversion"
    assert read.rec_headers.get_header("WARC-Refers-To") == "<urn:uuid:1>"
    assert read.rec_headers.get_header("WARC-Browser") == "Chrome/1.0"
    assert read.rec_headers.get_header("Content-Type") == "text/html; charset=utf-8"
    assert content == page.dom


def test_the_static_cache_is_bounded_and_redirects_become_routed_navigations() -> None:
    cache = StaticCache(limit=10)
    cache.put("a", 200, {}, b"12345")
    cache.put("b", 200, {}, b"12345")
    cache.get("a")
    cache.put("c", 200, {}, b"12345")
    assert cache.get("b") is None and cache.get("a") and cache.get("c") and cache.size == 10
    assert b'location.replace("http://x/\\u4e2d")' in redirect_page("http://x/中")


@pytest.mark.parametrize("kind", ["jsl", "ruishu", "spa", "captcha", "plain"])
def test_fixture_portals_know_their_articles(kind: str) -> None:
    portal = GatedPortal(kind, "http://127.0.0.1:1", make_articles(30))
    assert len(portal.article_urls()) == 30
