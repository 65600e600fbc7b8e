"""What happened to a known article when it was checked again: the ``article_events`` table.

A daily crawl re-checks some known articles (crawler/schedule/revisit.py decides which). Each
re-check becomes one event row, whose ``kind`` is one of:

- ``unchanged``: a 304, or a page whose extracted title, body and published date are the
  same (chrome such as a view counter, a clock or a sidebar never counts);
- ``edited``: the extracted title, body or published date changed; the new text is a new
  ``articles`` row on the event's capture, the old one is ``article_id`` on
  ``previous_capture_id``;
- ``deleted``: 404 or 410;
- ``redirected-away``: a redirect to the home page or a channel page; ``moved``: a
  redirect anywhere else (``detail`` holds the target);
- ``soft-deleted``: a 200 page that says the content is gone (phrases in
  archive/gone_pages.toml), or that is no longer an article at all (an error template);
- ``attachment-changed``: a file the article links (PDF, DOC …) was fetched again and its
  bytes differ; ``capture_id`` is the new file's capture, ``previous_capture_id`` the old
  one's, and ``detail`` names the file (written by archive/attachments.py);
- ``blocked``: an anti-bot challenge (archive/challenges.py), a 403/429/5xx or a network
  error: the server did not say anything about the article, so this is never evidence of
  deletion.

A re-check of an article that is gone (its last event other than ``blocked`` is deleted,
redirected-away or soft-deleted) that finds it still gone records the same kind again: a
404 is ``deleted`` again, and a 304 is the gone kind again, never ``unchanged`` (it was
asked with the validators of the page it answered when found gone, or with none;
crawler/schedule/revisit.py). So the article's status stays gone (``article_status``).

Classification here is plain functions over what the crawler saw, so it runs (and is
tested) without Scrapy; the SQL helpers serve ``Index.events()`` and the CLI.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from sqlalchemy import Connection, select

from archive.challenges import challenge_kind
from archive.models import article_events, articles, captures
from archive.resources import package_path

UNCHANGED, EDITED, DELETED = "unchanged", "edited", "deleted"
REDIRECTED_AWAY, MOVED, SOFT_DELETED, BLOCKED = "redirected-away", "moved", "soft-deleted", "blocked"
ATTACHMENT_CHANGED = "attachment-changed"
KINDS = (UNCHANGED, EDITED, DELETED, REDIRECTED_AWAY, MOVED, SOFT_DELETED, BLOCKED, ATTACHMENT_CHANGED)
# Kinds after which the article is no longer there (re-checked at the slowest rate).
GONE = (DELETED, REDIRECTED_AWAY, SOFT_DELETED)

RULES = package_path("archive", "gone_pages.toml")  # a real file, even inside an egg
_SPACES = re.compile(r"\s+")


@dataclass
class EventRow:
    """An event for the archive writer; ``record_id`` is the re-check response's WARC-Record-ID
    (None when no response came back), which the writer turns into ``capture_id``."""

    record_id: str | None
    fields: dict[str, Any]


@dataclass(frozen=True)
class GoneRules:
    phrases: tuple[str, ...]
    max_body_chars: int
    channel_paths: tuple[re.Pattern[str], ...]


@cache
def gone_rules(path: Path = RULES) -> GoneRules:
    """The soft-deletion phrases and channel-page patterns (data, archive/gone_pages.toml)."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return GoneRules(tuple(data.get("phrases", ())), int(data.get("max_body_chars", 300)),
                     tuple(re.compile(pattern) for pattern in data.get("channel_paths", ())))


def gone_phrase(text: str | None, rules: GoneRules | None = None) -> str | None:
    """The first "content gone" phrase in ``text`` (whitespace ignored), or None."""
    if not text:
        return None
    squeezed = _SPACES.sub("", text)
    for phrase in (rules or gone_rules()).phrases:
        if phrase in squeezed:
            return phrase
    return None


def is_channel_page(url: str, rules: GoneRules | None = None) -> bool:
    """Is ``url`` a home or channel page (where a taken-down article's URL often redirects)?"""
    path = urlsplit(url).path
    return any(pattern.search(path) for pattern in (rules or gone_rules()).channel_paths)


