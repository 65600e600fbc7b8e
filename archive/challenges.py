"""Recognise anti-bot challenge pages that Chinese government sites answer with.

They are archived like any response (they are what the server said), flagged in the index,
and never become articles: 加速乐 (jsl) answers 521 or 412 with a script that sets a
``__jsl_clearance`` cookie; 瑞数/WZWS pages carry ``wzws`` markers, often with status 200.
"""

from __future__ import annotations

import re

_WZWS = re.compile(rb"wzws(cid|confirm|challenge|_|[a-z]*\.js)|WZWS_CONFIRM", re.I)
_RUISHU = re.compile(rb"\$_ts\s*=|\$_ts\.cd|FSSBBIl1UgzbN7N", re.I)


def challenge_kind(status: int, body: bytes) -> str | None:
    """'jsl', 'wzws' or 'ruishu' when the response is a challenge page, else None.

    Runs on every response, so plain substring tests (C speed) gate the regexes.
    """
    head = body[:20000]
    if (b"wzws" in head or b"WZWS" in head) and _WZWS.search(head):
        return "wzws"
    if b"jsl_clearance" in head or (status in (412, 521) and b"document.cookie" in head):
        return "jsl"
    if b"$_ts" in head and status in (412, 202, 200) and len(body) < 50000 and _RUISHU.search(head):
        return "ruishu"
    return None
