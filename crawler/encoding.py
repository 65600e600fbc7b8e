"""Decode page bytes to text the way Chinese portals need, and say how it was decided.

Order: BOM, HTTP header, ``<meta>``, then detection. Two rules on top of that order come
from real portal pages: a gb2312/gbk label decodes as gb18030 (its superset; GBK bytes
under a gb2312 label are common), and a label is overruled when the bytes are valid UTF-8
but the label says otherwise (pages re-saved as UTF-8 often keep their old gb2312 meta).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import chardet
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom

_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "gb_2312-80": "gb18030", "x-gbk": "gb18030",
              "ascii": "utf-8", "us-ascii": "utf-8", "iso-8859-1": "cp1252", "latin-1": "cp1252",
              "big5": "big5hkscs"}
_WESTERN = {"cp1252", "windows-1252", "iso-8859-1", "latin-1", "ascii", "mac-roman", "iso-8859-2",
            "windows-1250", "cp1250", "maccyrillic", "tis-620", "windows-1254"}


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    how: str  # bom | header | meta | detected, plus what a label said when the bytes overruled it

    def describe(self) -> str:
        return f"{self.encoding} ({self.how})"


def normalise(label: str | None) -> str | None:
    """Python codec name for a charset label, widened to its superset; None if unknown."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _SUPERSETS.get(label, label)
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return _SUPERSETS.get(name, name)


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _detect(body: bytes) -> str:
    if _is_utf8(body):
        return "utf-8"
    guess = normalise((chardet.detect(body[:65536]) or {}).get("encoding")) or "gb18030"
    if guess in _WESTERN or guess.startswith("iso8859") or guess.startswith("cp125"):
        # Western guesses on non-UTF-8 bytes of a Chinese portal are almost always GBK
        # misread; gb18030 maps every byte sequence chardet might have meant.
        return "gb18030"
    return guess


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)


def _raw_label(body: bytes, how: str) -> str | None:
    """The charset as the page wrote it (w3lib reports gb2312 already widened to gb18030)."""
    if how != "meta":
        return None
    match = _META_CHARSET.search(body[:4096])
    return match.group(1).decode("ascii", "replace") if match else None


def decode_html(body: bytes, content_type: str | None = None) -> Decoded:
    """Decode ``body``; never raises, undecodable bytes become U+FFFD."""
    bom_encoding, bom = read_bom(body)
    if bom_encoding:
        encoding = normalise(bom_encoding) or "utf-8"
        return Decoded(body[len(bom):].decode(encoding, "replace"), encoding, "bom")
    for how, label in (
        ("header", http_content_type_encoding(content_type) if content_type else None),
        ("meta", html_body_declared_encoding(body)),
    ):
        encoding = normalise(label)
        if not encoding:
            continue
        said = f"{how} said {_raw_label(body, how) or label}"
        if encoding != "utf-8" and not body.isascii() and _is_utf8(body):
            return Decoded(body.decode("utf-8"), "utf-8", f"bytes are UTF-8; {said}")
        if (encoding == "utf-8" and not _is_utf8(body)) or (encoding in _WESTERN and not body.isascii()):
            detected = _detect(body)
            return Decoded(body.decode(detected, "replace"), detected, f"detected; {said}")
        return Decoded(body.decode(encoding, "replace"), encoding, how)
    encoding = _detect(body)
    return Decoded(body.decode(encoding, "replace"), encoding, "detected")
