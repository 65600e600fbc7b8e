"""Change a served demo portal between crawls, the ways government portals change.

Tests edit the :class:`demo.site.Site` a running :class:`demo.server.DemoServer` serves
(``server.site``); the next request sees the change. Each function changes one article
page the way a real portal does when it corrects, hides or removes an article, or only
re-renders its chrome.
"""

from __future__ import annotations

import re
from dataclasses import replace
from html import escape

from demo.site import HTML_UTF8, SITE_NAME, Route, Site, _html_route, _page

# What 加速乐 answers before a browser has solved its cookie challenge.
JSL_CHALLENGE = (b"<html><body><script>document.cookie=('_')+('_j')+('sl_clearance_s=1732870000.1|0|abc');"
                 b"location.href=location.pathname+location.search</script></body></html>")


def edit_text(site: Site, path: str, old: str, new: str) -> None:
    """Replace ``old`` by ``new`` in the article's HTML (say, a corrected figure in the body)."""
    route = site.routes[path]
    charset = "gbk" if b"charset=gb2312" in route.body[:400] else "utf-8"
    text = route.body.decode(charset)
    if old not in text:
        raise ValueError(f"{old!r} is not on {path}")
    site.routes[path] = replace(route, body=text.replace(old, new, 1).encode(charset))


def first_paragraph(site: Site, path: str) -> str:
    """The text of the article's first body paragraph (what ``edit_text`` is usually given)."""
    text = site.routes[path].body.decode("utf-8", "replace")
    match = re.search(r'<p style="text-indent:2em;">(.*?)</p>|<p>\u3000\u3000(.*?)</p>', text)
    if match is None:
        raise ValueError(f"no body paragraph on {path}")
    return match.group(1) or match.group(2)


def touch_chrome(site: Site, path: str, views: int = 99999, clock: str = "2026年11月29日 星期日 10:00:00") -> None:
    """Only chrome changes: the view counter, a server-rendered clock and a sidebar line."""
    route = site.routes[path]
    text = route.body.decode("utf-8")
    text, counted = re.subn(r"(浏览[:：]\s*)\d+", lambda m: f"{m.group(1)}{views}", text, count=1)
    if not counted:
        raise ValueError(f"no view counter on {path}")
    text = text.replace('<span id="clock"></span>', f'<span id="clock">{escape(clock)}</span>', 1)
    text = text.replace("服务热线：19943758686", "服务热线：19943758686 值班电话：022-23456119", 1)
    site.routes[path] = replace(route, body=text.encode("utf-8"))


def delete(site: Site, path: str) -> None:
    """The article is gone: the server answers 404."""
    del site.routes[path]


def soft_delete(site: Site, path: str) -> None:
    """The article is replaced by the portal's "page does not exist" template, served with 200."""
    assert site.chrome is not None
    main = ('<div class="error"><h2>页面不存在</h2><p>您访问的页面不存在或已被删除。</p>'
            '<p><a href="/">返回首页</a></p></div>')
    site.routes[path] = _html_route(_page(site.chrome, f"页面不存在_{SITE_NAME}", [], main))


def redirect(site: Site, path: str, to: str = "/") -> None:
    """The article's URL now sends readers elsewhere (the home page by default)."""
    site.routes[path] = Route(302, [("Location", to), ("Content-Type", HTML_UTF8)], b"<html><body>Moved</body></html>")


def challenge(site: Site, path: str) -> None:
    """A 加速乐 WAF challenge (HTTP 521) stands in front of the article."""
    site.routes[path] = Route(521, [("Content-Type", HTML_UTF8)], JSL_CHALLENGE)


def unlist(site: Site, path: str) -> int:
    """Take the article off every listing page (the entry, not the chrome); how many pages changed."""
    tail = re.escape(path[path.index("/", 1):])
    entry = re.compile(rf'<li><span class="date">[^<]*</span><a href="\.{tail}"[^>]*>[^<]*</a></li>\n'
                       rf'|<tr><td class="bt"><a href="{re.escape(path)}"[^>]*>[^<]*</a></td>'
                       r'<td class="rq">[^<]*</td></tr>\n')
    changed = 0
    for listing in site.listings:
        route = site.routes[listing]
        text, count = entry.subn("", route.body.decode("utf-8"))
        if count:
            site.routes[listing] = replace(route, body=text.encode("utf-8"))
            changed += 1
    return changed
