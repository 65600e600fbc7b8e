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
    # The bytes are not text at all (a PDF, an image, an archive served as text/html): any
    # decoding of them is noise, so no page kind that needs prose may be given to them.
    binary: bool = False

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


def _as_utf8(body: bytes) -> str | None:
    """The text, when the bytes are valid UTF-8."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


# The detector reads at most this many bytes, taken where the text is: the <head> of a
# Chinese page is mostly ASCII, and chardet's cost grows with its input (an undeclared GBK
# page used to cost 10-28 ms in detection alone).
DETECT_SAMPLE = 4096
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")


def detection_sample(body: bytes, size: int = DETECT_SAMPLE) -> bytes:
    """``size`` bytes starting at the first non-ASCII byte (always a character boundary,
    since the byte before it is ASCII), or the page's start when it is all ASCII."""
    match = _HIGH_BYTE.search(body)
    start = match.start() if match else 0
    return body[start:start + size]


# What a Chinese portal's undeclared bytes can be, once UTF-8 is ruled out (checked first,
# strictly): the CJK legacy encodings and the Western one pages are mislabelled with.
# Naming them spares chardet trying every encoding it knows (several times faster).
DETECT_ENCODINGS = ("gb18030", "big5", "shift_jis", "euc-jp", "euc-kr", "cp1252")


def _chardet(sample: bytes) -> str | None:
    result = chardet.detect(sample, include_encodings=DETECT_ENCODINGS)
    return (result or {}).get("encoding")


def _detect(body: bytes) -> str:
    if _as_utf8(body) is not None:
        return "utf-8"
    guess = normalise(_chardet(detection_sample(body))) or "gb18030"
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


# Signatures of formats that are never HTML, and the control bytes text does not contain.
_BINARY_MAGIC = (b"%PDF-", b"PK\x03\x04", b"\x89PNG", b"GIF87a", b"GIF89a", b"\xff\xd8\xff", b"\x1f\x8b",
                 b"Rar!", b"7z\xbc\xaf", b"\xd0\xcf\x11\xe0", b"RIFF", b"\x00\x00\x01\x00", b"OggS",
                 b"ID3", b"\x7fELF")
_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")


def looks_binary(body: bytes, size: int = 2048) -> bool:
    """True when the bytes are no text: a known binary signature at the start, or control
    bytes (NUL and the like, never in HTML) in more than 1% of the first ``size`` bytes."""
    head = body[:size].lstrip()
    if any(head.startswith(magic) for magic in _BINARY_MAGIC):
        return True
    return len(_CONTROL.findall(head)) > max(2, len(head) // 100)


def decode_html(body: bytes, content_type: str | None = None) -> Decoded:
    """Decode ``body``; never raises, undecodable bytes become U+FFFD."""
    bom_encoding, bom = read_bom(body)
    declared = (http_content_type_encoding(content_type) if content_type else None) or ""
    if not bom_encoding and "16" not in declared and "32" not in declared and looks_binary(body):
        return Decoded("", "binary", "binary bytes", binary=True)
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
        ascii_only = body.isascii()
        # Decoded once, strictly: the check that the bytes are UTF-8 is also their text.
        as_utf8 = _as_utf8(body) if encoding == "utf-8" or not ascii_only else None
        if encoding != "utf-8" and not ascii_only and as_utf8 is not None:
            return Decoded(as_utf8, "utf-8", f"bytes are UTF-8; {said}")
        if (encoding == "utf-8" and as_utf8 is None) or (encoding in _WESTERN and not ascii_only):
            detected = _detect(body)
            return Decoded(body.decode(detected, "replace"), detected, f"detected; {said}")
        if as_utf8 is not None and encoding == "utf-8":
            return Decoded(as_utf8, encoding, how)
        return Decoded(body.decode(encoding, "replace"), encoding, how)
    encoding = _detect(body)
    return Decoded(body.decode(encoding, "replace"), encoding, "detected")
