"""Extraction's fast paths give exactly the answers of the plain definitions they replace.

Each fast path exists for speed only (bench/extract); these tests hold them to the slow,
obvious version on chosen hard cases and on generated text.
"""

from __future__ import annotations

import re
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.extract import chrome, extract_article, metadata
from crawler.extract.chrome import load_rules, uncased
from crawler.extract.extract import _squeezed
from crawler.extract.page import CJK, PROSE, SENTENCE_MARK, cjk_count, parse_page, prose_count

# Text a Chinese page holds, plus the characters case rules treat specially: the dotless
# and dotted I (ı İ), the long s (ſ), the Kelvin sign (K), ß and full-width Latin.
HARD = [
    "版权所有 © 2020", "CopyRight 2020 某某网", "COPYRIGHT", "copyright", "ıCP备12345号", "İCP证",
    "Kopyright", "QQ：123456", "qq交谈", "ＱＱ：123456", "Straße", "ſ", "打印", "  打印本页  ", "GDP增长5%",
    "abc中def", "ab中c", "", "   ", "\u3000\u00a0", "\U00020000𠀀", "ﬁ", "ǅ", "ΐ",
]
TEXT = st.text(alphabet=st.sampled_from(sorted(set("".join(HARD)) | set("版权所有未经授权转载abcpyrightCIPQ：: \n"))),
               max_size=80)


def _line_rule_with_re_i(line: str):
    for rule in load_rules().lines:
        if len(line) <= rule.max_chars and rule.pattern.search(line):
            return rule
    return None


def _boilerplate_hits_with_re_i(line: str) -> int:
    return sum(len(pattern.findall(line)) for _, pattern, _ in load_rules().boilerplate)


def _is_boilerplate_with_re_i(line: str) -> bool:
    if _line_rule_with_re_i(line) is not None:
        return True
    hits = _boilerplate_hits_with_re_i(line)
    return hits >= 2 or (hits == 1 and (len(line) <= 60 or bool(chrome._PHONE.search(line))))


def test_line_rules_match_as_with_re_i_on_hard_cases():
    rules = load_rules()
    for line in HARD:
        assert rules.line_rule(line) is _line_rule_with_re_i(line), line
    assert rules.line_rule("CopyRight 2020 某某网").name == "footer"  # the case still does not matter
    for line in HARD + ["COPYRIGHT 版权所有" + "文" * 80]:
        assert rules.is_boilerplate(line) == _is_boilerplate_with_re_i(line), line
    assert rules.is_boilerplate("Copyright 2020 某某网 版权所有" + "文" * 200)  # two hits, whatever the case


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_line_rules_match_as_with_re_i(line):
    assert load_rules().is_boilerplate(line) == _is_boilerplate_with_re_i(line)
    assert load_rules().line_rule(line) is _line_rule_with_re_i(line)


def test_uncased_means_no_character_changes_case():
    """The claim ``uncased`` rests on, over all of Unicode: a character that lower() or
    upper() changes never maps to a string starting with itself."""
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        for mapped in (char.lower(), char.upper()):
            assert mapped == char or not mapped.startswith(char), hex(code)
    assert not uncased("ı") and not uncased("K") and not uncased("ǅ") and uncased("版权所有 © 2020")


# The edges of the CJK ranges, surrogates' neighbours and astral characters.
EDGES = st.text(alphabet=st.sampled_from([chr(c) for c in (
    0x33FF, 0x3400, 0x3401, 0x4E00, 0x9FFF, 0xA000, 0xD7FF, 0xE000, 0xF8FF, 0xF900, 0xFAFF, 0xFB00, 0xFFFD,
    0x20000, 0x2F800, 0x10FFFF, 0x61, 0x41, 0x7A, 0x20)]), max_size=40)


def test_cjk_count_of_every_bmp_character():
    for code in range(0x10000):
        assert cjk_count(chr(code) + "x") == len(CJK.findall(chr(code))), hex(code)


