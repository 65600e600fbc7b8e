"""What an author or a source may be, checked before a value is stored.

An author is one or more person names or a named desk (本报评论员, 医技药剂党支部, 某市人民
政府); a source is an organisation or a publication. Bylines hold more than that: page
controls (打印, 收藏本文, 我要说说), role words (记者王某, 陈某 整合, 姚某 上海报道), photo
credits (资料图), a site's name or a list of them, internal ids (L_104485), dates, URLs. The
words and shapes are data (``[author]`` and ``[source]`` in field_rules.toml); this module
only applies them. A value is cleaned where it can be (role words split off, a trailing page
control cut) and rejected where nothing is left, with the reason, so the extraction can try
the next candidate and say why (``invalid_author``, ``invalid_source``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from crawler.extract.rules import RULES, any_of

_AUTHOR = RULES["author"]
_SOURCE = RULES["source"]
_SPACES = re.compile(r"[\s\u00a0\u3000]+")
# Between the names of a credit: spaces, list marks, slashes (文/图 张三).
_TOKEN_SPLIT = re.compile(r"[\s\u00a0\u3000,，、;；:：/／|｜]+")
# Addresses are taken out whole before a credit is split into words.
_ADDRESS = re.compile(r"\S*://\S*|www\.\S+", re.I)
_EDGE = "()（）[]【】<>〈〉《》「」『』\"'“”‘’:：,，.。、;；!！?？-—－_·*"
_HAN = re.compile(r"^[\u3400-\u9fff]$")
_MULTI_ROLES = sorted((w for w in _AUTHOR["role_words"] if len(w) > 1), key=len, reverse=True)
_ONE_CHAR_ROLES = frozenset(w for w in _AUTHOR["role_words"] if len(w) == 1)
# A role word inside a token (记者王某, 新京报记者彭冲), unless it begins a desk's name (编辑部).
_ROLE_INSIDE = re.compile(
    any_of(_MULTI_ROLES) + "(?!" + any_of(_AUTHOR["desk_after_role"]) + ")"
)
_PLACE = re.compile(
    "^(?:.{1,10}" + any_of(_AUTHOR["place_suffixes"]) + "|" + any_of(_AUTHOR["place_prefixes"]) + ".{1,10})$"
)
_CONTROLS = frozenset(_AUTHOR["page_controls"])
_NO_PERSON = frozenset(word.lower() for word in _AUTHOR["no_person"])
_PHOTO = frozenset(_AUTHOR["photo_credits"])
# A publication's name: something before one of its endings (网 alone is no name).
_PUBLICATION = re.compile(".+" + any_of(_AUTHOR["publication_endings"]) + "$")
_NOT_NAME = re.compile(any_of((f"(?:{pattern})" for pattern in _AUTHOR["not_names"]), escape=False), re.I)
_AUTHOR_MAX = int(_AUTHOR["max_length"])
_SOURCE_TAGS = frozenset(_SOURCE["tags"])
_CHANNEL_END = tuple(_SOURCE["channel_endings"])
_SOURCE_MAX = int(_SOURCE["max_length"])
_PART_SPLIT = re.compile(r"\s*[-－—]+\s*")
_SENTENCE = re.compile(r"[。！？!?]")
_NUMBERS = re.compile(r"[\d\s:/._-]+")
_DATE = re.compile(r"(?:19|20)\d{2}\s*[-/.年]\s*\d{1,2}")


@dataclass(frozen=True)
class Verdict:
    """A checked value: what may be stored (None: nothing), and why a part was dropped."""

    value: str | None
    reason: str | None = None


def _squeeze(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _tokens(text: str) -> tuple[list[str], bool]:
    """(the words of a credit, whether lone Han characters were rejoined): a two-character
    name padded to three columns (王  涛) is one name; 大 中 小 is one control."""
    joined = False
    out: list[str] = []
    run: list[str] = []
    for token in _TOKEN_SPLIT.split(text):
        token = token.strip(_EDGE)
        if not token:
            continue
        if _HAN.match(token):
            run.append(token)
            continue
        if run:
            out.append("".join(run))
            joined, run = joined or len(run) > 1, []
        out.append(token)
    if run:
        out.append("".join(run))
        joined = joined or len(run) > 1
    return out, joined


def _token_problem(token: str) -> str | None:
    """Why one word of an author credit is no name (None: it may be one)."""
    if token in _PHOTO:
        return "photo_credit"
    if token.lower() in _NO_PERSON:
        return "no_person"
    if _NOT_NAME.search(token):
        return "not_a_name"
    if _PUBLICATION.match(token):
        return "site_name"
    if len(token) > _AUTHOR_MAX or _SENTENCE.search(token):
        return "sentence"
    return None


def author(value: str | None, site_names: Iterable[str | None] = ()) -> Verdict:
    """The person names or desk in an author credit, or None with the reason.

    Role words are split off, a page control ends the credit, and words that are no name
    (photo credits, ids, dates, URLs, a publication's or site's name) are dropped. A value
    that needed no change is returned as printed (张三、李四 keeps its 、)."""
    text = _squeeze(value or "")
    if not text:
        return Verdict(None, "empty")
    if any(text == name for name in site_names if name):
        return Verdict(None, "site_name")
    kept: list[str] = []
    reason = None
    words = _ADDRESS.sub(" ", text)
    if words != text:
        reason = "not_a_name"
    tokens, changed = _tokens(words)
    changed = changed or words != text
    for token in tokens:
        if token in _CONTROLS:
            reason, changed = reason or "page_control", True
            break  # what follows a page control is more chrome (打印 推荐 关闭)
        if token in _ONE_CHAR_ROLES or _PLACE.match(token):
            changed = True
            continue
        parts = [part.strip(_EDGE) for part in _ROLE_INSIDE.split(token)]
        parts = [part for part in parts if part and part not in _ONE_CHAR_ROLES]
        if parts != [token]:
            changed = True
        for part in parts:
            problem = _token_problem(part)
            if problem:
                reason, changed = reason or problem, True
            else:
                kept.append(part)
    if not kept:
        return Verdict(None, reason or "role_words_only")
    return Verdict(" ".join(kept) if changed else text, reason)


# One word of a person's name: two or three Han characters, a name with · (阿依古丽·买买提),
# a capitalised Latin name.
_PERSON = re.compile(r"^(?:[\u3400-\u9fff]{2,3}|[\u3400-\u9fff]{1,8}·[\u3400-\u9fff·]{1,12}|[A-Z][a-z]+)$")


def is_person_name(value: str | None) -> bool:
    """True when every word of ``value`` is shaped like a person's name (two or three Han
    characters, a name with ·, a capitalised Latin name) and none is a word that names nobody."""
    words = _squeeze(value or "").split(" ")
    return bool(words) and all(_PERSON.match(word) and word.lower() not in _NO_PERSON and word not in _CONTROLS
                               for word in words)


def source(value: str | None) -> Verdict:
    """The organisation or publication a 来源 names, or None with the reason.

    Tags a site adds are dropped (人民网-文化频道 原创稿 -> 人民网); a page control, a date,
    an id, a credited person (记者 张三) or a sentence is no source."""
    text = _squeeze(value or "").strip(_EDGE.replace("《", "").replace("》", "").replace(")", "").replace("）", ""))
    if not text:
        return Verdict(None, "empty")
    words = text.split(" ")
    while words and words[-1] in _SOURCE_TAGS:
        words.pop()
    kept_words = []
    for word in words:
        if word in _CONTROLS:
            break
        kept_words.append(word)
    text = " ".join(kept_words)
    if not text:
        return Verdict(None, "page_control" if words else "tags_only")
    parts = _PART_SPLIT.split(text)
    if len(parts) > 1 and any(part.endswith(_CHANNEL_END) for part in parts[1:]):
        text = "-".join(part for index, part in enumerate(parts) if index == 0 or not part.endswith(_CHANNEL_END))
    if text in _CONTROLS or text in _PHOTO:
        return Verdict(None, "page_control")
    if "://" in text or _NUMBERS.fullmatch(text) or _DATE.search(text):
        return Verdict(None, "not_a_name")
    if text.startswith(tuple(_MULTI_ROLES)):
        return Verdict(None, "person_credit")
    if len(text) > _SOURCE_MAX or _SENTENCE.search(text) or ("，" in text and len(text) > 15):
        return Verdict(None, "sentence")
    return Verdict(text)
