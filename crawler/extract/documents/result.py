"""What extracting one document gives, the statuses it can end in, and its bounds."""

from __future__ import annotations

from dataclasses import dataclass, field

from crawler import settings as defaults

# Every document ends in exactly one of these (attachments.status in the index):
OK = "ok"                    # text extracted
NO_TEXT = "no_text"          # read, but there is no text layer (a scanned PDF, an empty sheet)
ENCRYPTED = "encrypted"      # needs a password
CORRUPT = "corrupt"          # damaged or cut off: not readable as the type its bytes say
UNSUPPORTED = "unsupported"  # a type with no text to extract here (an image, an HTML page, ...)
TOO_LARGE = "too_large"      # over a size bound or the memory cap (bombs end here)
TIMEOUT = "timeout"          # over the time cap (reference loops and the like end here)
TRUNCATED = "truncated"      # the download itself was cut off (WARC-Truncated): not read
FAILED = "failed"            # the extractor died in a way none of the above explains
STATUSES = (OK, NO_TEXT, ENCRYPTED, CORRUPT, UNSUPPORTED, TOO_LARGE, TIMEOUT, TRUNCATED, FAILED)


@dataclass(frozen=True)
class Limits:
    """Bounds on one document, whatever it holds: the ATTACHMENT_* settings (crawler/settings.py)."""

    max_unpacked: int = defaults.ATTACHMENT_MAX_UNPACKED
    max_depth: int = defaults.ATTACHMENT_MAX_DEPTH
    max_members: int = defaults.ATTACHMENT_MAX_MEMBERS
    max_chars: int = defaults.ATTACHMENT_MAX_CHARS

    @classmethod
    def from_settings(cls, settings) -> Limits:
        return cls(settings.getint("ATTACHMENT_MAX_UNPACKED"), settings.getint("ATTACHMENT_MAX_DEPTH"),
                   settings.getint("ATTACHMENT_MAX_MEMBERS"), settings.getint("ATTACHMENT_MAX_CHARS"))


@dataclass
class DocumentText:
    """One document's text and how reading it went."""

    kind: str
    status: str
    text: str = ""
    pages: int | None = None
    error: str | None = None
    # An archive's members: name, kind, status, size (bytes), one dict each.
    members: list[dict] = field(default_factory=list)


class DocumentError(Exception):
    """Reading stopped for a known reason: ``status`` is what the document ends as."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


class Budget:
    """Inflated bytes still allowed for one document (shared by nested archives)."""

    def __init__(self, limit: int) -> None:
        self.left = limit
        self.limit = limit

    def take(self, size: int, what: str) -> None:
        self.left -= size
        if self.left < 0:
            raise DocumentError(TOO_LARGE, f"{what}: more than {self.limit} bytes unpacked (a bomb?)")