@settings(max_examples=300, deadline=None)
@given(st.one_of(TEXT, EDGES, st.text(max_size=80)))
def test_counts_match_findall(text):
    assert cjk_count(text) == len(CJK.findall(text))
    assert prose_count(text) == len(PROSE.findall(text))


def test_counts_on_hard_cases():
    for text in HARD:
        assert cjk_count(text) == len(CJK.findall(text)), text
        assert prose_count(text) == len(PROSE.findall(text)), text
    assert prose_count("abc中def") == 3 and prose_count("ab中c") == 1


def _label_regex_as_written_before(labels, short) -> re.Pattern[str]:
    """The byline label regex in its plain form: the non-Han check before a short label."""
    out = []
    for label in sorted(set(labels), key=len, reverse=True):
        escaped = r"\s*".join(re.escape(char) for char in label) if len(label) > 1 else re.escape(label)
        out.append(rf"(?<![\u4e00-\u9fa5]){escaped}" if label in short else escaped)
    return re.compile(r"(?P<label>" + "|".join(out) + r")\s*[:：]\s*")


LABEL_TEXT = st.text(alphabet=st.sampled_from(sorted(set("文摄撰拍图来源作者编辑时间 ：:/，。中a1\u3000"))),
                     max_size=60)


@settings(max_examples=300, deadline=None)
@given(LABEL_TEXT)
def test_byline_labels_match_as_written_before(text):
    plain = _label_regex_as_written_before(
        (*metadata.SOURCE_LABELS, *metadata.AUTHOR_LABELS, *metadata.DATE_LABELS, *metadata.LATER_DATE_LABELS,
         *metadata.VIEW_LABELS, *metadata.IGNORED_LABELS), set(metadata.RULES["byline"]["short"]))
    assert [(m.span(), m.group("label")) for m in metadata._LABEL.finditer(text)] == [
        (m.span(), m.group("label")) for m in plain.finditer(text)]


def test_byline_short_labels_still_need_a_non_han_before():
    assert metadata.byline_fields("文：张三") == {"文": "张三"}
    assert "文" not in metadata.byline_fields("撰写本文：张三")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(sorted(set("，。；！？,.;!?中a \n\t"))), max_size=40))
def test_sentence_marks_as_two_alternatives(text):
    plain = re.compile(r"[，。；！？]|[,.;!?](?=\s)")
    assert [m.span() for m in SENTENCE_MARK.finditer(text)] == [m.span() for m in plain.finditer(text)]


def test_str_split_knows_the_spaces_of_backslash_s():
    """``_squeezed`` (drop_headline) drops spaces with str.split(), as ``re.sub(r"\\s+", "")``."""
    space = re.compile(r"\s")
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        assert bool(space.match(char)) == (len(f"a{char}b".split()) == 2), hex(code)
    assert _squeezed(" 标 题\u3000一\u00a0二\n") == "标题一二"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(sorted(set("记者通讯员文/图摄影实习生张三李四（）() 、：报道"))), max_size=40))
def test_reporter_prefilters_never_hide_a_match(text):
    """``reporter`` runs each credit regex only where its prefilter finds a word it needs."""
    if metadata._REPORTER.search(text):
        assert "记者" in text
    if metadata._OTHER_CREDIT.search(text):
        assert metadata._ANY_CREDIT_WORD.search(text)


def test_page_text_prefilters():
    html = ("<html><body><div>当前</div><div>位置：首页 &gt; 新闻</div><p>页面生</p><p>成时间：2020-01-15 10:30</p>"
            "<p>本页生成时间：2021-02-03 04:05</p></body></html>").encode()
    page = parse_page(html, url="http://example.gov.cn/a.html")
    # The label split over two paragraphs is none; the whole one is found.
    assert [moment.isoformat() for moment in metadata.generation_times(page)] == ["2021-02-03T04:05:00+08:00"]
    assert extract_article(html, url="http://example.gov.cn/a.html").channel == "新闻"
