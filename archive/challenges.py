"""Recognise anti-bot challenge pages that Chinese government sites answer with.

They are archived like any response (they are what the server said), flagged in the index,
and never become articles: 加速乐 (jsl) answers 521 or 412 with a script that sets a
``__jsl_clearance`` cookie; 瑞数/WZWS pages carry ``wzws`` markers, often with status 200.
"""

from __future__ import annotations

import re

_JSL = re.compile(rb"__jsl_clearance|jsl_clearance_s", re.I)
_WZWS = re.compile(rb"wzws(cid|confirm|challenge|_|[a-z]*\.js)|WZWS_CONFIRM", re.I)
_RUISHU = re.compile(rb"\$_ts\s*=|\$_ts\.cd|FSSBBIl1UgzbN7N", re.I)


def challenge_kind(status: int, body: bytes) -> str | None:
    """'jsl', 'wzws' or 'ruishu' when the response is a challenge page, else None."""
    head = body[:20000]
    if _WZWS.search(head):
        return "wzws"
    if _JSL.search(head) or (status in (412, 521) and b"document.cookie" in head):
        return "jsl"
    if status in (412, 202, 200) and _RUISHU.search(head) and len(body) < 50000:
        return "ruishu"
    return None
