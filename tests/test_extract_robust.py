"""Extraction on pages nobody labelled: list pages, broken HTML, wrong charsets, random input."""

from __future__ import annotations

import json
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import CORPUS, ROOT, needs_shared
from zygote import run

from crawler.extract import extract_article
from crawler.extract.page import parse_page
from crawler.extract.pagekind import ARTICLE, LISTING, page_kind

LISTINGS = sorted((CORPUS / "listing").glob("*.html"))
ARTICLES = sorted((CORPUS / "pages").glob("*.html"))
# The generated-input tests below need no corpus; the others read shared/corpus.


@needs_shared
@pytest.mark.parametrize("path", LISTINGS, ids=lambda path: path.stem)
def test_list_pages_are_listings(path):
    assert page_kind(parse_page(path.read_bytes(), "http://example.gov.cn/col/index.html")) == LISTING


@needs_shared
@pytest.mark.parametrize("path", ARTICLES, ids=lambda path: path.stem)
def test_article_pages_are_articles(path):
    assert page_kind(parse_page(path.read_bytes(), "http://example.gov.cn/art/1.html")) == ARTICLE


@needs_shared
def test_undeclared_gbk_pages_decode_without_mojibake():
    for name in ("ccwced_455de1c0", "ccwced_b4c2eccd", "cxext_zhifuzhi"):
        item = extract_article((CORPUS / "pages" / f"{name}.html").read_bytes())
        assert item.encoding.startswith("gb18030"), (name, item.encoding)
        assert "\ufffd" not in item.body and "Ã" not in item.body


@needs_shared
def test_utf8_pages_labelled_gb2312_decode_as_utf8():
    item = extract_article((CORPUS / "pages" / "mh_news-youth-cn_39dd62c5.html").read_bytes())
    assert item.encoding.startswith("utf-8") and "gb2312" in item.encoding


html_fragments = st.lists(
    st.one_of(
        st.sampled_from(["<div>", "</div>", "<p>", "</p>", "<table><tr><td>", "</td></tr></table>", "<br>",
                         "<a href='/x'>", "</a>", "<script>", "</script>", "<!--", "-->", "</html>", "<h1>",
                         "来源：", "发布时间：2020-01-15 08:39", "浏览：", "编辑：张三", "\x00", "&nbsp;",
                         "<meta charset=gbk>"]),
        st.text(max_size=40),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fragments=html_fragments, encoding=st.sampled_from(["utf-8", "gb18030", "utf-16", "latin-1"]))
def test_extract_article_never_raises_on_generated_html(fragments, encoding):
    body = "".join(fragments).encode(encoding, "replace")
    item = extract_article(body, url="http://example.gov.cn/a.html")
    assert isinstance(item.body, str)


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=2000))
def test_extract_article_never_raises_on_random_bytes(body):
    extract_article(body)


@needs_shared
def test_portal_archive_extract_prints_utf8_json():
    page = CORPUS / "pages" / "gne_stcn_1.html"
    result = run([sys.executable, "-m", "archive.cli", "extract", str(page), "--url", "http://x.cn/a"],
                 capture_output=True, cwd=ROOT, check=True)
    text = result.stdout.decode("utf-8")
    assert "\\u" not in text
    data = json.loads(text)
    assert data["title"] == json.loads((page.with_suffix(".json")).read_text(encoding="utf-8"))["title"]
    assert data["url"] == "http://x.cn/a"
