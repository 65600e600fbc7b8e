"""Regression floors: per-page body F1 on every labelled page of the shared corpus.

A floor is the score when it was set, rounded down to 0.05, less 0.05: a change that
loses more than that on any page fails here, whatever it gains elsewhere.
"""

from __future__ import annotations

import json

import pytest
from support import needs_shared

from bench.scoring import CORPUS, body_score, labelled_pages, leaked_chrome
from crawler.extract import extract_article

FLOORS = {
    "ccwced_0df12126": 0.90,
    "ccwced_274a65d9": 0.90,
    "ccwced_36efbc69": 0.90,
    "ccwced_455de1c0": 0.90,
    "ccwced_500b350d": 0.90,
    "ccwced_7c6d2080": 0.95,
    "ccwced_91bdf33e": 0.85,
    "ccwced_a0cb0242": 0.90,
    "ccwced_b4c2eccd": 0.90,
    "ccwced_c25d25c2": 0.85,
    "ccwced_c3f7d079": 0.90,
    "ccwced_d8d4c4ec": 0.50,
    "ccwced_e8847578": 0.80,
    "ccwced_f51248cc": 0.90,
    "cxext_people": 0.95,
    "cxext_sina_2": 0.95,
    "cxext_zhifuzhi": 0.90,
    "cxpy_163_10": 0.90,
    "cxpy_163_40": 0.90,
    "gerapy_ifeng_news1": 0.90,
    "gne_cjddsb_1": 0.95,
    "gne_gsc_1": 0.95,
    "gne_other_1": 0.95,
    "gne_stcn_1": 0.95,
    "gne_xds_1": 0.95,
    "gne_zyyfy_1": 0.90,
    "htmldate_1546021647": 0.90,
    "htmldate_sohu-com-Likeqiang": 0.90,
    "mh_163-com_fd0a94a0": 0.95,
    "mh_360kuai-com_0eebc3ef": 0.90,
    "mh_finance-people-com-cn_1e20e027": 0.90,
    "mh_food-39-net_0987b0ff": 0.80,
    "mh_hk-finance-yahoo-com_2681eeac": 0.00,
    "mh_kepu-gov-cn_4e55eac4": 0.90,
    "mh_news-39-net_d997d758": 0.90,
    "mh_news-gmw-cn_acce09a6": 0.95,
    "mh_news-sina-com-cn_665b6857": 0.90,
    "mh_news-youth-cn_39dd62c5": 0.95,
    "mh_pl-ifeng-com_8f8e788c": 0.95,
    "mh_sohu-com_e7518002": 0.90,
    "mh_toutiao-com_e25d0dd8": 0.95,
    "np4k_chinese_article_001": 0.95,
    "rdb_pixnet": 0.90,
    "simon_wanzai_2015": 0.95,
    "traf_banyuetan-org-10002000331361715779562873": 0.90,
}
PAGES = {page.name: page for page in labelled_pages()} if CORPUS.exists() else {}

pytestmark = needs_shared


def test_every_labelled_page_has_a_floor():
    assert set(PAGES) == set(FLOORS)


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_body_f1_floor(name: str):
    page = PAGES[name]
    item = extract_article(page.html, url=page.url or "")
    assert body_score(item.body, page.truth["body"]).f1 >= FLOORS[name]
    assert not leaked_chrome(item.body, page.truth["body"])


ENGLISH = sorted((CORPUS / "pages_en").glob("*.html")) if CORPUS.exists() else []


@pytest.mark.parametrize("path", ENGLISH, ids=lambda path: path.stem)
def test_english_pages_of_a_portal_extract_too(path):
    truth = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    item = extract_article(path.read_bytes(), url=truth.get("url"))
    assert item.page_kind == "article"
    assert body_score(item.body, truth["body"]).f1 >= 0.9
