"""Demo portals dressed as real news pages are: every article names 10-30 requisites.

Issue 26 came from a crawl of portals whose articles carried what their original sites
carried: site-wide stylesheets and scripts, images per page, and ad, statistics, share and
chat scripts with long query strings. This builds such portals from the demo generator
(``demo.site.build_site``), reproducibly, with the truth the tests and ``bench/fleet`` need:

- ``shared``: on every page of the portal (stylesheets, scripts, icons; two images named
  only by a stylesheet's ``url()``), fetched once per crawl;
- per page: a QR-code image and 1-3 photos (``photos``);
- ``trackers``: per page 4-8 ad/statistics/share/chat URLs, some on the portal's own host
  (self-hosted Baidu share, proxied statistics), some on the trackers' hosts; the crawl's
  block list must skip them all;
- ``reposted``: articles whose text (title and body) appears on several portals under each
  portal's own URL, as 转载 articles do on government portals, some of them over several
  pages; ``real_pages`` adds real pages (bytes as saved) the same way.

The pages link only loopback URLs or tracker hosts that the block list names, so a crawl of
them never leaves the machine unless its block list is broken *and* a tracker host is
admitted by ``REQUISITES_HOSTS``.
"""

from __future__ import annotations

import hashlib
import html
import random
from dataclasses import dataclass, field
from urllib.parse import quote

from demo.site import CHANNELS, HTML_UTF8, SENTENCES, Route, Site, build_site, gif

# Shared by every page of a portal (named in the HTML), and the two images base.css names.
SHARED_HEAD = (
    '<link rel="stylesheet" href="/css/base.css">\n<link rel="stylesheet" href="/css/print.css" media="print">\n'
    '<link rel="icon" href="/favicon.ico">\n<script src="/js/jquery-1.11.3.min.js"></script>\n'
    '<script src="/js/nav.js"></script>\n'
)
SHARED_BODY = ('<div class="foot-logo"><img src="/images/banner.jpg" alt="">'
               '<img src="/images/gongan.png" alt=""></div>\n')
SHARED = ["/images/style.css", "/js/common.js", "/images/logo.gif", "/images/bg.gif", "/css/base.css",
          "/css/print.css", "/favicon.ico", "/js/jquery-1.11.3.min.js", "/js/nav.js", "/images/banner.jpg",
          "/images/gongan.png", "/images/nav_bg.png", "/images/icons.png"]
BASE_CSS = b".nav{background:url(/images/nav_bg.png) repeat-x}.ico{background:url(../images/icons.png)}\n"
SCRIPT = "application/javascript"
# Self-hosted and proxied trackers: Baidu share, Baidu union, CNZZ statistics, JiaThis share.
TRACKER_PATHS = ["/static/api/js/share.js", "/cpro/auto_dup", "/stat/z_stat.php", "/jiathis/jia.js"]


@dataclass
class RequisitePortal:
    """A dressed portal and its truth (paths on the portal's host; trackers as full URLs)."""

    site: Site
    # Article paths (the generator's, and the reposted ones) with their titles.
    articles: dict[str, str] = field(default_factory=dict)
    # Requisites a crawl should fetch: page path -> the paths it names (shared ones included).
    requisites: dict[str, set[str]] = field(default_factory=dict)
    # (block-list rule, URL) of the trackers each page names: on the portal's own host (a
    # path), or absolute.
    trackers: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # Reposted article paths -> the repost's key (the same key on every portal carrying it).
    reposted: dict[str, str] = field(default_factory=dict)


def _digest(*parts: object) -> str:
    return hashlib.sha1(":".join(map(str, parts)).encode()).hexdigest()


