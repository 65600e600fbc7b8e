"""Every labelled page of the shared corpus, scored against the truth its JSON carries.

Body: F1 of at least 0.9 on every page, unless its truth is documented below as partial
(``PARTIAL`` in bench/scoring.py, shared with the benchmark); no chrome phrase the true body
lacks. Fields: title, author, source and publication day equal to the truth on every page
whose truth has them, unless ``FIELD_NOTES`` (bench/scoring.py) documents why that truth is
not the field's value. The truth comes from the corpus JSON
(shared/corpus/SOURCES.md says where each label comes from), never from this code's output.
"""

from __future__ import annotations

import json

import pytest
from support import needs_shared

from bench.scoring import CORPUS, FIELD_NOTES, PARTIAL, body_score, day_of, labelled_pages, leaked_chrome, same_text
from crawler.extract import extract_article

FLOOR = 0.9
PAGES = {page.name: page for page in labelled_pages()} if CORPUS.exists() else {}

pytestmark = needs_shared


ITEMS: dict[str, object] = {}


def item_of(name: str):
    if name not in ITEMS:
        page = PAGES[name]
        ITEMS[name] = extract_article(page.html, url=page.url or "")
    return ITEMS[name]


def test_partial_truths_are_labelled_pages():
    assert set(PARTIAL) <= set(PAGES)
    assert {name for name, _ in FIELD_NOTES} <= set(PAGES)


@pytest.mark.parametrize("name", sorted(PAGES))
def test_body_f1_floor(name: str):
    item = item_of(name)
    truth = PAGES[name].truth["body"]
    assert item.page_kind == "article"
    assert body_score(item.body, truth).f1 >= PARTIAL.get(name, FLOOR)
    assert not leaked_chrome(item.body, truth)


FIELD_CASES = sorted(
    (name, field) for name, page in PAGES.items() for field in ("title", "author", "source", "published")
    if page.truth.get(field) and (name, field) not in FIELD_NOTES
)


@pytest.mark.parametrize(("name", "field"), FIELD_CASES)
def test_field_equals_truth(name: str, field: str):
    item = item_of(name)
    want = PAGES[name].truth[field]
    if field == "published":
        assert day_of(item.published_at) == day_of(want), (item.published_at, want)
    else:
        got = getattr(item, field)
        assert same_text(got, want), (got, want)


def test_disclosure_fields_of_the_labelled_page():
    """The one 信息公开 page of the corpus: its truth body carries the table's values."""
    item = item_of("ccwced_e8847578")
    truth = PAGES["ccwced_e8847578"].truth
    for value in (item.index_no, item.issuer, item.doc_no, item.topic):
        assert value and value in truth["body"]
    assert item.index_no == "11220000013544357T/2022-00426"
    assert item.doc_no == "吉政明电〔2022〕1号"
    assert item.issuer == "吉林省人民政府"
    assert item.written_at == "2022-01-27" == day_of(truth["published"])
    assert day_of(item.published_at) == "2022-01-28"  # 发布日期 in the page's table


ENGLISH = sorted((CORPUS / "pages_en").glob("*.html")) if CORPUS.exists() else []


@pytest.mark.parametrize("path", ENGLISH, ids=lambda path: path.stem)
def test_english_pages_of_a_portal_extract_too(path):
    truth = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    item = extract_article(path.read_bytes(), url=truth.get("url"))
    assert item.page_kind == "article"
    assert body_score(item.body, truth["body"]).f1 >= 0.9