def classify_response(url: str, status: int, body: bytes = b"", location: str | None = None) -> tuple[str, str] | None:
    """(kind, detail) decided by the response alone, or None when the page must be read.

    A challenge page wins over its status (加速乐 answers 521, WZWS 200); a redirect is
    judged by where it points, relative to the article's own URL.
    """
    if kind := challenge_kind(status, body):
        return BLOCKED, f"challenge:{kind} (HTTP {status})"
    if status == 304:
        return UNCHANGED, "HTTP 304"
    if status in (404, 410):
        return DELETED, f"HTTP {status}"
    if 300 <= status < 400:
        if not location:
            return BLOCKED, f"HTTP {status} without Location"
        target = urljoin(url, location)
        if target == url:
            return BLOCKED, f"HTTP {status} to itself"
        return (REDIRECTED_AWAY if is_channel_page(target) else MOVED), target
    if status in (403, 429) or status >= 500 or status < 200:
        return BLOCKED, f"HTTP {status}"
    if status != 200:
        return BLOCKED, f"HTTP {status}"
    return None


def classify_page(title: str | None, body: str | None, is_article: bool,
                  visible_text: str = "") -> tuple[str, str] | None:
    """``soft-deleted`` (with why) for a 200 page that no longer holds the article, else None.

    An article page with a short body (the portal's error template rendered as an article)
    whose title or body carries a gone phrase is one; a long article that merely mentions
    a phrase is not. A page that is not an article any more is one too, phrase or not.
    """
    rules = gone_rules()
    if not is_article:
        phrase = gone_phrase(visible_text, rules) or gone_phrase(title, rules)
        return SOFT_DELETED, f"phrase: {phrase}" if phrase else "no article on the page any more"
    if len(_SPACES.sub("", body or "")) > rules.max_body_chars:
        return None
    phrase = gone_phrase(title, rules) or gone_phrase(body, rules)
    return (SOFT_DELETED, f"phrase: {phrase}") if phrase else None


def normalised_body(body: str | None, template_keys: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """Body lines as compared: whitespace removed, empty and site-template lines dropped.

    Template lines are the site's learned chrome (``site_templates``): the stored version was
    stripped of the templates known then, the new one of those known now.
    """
    lines = (_SPACES.sub("", line) for line in (body or "").split("\n"))
    return [line for line in lines if line and line not in template_keys]


def changed_fields(old: dict[str, Any], new: dict[str, Any],
                   template_keys: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """Which of title, body and published date differ between two versions ([] = unchanged)."""
    changed = []
    if _SPACES.sub("", old.get("title") or "") != _SPACES.sub("", new.get("title") or ""):
        changed.append("title")
    if normalised_body(old.get("body"), template_keys) != normalised_body(new.get("body"), template_keys):
        changed.append("body")
    if (old.get("published_at") or "") != (new.get("published_at") or ""):
        changed.append("published_at")
    return changed


def last_status(conn: Connection, url: str) -> tuple[str, int | None] | None:
    """(kind, capture_id) of ``url``'s latest event that reached the server (not ``blocked``)."""
    row = conn.execute(
        select(article_events.c.kind, article_events.c.capture_id)
        .where(article_events.c.url == url, article_events.c.kind != BLOCKED)
        .order_by(article_events.c.id.desc()).limit(1)
    ).first()
    return (row.kind, row.capture_id) if row else None


def still_gone(status: tuple[str, int | None] | None, verdict: tuple[str, str]) -> tuple[str, str]:
    """The verdict on a 304 (``unchanged``) for an article whose ``last_status`` is gone: that
    gone kind again."""
    if verdict[0] == UNCHANGED and status is not None and status[0] in GONE:
        return status[0], f"HTTP 304: still {status[0]} (unchanged since that check)"
    return verdict


def latest_version(conn: Connection, url: str) -> dict[str, Any] | None:
    """The newest ``articles`` row of ``url`` (by capture time), with its capture's time."""
    row = conn.execute(
        select(articles.c.id, articles.c.capture_id, articles.c.title, articles.c.body, articles.c.published_at,
               articles.c.site, captures.c.fetched_at)
        .join(captures, captures.c.id == articles.c.capture_id, isouter=True)
        .where(articles.c.url == url)
        .order_by(articles.c.id.desc())
        .limit(1)
    ).first()
    return dict(row._mapping) if row else None
