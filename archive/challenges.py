"""Recognise anti-bot challenge pages that Chinese government sites answer with.

They are archived like any response (they are what the server said), flagged in the index,
and never become articles or listings. The gates (瑞数, 加速乐, 创宇盾, WZWS, ...) are data in
``archive/challenges.toml``: status, body and cookie signals, since several answer 200.
Detection reads the *decoded* payload: a challenge served gzip-encoded is still one.
"""

from __future__ import annotations

import re
import tomllib
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from archive.resources import package_path

GATES_FILE = package_path("archive", "challenges.toml")  # a real file, even inside an egg
# Only the head of a payload is searched: challenge markers sit near the top of small pages
# (a 瑞数 stub opens with its $_ts script, a 加速乐 page is one script, WZWS names itself early).
HEAD_BYTES = 8192


@dataclass(frozen=True)
class Rule:
    statuses: frozenset[int]
    markers: tuple[bytes, ...]
    body: tuple[re.Pattern[bytes], ...]
    cookie: re.Pattern[str] | None
    max_body: int | None

    def matches(self, status: int, head: bytes, size: int, cookies: list[str]) -> bool:
        if self.statuses and status not in self.statuses:
            return False
        if self.max_body is not None and size > self.max_body:
            return False
        if self.markers and not any(marker in head for marker in self.markers):
            return False
        if self.body and not any(pattern.search(head) for pattern in self.body):
            return False
        return self.cookie is None or any(self.cookie.search(name) for name in cookies)


def _encodings(text: str) -> list[str]:
    return ["utf-8"] if text.isascii() else ["utf-8", "gbk"]


def _body_patterns(source: str) -> tuple[re.Pattern[bytes], ...]:
    return tuple(re.compile(source.encode(encoding)) for encoding in _encodings(source))


def _markers(texts: list[str]) -> tuple[bytes, ...]:
    return tuple(text.encode(encoding) for text in texts for encoding in _encodings(text))


@cache
def gates() -> tuple[tuple[str, tuple[Rule, ...]], ...]:
    """(name, rules) per gate, in file order, from challenges.toml."""
    data = tomllib.loads(GATES_FILE.read_text(encoding="utf-8"))
    return tuple((gate["name"], tuple(_rule(rule) for rule in gate["rule"])) for gate in data["gate"])


def _rule(rule: dict) -> Rule:
    return Rule(
        statuses=frozenset(rule.get("status", ())),
        markers=_markers(rule.get("marker", [])),
        body=_body_patterns(rule["body"]) if "body" in rule else (),
        cookie=re.compile(rule["cookie"]) if "cookie" in rule else None,
        max_body=rule.get("max_body"),
    )


def decoded_head(body: bytes, content_encoding: str | bytes | None, limit: int = HEAD_BYTES) -> bytes:
    """The first ``limit`` bytes of the payload with gzip/deflate undone (as served if it fails)."""
    if isinstance(content_encoding, bytes):
        content_encoding = content_encoding.decode("latin-1")
    coding = (content_encoding or "").strip().lower()
    if coding in ("gzip", "x-gzip", "deflate"):
        for wbits in (47, -15):  # gzip or zlib (auto-detected), then raw deflate
            try:
                return zlib.decompressobj(wbits).decompress(body[:limit], limit)
            except zlib.error:
                continue
    return body[:limit]


def cookie_names(set_cookies: Iterable[bytes | str]) -> list[str]:
    """Cookie names from Set-Cookie header values."""
    names = []
    for value in set_cookies:
        text = value.decode("latin-1") if isinstance(value, bytes) else value
        names.append(text.split("=", 1)[0].strip())
    return names


def challenge_kind(status: int, body: bytes, set_cookies: Iterable[bytes | str] = (),
                   content_encoding: str | bytes | None = None) -> str | None:
    """The gate's name (``ruishu``, ``jsl``, ``chuangyudun``, ``wzws`` ...) when the response
    is an anti-bot challenge, else None.

    ``body`` is the payload as served; ``content_encoding`` its Content-Encoding, so a
    gzip-served challenge is recognised too. Runs on every response: the head is searched once
    per rule, and most rules fail on status or size first.
    """
    head = decoded_head(body, content_encoding)
    # The decoded size, when the head holds all of it; else at least what was served.
    size = len(head) if content_encoding and len(head) < HEAD_BYTES else max(len(body), len(head))
    cookies = cookie_names(set_cookies)
    for name, rules in gates():
        if any(rule.matches(status, head, size, cookies) for rule in rules):
            return name
    return None


def exchange_challenge(status: int, body: bytes, headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """``challenge_kind`` for a raw response with its header pairs (the archive writer's view)."""
    set_cookies, coding = [], None
    for key, value in headers:
        lowered = key.lower()
        if lowered == b"set-cookie":
            set_cookies.append(value)
        elif lowered == b"content-encoding":
            coding = value
    return challenge_kind(status, body, set_cookies, coding)
