"""Page requisites: what a page and a stylesheet name, which of it a crawl fetches, and the
settings that switch kinds off, cap sizes and admit CDN hosts (a real crawl on loopback)."""

from __future__ import annotations

import lxml.html
import pytest
from scrapy.settings import Settings
from sqlalchemy import select
from support import index, run_crawl

from archive.models import captures
from crawler import settings as project_settings
from crawler.capture.requisites import (
    ARTICLE_IMAGE,
    IMAGE,
    SCRIPT,
    STYLESHEET,
    Requisite,
    RequisitePolicy,
    css_references,
    page_requisites,
    requisite_requests,
)
from demo.server import DemoServer
from demo.site import Route, article_image, build_site

PAGE = b"""<html><head><base href="http://www.example.gov.cn/xw/">
<link rel="stylesheet" href="../css/site.css"><link rel="icon" href="/favicon.ico">
<link rel="alternate" href="/rss.xml"><script src="//cdn.example.com/jq.js"></script><script>var x;</script>
<style>@import "print.css"; .a{background:url('img/a.png')}</style></head>
<body style="background-image:url(/bg.jpg)"><img src="p/1.jpg" srcset="p/1@2x.jpg 2x, p/1@3x.jpg 3x">
<picture><source srcset="p/2.webp"></picture><img src="data:image/gif;base64,R0lGOD"><img src="p/1.jpg">
<input type="image" src="go.gif"><a href="other.html">link</a></body></html>"""


def test_page_requisites_finds_every_kind_once() -> None:
    found = page_requisites(lxml.html.fromstring(PAGE), "http://www.example.gov.cn/xw/t1.html",
                            ["http://www.example.gov.cn/xw/p/1.jpg"])
    assert found == [
        Requisite("http://www.example.gov.cn/xw/p/1.jpg", ARTICLE_IMAGE),
        Requisite("http://www.example.gov.cn/css/site.css", STYLESHEET),
        Requisite("http://www.example.gov.cn/favicon.ico", IMAGE),
        Requisite("http://cdn.example.com/jq.js", SCRIPT),
        Requisite("http://www.example.gov.cn/xw/print.css", STYLESHEET),
        Requisite("http://www.example.gov.cn/xw/img/a.png", IMAGE),
        Requisite("http://www.example.gov.cn/xw/p/1@2x.jpg", IMAGE),
        Requisite("http://www.example.gov.cn/xw/p/1@3x.jpg", IMAGE),
        Requisite("http://www.example.gov.cn/xw/p/2.webp", IMAGE),
        Requisite("http://www.example.gov.cn/xw/go.gif", IMAGE),
        Requisite("http://www.example.gov.cn/bg.jpg", IMAGE),
    ]


def test_css_references() -> None:
    css = """/* url(commented.png) */ @import url("base.css"); @import 'x.css';
    .a { background: url( "i/a.png" ) } .b{background:url(i/b.png)} .c{src:url('f.woff')}"""
    assert css_references(css) == [("x.css", STYLESHEET), ("base.css", STYLESHEET), ("i/a.png", IMAGE),
                                   ("i/b.png", IMAGE), ("f.woff", IMAGE)]


def policy(**overrides) -> RequisitePolicy:
    settings = Settings()
    settings.setmodule(project_settings)
    settings.setdict(overrides)
    return RequisitePolicy.from_settings(settings)


def test_policy_hosts_kinds_and_limits() -> None:
    hosts = ["www.example.gov.cn"]
    default = policy()
    assert default.wants(Requisite("http://www.example.gov.cn/a.css", STYLESHEET), hosts)
    assert default.wants(Requisite("http://img.example.gov.cn/a.png", IMAGE), hosts)  # a subdomain
    assert default.wants(Requisite("https://static.gov-cdn.cn/a.js", SCRIPT), hosts)  # a static host
    assert default.wants(Requisite("https://cdn.bootcdn.net/jq.js", SCRIPT), hosts)
    assert not default.wants(Requisite("http://wpa.qq.com/pa?p=2", IMAGE), hosts)  # third party
    assert default.wants(Requisite("http://wpa.qq.com/photo.jpg", ARTICLE_IMAGE), hosts)  # content: always
    off = policy(REQUISITES_ENABLED=False)
    assert not off.wants(Requisite("http://www.example.gov.cn/a.css", STYLESHEET), hosts)
    assert off.wants(Requisite("http://www.example.gov.cn/p.jpg", ARTICLE_IMAGE), hosts)
    no_scripts = policy(REQUISITES_SCRIPTS=False)
    assert not no_scripts.wants(Requisite("http://www.example.gov.cn/a.js", SCRIPT), hosts)
    assert no_scripts.wants(Requisite("http://www.example.gov.cn/a.css", STYLESHEET), hosts)
    requests = list(requisite_requests([Requisite("http://www.example.gov.cn/a.css", STYLESHEET),
                                        Requisite("http://x.cn/p.jpg", ARTICLE_IMAGE)],
                                       policy(REQUISITES_MAX_SIZE=1000), hosts, None, None))
    assert [r.meta.get("download_maxsize") for r in requests] == [1000, None]
    assert all(r.meta["allow_offsite"] and r.meta["requisite"] for r in requests)


@pytest.mark.crawl
@pytest.mark.slow
def test_settings_switch_kinds_cap_sizes_and_admit_cdn_hosts(tmp_path) -> None:
    """One crawl with scripts off, a 60-byte asset limit and a CDN host admitted (127.0.0.2);
    one with requisites off. Article images are fetched in both."""
    site = build_site()
    cdn = DemoServer(build_site(extras=False), host="127.0.0.2")
    tracker = DemoServer(build_site(extras=False), host="127.0.0.3")
    cdn.site.routes["/lib/ui.css"] = Route(headers=[("Content-Type", "text/css")], body=b"p{color:red}")
    tracker.site.routes["/t.gif"] = Route(headers=[("Content-Type", "image/gif")], body=b"GIF89a")
    extra = f'<link rel="stylesheet" href="{cdn.url}lib/ui.css"><img src="{tracker.url}t.gif"></head>'.encode()
    for route in site.routes.values():
        route.body = route.body.replace(b"</head>", extra, 1)
    photos = [path for path in site.routes if path.startswith(article_image(0).rsplit("/", 1)[0])]
    with cdn, tracker, DemoServer(site) as server:
        host = server.url.rstrip("/")
        limited = tmp_path / "limited"
        run_crawl(limited, f"start_url={server.url}", settings={
            "REQUISITES_SCRIPTS": "0", "REQUISITES_MAX_SIZE": "60", "REQUISITES_HOSTS": "127.0.0.2"})
        off = tmp_path / "off"
        run_crawl(off, f"start_url={server.url}", settings={"REQUISITES_ENABLED": "0"})
    with index(limited).connect() as conn:
        got = {row.url: row for row in conn.execute(select(captures))}
    assert host + "/js/common.js" not in got
    assert got[host + "/images/style.css"].truncated == "length"  # 150 bytes, capped at 60
    assert got[host + "/images/logo.gif"].truncated is None
    assert cdn.url + "lib/ui.css" in got and tracker.url + "t.gif" not in got
    assert all(host + path in got for path in photos)
    with index(off).connect() as conn:
        urls = {row.url for row in conn.execute(select(captures.c.url))}
    assert not {host + "/images/style.css", host + "/images/logo.gif", cdn.url + "lib/ui.css"} & urls
    photos_1x = [path for path in photos if "@" not in path]
    assert photos_1x and all(host + path in urls for path in photos_1x)
