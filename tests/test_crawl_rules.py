"""Link following, trap limits, encodings and page kinds, on pages built in the test."""

from __future__ import annotations

from scrapy.http import HtmlResponse

from crawler.discover.links import in_scope, link_extractor, outgoing_urls, script_pages
from crawler.discover.traps import trap_reason, url_shape
from crawler.extract.encoding import decode_html

LIMITS = {"max_length": 2083, "max_segments": 20, "max_repeats": 2}


def test_create_page_html_implies_every_page():
    text = '<script>createPageHTML(4, 0, "index", "shtml");</script>'
    assert script_pages(text, "http://x.gov.cn/col/news/index.shtml") == [
        "http://x.gov.cn/col/news/index.shtml",
        "http://x.gov.cn/col/news/index_1.shtml",
        "http://x.gov.cn/col/news/index_2.shtml",
        "http://x.gov.cn/col/news/index_3.shtml",
    ]


def test_outgoing_urls_stay_on_the_host_and_keep_attachments():
    body = """<html><body><a href="/a.html">a</a><a href="http://other.cn/x.html">x</a>
    <a href="/f/report.pdf">pdf</a><a href="/f/logo.png">png</a><a href="javascript:void(0)">js</a>
    <script>createPageHTML(2, 0, "index", "html");</script></body></html>"""
    response = HtmlResponse("http://127.0.0.1:8080/news/index.html", body=body.encode(), encoding="utf-8")
    urls = outgoing_urls(response, link_extractor(), ["127.0.0.1"])
    assert urls == [
        "http://127.0.0.1:8080/a.html",
        "http://127.0.0.1:8080/f/report.pdf",
        "http://127.0.0.1:8080/news/index.html",
        "http://127.0.0.1:8080/news/index_1.html",
    ]
    assert in_scope("http://www.sub.x.gov.cn/", ["x.gov.cn"]) and not in_scope("http://evilx.gov.cn/", ["x.gov.cn"])


def test_trap_rules():
    assert trap_reason("http://x.cn/a/b/c.html", **LIMITS) is None
    assert trap_reason("http://x.cn/loop/more/more/more/", **LIMITS) == "repeated_segment"
    assert trap_reason("http://x.cn/" + "a/" * 10 + "".join(f"{n}/" for n in range(15)), **LIMITS) == "path_too_deep"
    assert trap_reason("http://x.cn/?q=" + "x" * 3000, **LIMITS) == "url_too_long"
    assert url_shape("http://x.cn/calendar/2020-01.html") == url_shape("http://x.cn/calendar/1999-12.html")
    assert url_shape("http://x.cn/index.html") != url_shape("http://x.cn/index_2.html")


def test_gbk_labelled_gb2312_decodes_as_gb18030():
    text = "消防安全，珺琿𠮷"[:6]
    body = f'<meta charset="gb2312"><p>{text}</p>'.encode("gb18030")
    decoded = decode_html(body, "text/html; charset=gb2312")
    assert text in decoded.text and decoded.encoding == "gb18030" and decoded.how == "header"


def test_undeclared_gbk_is_not_read_as_cp1252():
    body = ("<html><body><p>" + "天津市消防救援总队开展消防安全检查。" * 5 + "</p></body></html>").encode("gbk")
    decoded = decode_html(body)
    assert "天津市消防救援总队" in decoded.text and decoded.encoding == "gb18030"


def test_utf8_page_labelled_gbk_is_read_as_utf8():
    body = '<meta charset="gbk"><p>应急管理部</p>'.encode()
    decoded = decode_html(body, "text/html; charset=gbk")
    assert "应急管理部" in decoded.text and decoded.encoding == "utf-8"


def test_boms_and_invalid_bytes():
    assert decode_html("\ufeff你好".encode("utf-8")).text == "你好"
    assert decode_html("\ufeff你好".encode("utf-16-le")).how == "bom"
    decoded = decode_html(b"\xff\xfe\xfd\x80\x81<p>\xc0\xaf</p>" * 3, "text/html; charset=utf-8")
    assert isinstance(decoded.text, str)