def tracker_urls(rng: random.Random, page: str, title: str) -> list[tuple[str, str]]:
    """4-8 (block-list rule, URL) pairs for one page: ad, statistics, share and chat URLs with
    the long, page-specific query strings real ones have; the first ones on the portal's own
    host (paths), the rest on the trackers' hosts."""
    stamp = 1579048769 + rng.randrange(10**6)
    qid = _digest(page, "hm")[:32]
    on_host = [
        ("baidu_share", f"/static/api/js/share.js?v=89860593.js?cdnversion={stamp // 3600}"),
        ("baidu_union", f"/cpro/auto_dup?psi={qid}&di={rng.randrange(10**7)}&dri=0&dis=0&dai=1&ps=0x0&enu=encoding"
         f"&dcb=___baidu_union_callback_&dtm=AUTO_JSONP&dvi=0.0&dci=-1&dpt=none&tsr=0&tpr={stamp}123"
         f"&ti={quote(title)}&ari=2&dbv=2&drs=1&pcs=1349x657&pss=1349x{rng.randrange(900, 4000)}&cfv=0&cpl=3"
         f"&chi=1&cdo=-1&tcn={stamp}&qn={qid[:16]}&tt={stamp}123.{rng.randrange(99)}.{rng.randrange(99)}"),
        ("cnzz", f"/stat/z_stat.php?id=1274058077&web_id=1274058077&show=pic&u={quote(page, safe='')}&r={stamp}"),
        ("share_widgets", f"/jiathis/jia.js?uid={rng.randrange(10**6, 10**7)}&t={stamp}"),
    ]
    off_host = [
        ("baidu_tongji", f"https://hm.baidu.com/hm.js?{qid}"),
        ("baidu_union", f"https://pos.baidu.com/auto_dup?psi={qid}&di={rng.randrange(10**7)}"
         f"&dcb=___baidu_union_callback_&ti={quote(title)}&tcn={stamp}"),
        ("cnzz", f"https://s4.cnzz.com/z_stat.php?id=1274058077&web_id=1274058077&t={stamp}"),
        ("51la", f"https://ia.51.la/go1?id=19134587&rt={stamp}&rl=1349*657&lang=zh-CN&ct=unknow&pf=1&ins=1&cd=24"),
        ("chat_widgets", f"https://tb.53kf.com/code/code/{qid[:24]}/1?t={stamp}"),
        ("share_widgets", f"http://v3.jiathis.com/code/jia.js?uid={rng.randrange(10**6, 10**7)}"),
    ]
    return rng.sample(on_host, rng.randint(2, 4)) + rng.sample(off_host, rng.randint(2, 4))


def _tracker_tags(trackers: list[tuple[str, str]]) -> str:
    tags = []
    for _, url in trackers:
        if "z_stat" in url or "51.la" in url:
            tags.append(f'<img src="{html.escape(url)}" width="0" height="0" alt="">')
        else:
            tags.append(f'<script src="{html.escape(url)}" charset="utf-8"></script>')
    return "\n".join(tags) + "\n"


def _dress(route: Route, head: str, body: str) -> None:
    route.body = route.body.replace(b"</head>", head.encode() + b"</head>", 1)
    route.body = route.body.replace(b"</body>", body.encode() + b"</body>", 1)


