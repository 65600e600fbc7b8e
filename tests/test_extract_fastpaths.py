"""Extraction's fast paths give exactly the answers of the plain definitions they replace.

Each fast path exists for speed only (bench/extract); these tests hold them to the slow,
obvious version on chosen hard cases and on generated text.
"""

from __future__ import annotations

import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.extract.chrome import load_rules, uncased
from crawler.extract.page import CJK, PROSE, cjk_count, prose_count

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


def test_line_rules_match_as_with_re_i_on_hard_cases():
    rules = load_rules()
    for line in HARD:
        assert rules.line_rule(line) is _line_rule_with_re_i(line), line
    assert rules.line_rule("CopyRight 2020 某某网").name == "footer"  # the case still does not matter


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_line_rules_match_as_with_re_i(line):
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


@settings(max_examples=300, deadline=None)
@given(st.one_of(TEXT, st.text(max_size=80)))
def test_counts_match_findall(text):
    assert cjk_count(text) == len(CJK.findall(text))
    assert prose_count(text) == len(PROSE.findall(text))


def test_counts_on_hard_cases():
    for text in HARD:
        assert cjk_count(text) == len(CJK.findall(text)), text
        assert prose_count(text) == len(PROSE.findall(text)), text
    assert prose_count("abc中def") == 3 and prose_count("ab中c") == 1
