"""A meta refresh is followed as Scrapy follows it, and a huge page is not decoded whole to
look for one (crawler/fetch/middlewares.py: HeadMetaRefreshMiddleware)."""

from __future__ import annotations

import tracemalloc

from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from crawler.fetch.middlewares import HeadMetaRefreshMiddleware

REFRESH = b'<html><head><meta http-equiv="refresh" content="0; url=/moved.html"></head><body>'
FILLER = ("<p>" + "无尽的页面内容" * 1000 + "</p>\n").encode()


def answer(body: bytes) -> tuple[HtmlResponse, Request | HtmlResponse, int]:
    """The response, what the middleware made of it, and the peak of what it allocated."""
    middleware = HeadMetaRefreshMiddleware.from_crawler(get_crawler())
    request = Request("http://127.0.0.1/page.html")
    response = HtmlResponse(request.url, body=body, headers={"Content-Type": "text/html; charset=utf-8"},
                            request=request)
    tracemalloc.start()
    try:
        result = middleware.process_response(request, response)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return response, result, peak


def test_a_refresh_in_the_head_of_a_small_or_a_huge_page_is_followed():
    for body in (REFRESH + b"</body></html>", REFRESH + FILLER * 1000):  # 0.1 KiB, 21 MiB
        _, result, _ = answer(body)
        assert isinstance(result, Request) and result.url == "http://127.0.0.1/moved.html"


def test_a_huge_page_without_a_refresh_is_passed_on_undecoded():
    body = b"<html><body>" + FILLER * 1000  # 21 MiB of Chinese text: decoded whole, a 14 MB string
    response, result, peak = answer(body)
    assert result is response
    assert peak < 1 << 20, f"{peak / 2**20:.1f} MiB allocated looking for a refresh"