@dataclass(frozen=True)
class Repost:
    """An article several portals repost word for word (转载), each under its own URL; one of
    ``pages`` pages (a TRS pager script names the others: NAME_1.html ...)."""

    key: str
    title: str
    paragraphs: tuple[str, ...]
    pages: int = 1

    def page_text(self, page: int) -> tuple[str, ...]:
        """The paragraphs on page ``page`` (0-based)."""
        size = -(-len(self.paragraphs) // self.pages)
        return self.paragraphs[page * size:(page + 1) * size]


def _repost_page(repost: Repost, page: int, name: str, label: str, when: str) -> bytes:
    text = "".join(f"<p>\u3000\u3000{p}</p>\n" for p in repost.page_text(page))
    pager = (f'<div class="page"><script>createPageHTML({repost.pages}, {page}, "{name}", "html");</script></div>\n'
             if repost.pages > 1 else "")
    return (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{repost.title}</title>\n'
            '<link rel="stylesheet" href="/images/style.css">\n<script src="/js/common.js"></script>\n</head>\n'
            f'<body><div class="crumb">当前位置：<a href="/">首页</a> &gt; <a href="/zz/index.html">{label}</a></div>\n'
            f'<div class="article"><h1>{repost.title}</h1>\n'
            f'<div class="info">来源：中国应急信息网 发布时间：{when}</div>\n'
            f'<div id="zoom">\n{text}</div>\n{pager}</div>\n<div class="db"><p>版权所有：示例消防网</p></div>\n'
            '</body></html>\n').encode()


def reposts(count: int, seed: int = 0, multipage_every: int = 0) -> list[Repost]:
    """``count`` articles that several portals repost word for word; every
    ``multipage_every``-th one spans five pages."""
    rng = random.Random(f"reposts:{seed}")
    out = []
    for k in range(count):
        sentences = rng.sample(SENTENCES, 10)
        title = f"转载：关于做好{2020 + k % 5}年第{k + 1}批消防安全重点工作的通知"
        pages = 5 if multipage_every and k % multipage_every == multipage_every - 1 else 1
        out.append(Repost(f"repost{k}", title, tuple("".join(sentences[i:i + 2]) for i in range(0, 10, 2)), pages))
    return out


def build_requisite_site(seed: int = 0, style: str = "trs", channels: int = 3, articles_per_channel: int = 12,
                         per_page: int = 6, shared_reposts: list[Repost] | None = None,
                         real_pages: list[tuple[str, bytes]] | None = None,
                         photos: tuple[int, int] = (1, 3)) -> RequisitePortal:
    """A demo portal whose every article page names 10-30 requisites (see the module docstring).

    ``shared_reposts`` (from ``reposts``) and ``real_pages`` (name, bytes) are listed on a 转载
    channel (``/zz/index.html``, linked from the home page) under this portal's own URLs.
    ``photos`` is the range of images each article names besides its QR code."""
    site = build_site(style=style, channels=channels, articles_per_channel=articles_per_channel,
                      per_page=per_page, seed=seed, extras=False)
    portal = RequisitePortal(site, articles=dict(site.articles))
    rng = random.Random(f"requisites:{seed}")
    static = {
        "/css/base.css": ("text/css", BASE_CSS), "/css/print.css": ("text/css", b"body{font-size:10pt}\n"),
        "/js/jquery-1.11.3.min.js": (SCRIPT, b"/*! jQuery v1.11.3 stand-in */var jQuery=function(){};\n"),
        "/js/nav.js": (SCRIPT, b"var NAV=1;\n"), "/favicon.ico": ("image/x-icon", gif(1, 2, 3)),
        "/images/banner.jpg": ("image/jpeg", gif(9, 9, 9)), "/images/gongan.png": ("image/png", gif(8, 8, 8)),
        "/images/nav_bg.png": ("image/png", gif(7, 7, 7)), "/images/icons.png": ("image/png", gif(6, 6, 6)),
    }
    for c in range(channels):
        static[f"/images/{CHANNELS[c][0]}_title.png"] = ("image/png", gif(c, 5, 5))
    for path in TRACKER_PATHS:  # answered as the real ones are (a query string falls back to the path)
        static[path] = (SCRIPT, b"(function(){var i=new Image();i.src='/stat/pixel.gif';})();\n")
    for path, (ctype, body) in static.items():
        site.routes[path] = Route(headers=[("Content-Type", ctype)], body=body)

    zz_items: list[tuple[str, str]] = []
    for repost in shared_reposts or []:
        name = f"t2020_{_digest(seed, repost.key)[:8]}"
        folder = f"/zz/2020{rng.randrange(1, 13):02d}/"
        for page in range(repost.pages):
            path = folder + (f"{name}.html" if page == 0 else f"{name}_{page}.html")
            site.routes[path] = Route(headers=[("Content-Type", HTML_UTF8)],
                                      body=_repost_page(repost, page, name, "转载", "2020-03-01 09:00"))
        path = f"{folder}{name}.html"
        portal.articles[path], portal.reposted[path] = repost.title, repost.key
        zz_items.append((path, repost.title))
    for name, body in real_pages or []:
        path = f"/zz/real/t2020_{_digest(seed, name)[:8]}.html"
        site.routes[path] = Route(headers=[("Content-Type", "text/html")], body=body)
        portal.articles[path], portal.reposted[path] = name, name
        zz_items.append((path, name))
    if zz_items:
        rows = "".join(f'<li><a href="{path}">{title}</a></li>\n' for path, title in zz_items)
        site.routes["/zz/index.html"] = Route(headers=[("Content-Type", HTML_UTF8)], body=(
            '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>转载</title></head>\n'
            f'<body><h2>转载</h2><ul class="list">\n{rows}</ul></body></html>\n').encode())
        site.listings.append("/zz/index.html")
        _dress(site.routes["/"], "", '<p><a href="/zz/index.html">转载文章</a></p>\n')

    html_pages = [path for path, route in site.routes.items() if route.status == 200
                  and any(name == "Content-Type" and value.startswith("text/html") for name, value in route.headers)]
    for path in sorted(html_pages):
        route = site.routes[path]
        named = {"/images/style.css", "/js/common.js", "/images/bg.gif", "/images/logo.gif"} \
            if b"/images/logo.gif" in route.body else {"/images/style.css", "/js/common.js"}
        if path in portal.articles and not path.startswith("/zz/real/"):
            channel = next((code for code, _ in CHANNELS if path.startswith((f"/{code}/",))), CHANNELS[0][0])
            own = [f"/qrcode/{_digest(seed, path)[:12]}.png"]
            pictures = [f"/uploads/{_digest(seed, path, i)[:10]}.jpg" for i in range(rng.randint(*photos))]
            for image in own + pictures:
                site.routes[image] = Route(headers=[("Content-Type", "image/jpeg")],
                                           body=gif(*bytes.fromhex(_digest(image)[:6])))
            trackers = tracker_urls(rng, path, portal.articles[path])
            head = SHARED_HEAD
            body = (SHARED_BODY + f'<img src="/images/{channel}_title.png" alt="">\n'
                    + "".join(f'<p class="photo"><img src="{src}" alt=""></p>\n' for src in pictures)
                    + f'<div class="qr"><img src="{own[0]}" alt="扫一扫在手机打开当前页"></div>\n'
                    + _tracker_tags(trackers))
            _dress(route, head, body)
            portal.trackers[path] = trackers
            named |= set(SHARED) | {f"/images/{channel}_title.png", *own, *pictures}
        elif path not in portal.articles:
            _dress(route, SHARED_HEAD, SHARED_BODY)
            named |= set(SHARED)
        portal.requisites[path] = named
    return portal

