# ruff: noqa: E501 - page templates read better unbroken
"""Fixture portals, one per CMS family of shared/research/cms-catalogue.md, served on loopback.

Each portal is built the way the catalogue quotes real sites: TRS script pagers in their
three forms, Hanweb datastores and dataproxy.jsp (GET and POST, every path variant),
JPaaS unitbuild, gkmlpt, TRS IGS JSON, onclick-only items and iframe shells, and the
link-based DedeCMS / EmpireCMS / JEECMS / PHPCMS / VSB pagers with their hit counters.
Path variants, quoting, attribute order, counts and encodings (some GBK) vary. Every
portal knows its truth (the article URLs) and its server logs every request, so a test
can tell whether a crawl reached every article and never touched a counter.

    with PortalServer("hanweb") as server:
        server.url, server.portal.articles, server.requests

``python -m tests.cms_portals NAME`` serves one on 127.0.0.1:8000 for a look by hand.
"""

from __future__ import annotations

import gzip
import html
import json
import math
import random
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from urllib.parse import parse_qs, unquote, urlsplit

# Real sentences from the demo portal's seed page, so article pages read as prose.
from demo.loopback import LoopbackServer, QuietHandler, etag_of
from demo.site import SENTENCES, TOPICS

Handler = Callable[[dict[str, str], dict[str, str]], tuple[int, str, bytes]]
UTF8 = "text/html; charset=utf-8"
esc = html.escape


@dataclass
class Logged:
    method: str
    target: str
    body: bytes


@dataclass
class Portal:
    """A generated portal: routes by path, plus the truth a test compares against."""

    name: str
    family: str
    base: str
    pages: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    handlers: dict[str, Handler] = field(default_factory=dict)
    prefix_handlers: dict[str, Callable[[str, dict[str, str]], tuple[int, str, bytes]]] = field(default_factory=dict)
    articles: set[str] = field(default_factory=set)
    # Paths (substrings) that are hit counters: a crawl must never request them.
    counters: list[str] = field(default_factory=list)
    # Text only a continuation page holds, by the article URL it belongs to.
    continuations: dict[str, str] = field(default_factory=dict)
    gzip: bool = False

    def add(self, path: str, text: str, charset: str = "utf-8", header_charset: bool = True) -> None:
        content_type = f"text/html; charset={charset}" if header_charset else "text/html"
        self.pages[path] = (content_type, text.encode(charset))

    def article(self, path: str, text: str, charset: str = "utf-8", header_charset: bool = True) -> None:
        self.add(path, text, charset, header_charset)
        self.articles.add(self.base + path)


# --- page text ---------------------------------------------------------------------------------

def _title(rng: random.Random, n: int) -> str:
    return f"{rng.choice(TOPICS)}（第{n}期）"


def _prose(rng: random.Random, sentences: int = 6) -> list[str]:
    return ["".join(rng.sample(SENTENCES, 3)) for _ in range(max(2, sentences // 3))]


def article_html(rng: random.Random, title: str, date: str, *, charset: str = "utf-8", meta: bool = True,
                 container: str = '<div class="TRS_Editor">{}</div>', extra: str = "", paras: list[str] | None = None,
                 site: str = "示例政务网") -> str:
    """An article page: optional government meta set (§1), a byline, body paragraphs in a container."""
    paras = paras or _prose(rng)
    head = (f'<meta name="SiteName" content="{site}"><meta name="ColumnName" content="工作动态">'
            f'<meta name="ArticleTitle" content="{esc(title)}"><meta content="{date} 10:00" name="PubDate">'
            f'<meta name="ContentSource" content="本站原创">') if meta else ""
    body = "".join(f"<p>{esc(p)}</p>" for p in paras)
    return (f'<!DOCTYPE html><html><head><meta charset="{charset}"><title>{esc(title)}_{site}</title>{head}</head>'
            f'<body><div class="top"><a href="/">首页</a></div><div class="main"><h1>{esc(title)}</h1>'
            f'<div class="info">发布时间：{date}　来源：本站原创</div>{container.format(body)}{extra}</div>'
            f'<div class="footer">版权所有：{site}</div></body></html>')


def listing_html(title: str, items: str, tail: str = "", charset: str = "utf-8", nav: str = "") -> str:
    return (f'<!DOCTYPE html><html><head><meta charset="{charset}"><title>{esc(title)}</title></head><body>'
            f'<div class="nav"><a href="/">首页</a>{nav}</div><div class="crumb">当前位置：首页 &gt; {esc(title)}</div>'
            f'<div class="list">{items}</div>{tail}<div class="footer">版权所有</div></body></html>')


def li(href: str, title: str, date: str, style: int) -> str:
    """A list item; quoting and attribute order vary as on real sites."""
    if style % 3 == 0:
        return f'<li><a href="{href}" title="{esc(title)}" target="_blank">{esc(title)}</a><span>{date}</span></li>'
    if style % 3 == 1:
        return f"<li><span class='date'>{date}</span><a target='_blank' title='{esc(title)}' href='{href}'>{esc(title)}</a></li>"
    return f'<li><a title="{esc(title)}" href={href}>{esc(title)}</a><i>{date}</i></li>'


def _date(rng: random.Random, year: int = 2026) -> tuple[int, int, int]:
    return year, rng.randint(1, 12), rng.randint(1, 28)


# --- families -----------------------------------------------------------------------------------

def _trs_articles(portal: Portal, rng: random.Random, channel: str, count: int, ext: str = "html",
                  charset: str = "utf-8", uuid: bool = False) -> list[tuple[str, str, str]]:
    """(relative href from the channel, title, date) of ``count`` TRS articles, pages added."""
    out = []
    for n in range(count):
        y, m, d = _date(rng)
        title = _title(rng, n + 1)
        if uuid:
            name = f"{rng.getrandbits(128):032x}"
        else:
            name = f"t{y}{m:02d}{d:02d}_{rng.randint(10000, 999999)}"
        rel = f"./{y}{m:02d}/{name}.{ext}"
        portal.article(f"{channel}{y}{m:02d}/{name}.{ext}", article_html(rng, title, f"{y}-{m:02d}-{d:02d}",
                                                                           charset=charset, meta=n % 2 == 0),
                       charset)
        out.append((rel, title, f"{y}-{m:02d}-{d:02d}"))
    return out


def _pages_of(items: list, per_page: list[int]) -> list[list]:
    pages, start = [], 0
    for size in per_page:
        pages.append(items[start:start + size])
        start += size
    return pages


def build_trs_a(base: str) -> Portal:
    """Classic 4-argument createPageHTML (0-based: index_1 is page 2), .html and .shtml, one
    GBK channel, and an article split over a continuation page (t…_1.html)."""
    rng = random.Random(11)
    portal = Portal("trs_a", "trs", base, gzip=True)
    portal.add("/", listing_html("示例市政府", '<a href="/xwdt/index.html">新闻动态</a><a href="/tzgg/index.shtml">通知公告</a>'))
    for channel, ext, sizes, charset, call in [
        ("/xwdt/", "html", [5, 5, 5, 3], "utf-8", 'createPageHTML(4, {i}, "index", "html");'),
        ("/tzgg/", "shtml", [4, 4, 2], "gbk", "createPageHTML(3,{i}, 'index','shtml','',10);"),
    ]:
        arts = _trs_articles(portal, rng, channel, sum(sizes), ext, charset)
        for i, page in enumerate(_pages_of(arts, sizes)):
            items = "<ul>" + "".join(li(h, t, d, k + i) for k, (h, t, d) in enumerate(page)) + "</ul>"
            name = "index" if i == 0 else f"index_{i}"
            portal.add(f"{channel}{name}.{ext}", listing_html("栏目", items, f"<script>{call.format(i=i)}</script>",
                                                               charset), charset)
    # A long article split in two: its second page's text belongs to the same article row.
    y, m = 2020, 1
    first, second = _prose(rng), ["续页独有的内容：" + "".join(rng.sample(SENTENCES, 3))]
    pager = "<script>var currentPage = {c};//所在页从0开始\nvar countPage = 2//共多少页\n</script>"
    portal.article(f"/xwdt/{y}{m:02d}/t20200115_1234.html",
                   article_html(rng, "长文章分页测试", "2020-01-15", paras=first, extra=pager.format(c=0)))
    portal.add(f"/xwdt/{y}{m:02d}/t20200115_1234_1.html",
               article_html(rng, "长文章分页测试", "2020-01-15", paras=second, extra=pager.format(c=1)))
    portal.continuations[f"{base}/xwdt/{y}{m:02d}/t20200115_1234.html"] = second[0][:20]
    page = portal.pages["/xwdt/index.html"][1].decode().replace(
        "</ul>", '<li><a href="./202001/t20200115_1234.html">长文章分页测试</a></li></ul>')
    portal.add("/xwdt/index.html", page)
    return portal


def build_trs_b(base: str) -> Portal:
    """6-argument page_div createPageHTML (1-based: list_2.shtml is page 2, no list_1), other
    prefixes (dezlist), UUID article names."""
    rng = random.Random(12)
    portal = Portal("trs_b", "trs", base)
    portal.add("/", listing_html("示例住建厅", '<a href="/zwgk/list.shtml">政务公开</a><a href="/szjt/dezlist.shtml">定额站</a>'))
    for channel, prefix, sizes, uuid in [("/zwgk/", "list", [6, 6, 6, 2], False), ("/szjt/", "dezlist", [3, 3, 3], True)]:
        arts = _trs_articles(portal, rng, channel, sum(sizes), "shtml", uuid=uuid)
        for i, page in enumerate(_pages_of(arts, sizes)):
            items = "<ul>" + "".join(li(h, t, d, k) for k, (h, t, d) in enumerate(page)) + "</ul>"
            name = prefix if i == 0 else f"{prefix}_{i + 1}"
            call = (f"createPageHTML('page_div',{len(sizes)}, {i + 1},'{prefix}','shtml',{sum(sizes)});"
                    if i % 2 == 0 else
                    f'createPageHTML("page_div", {len(sizes)}, {i + 1}, "{prefix}", "shtml", {sum(sizes)});')
            portal.add(f"{channel}{name}.shtml", listing_html("栏目", items, f'<div id="page_div"></div><script>{call}</script>'))
    return portal


def build_trs_c(base: str) -> Portal:
    """Inline `var countPage = 7//共多少页` with a stale commented //createPageHTML(3, …)."""
    rng = random.Random(13)
    portal = Portal("trs_c", "trs", base, gzip=True)
    portal.add("/", listing_html("示例发改委", '<a href="/zcb/gjzc/index.html">国家政策</a>'))
    sizes = [4, 3, 4, 3, 4, 3, 2]
    arts = _trs_articles(portal, rng, "/zcb/gjzc/", sum(sizes), "shtml")
    for i, page in enumerate(_pages_of(arts, sizes)):
        items = "<ul>" + "".join(li(h, t, d, k) for k, (h, t, d) in enumerate(page)) + "</ul>"
        pager = (f'<script>\n//createPageHTML(3, 0, "index", "html");\nvar currentPage = {i};//所在页从0开始\n'
                 f'var countPage = {len(sizes)}//共多少页\nvar prevPage = currentPage-1;\n'
                 'document.write("<td><a class=\'prev\' href=\\"index"+"_" + prevPage + "."+"html\\">上一页</a></td>");\n'
                 "</script>")
        portal.add("/zcb/gjzc/index.html" if i == 0 else f"/zcb/gjzc/index_{i}.html", listing_html("国家政策", items, pager))
    return portal


def _xml_datastore(records: list[str], total: int, per_page: int, nextgroup: str = "") -> str:
    body = "".join(f"<record><![CDATA[{record}]]></record>\n" for record in records)
    group = f"<nextgroup><![CDATA[{nextgroup}]]></nextgroup>" if nextgroup else ""
    return (f"<datastore><totalrecord>{total}</totalrecord><totalpage>{math.ceil(total / per_page)}</totalpage>"
            f"{group}<recordset>{body}</recordset></datastore>")


def _hanweb_records(portal: Portal, rng: random.Random, column: int, count: int, charset: str = "utf-8",
                    absolute: bool = False) -> list[str]:
    records = []
    for n in range(count):
        y, m, d = _date(rng, 2020 + n % 5)
        path = f"/art/{y}/{m}/{d}/art_{column}_{rng.randint(100000, 9999999)}.html"
        title = _title(rng, n + 1)
        marker = "<!--<$[信息内容]>begin--><!--ZJEG_RSS.content.begin--><META name=ContentStart>{}<META name=ContentEnd><!--ZJEG_RSS.content.end--><!--<$[信息内容]>end-->"
        portal.article(path, article_html(rng, title, f"{y}-{m:02d}-{d:02d}", charset=charset, meta=n % 3 == 0,
                                          container='<div id="zoom">' + marker + "</div>"), charset)
        href = portal.base + path if absolute else path
        records.append(li(href, title, f"{y}-{m:02d}-{d:02d}", n))
    return records


def build_hanweb(base: str) -> Portal:
    """Hanweb JCMS: datastore CDATA (page 1 too) + dataproxy.jsp under three path variants,
    GET page=N (nextgroup) and POST startrecord/endrecord windows (ajaxParam form body), an
    old JS-array dataStore column in GBK, and morecolumndataproxy.jsp for merged columns."""
    rng = random.Random(14)
    portal = Portal("hanweb", "hanweb", base, gzip=True)
    columns = {101: ("GET", "/module/web/jpage/dataproxy.jsp", 17, 5, "utf-8"),
               102: ("POST", "/module/jpage/dataproxy.jsp", 25, 3, "utf-8"),
               103: ("POST", "/module/jslib/jquery/jpage/dataproxy.jsp", 20, 2, "gbk")}
    records = {column: _hanweb_records(portal, rng, column, spec[2], spec[4]) for column, spec in columns.items()}
    merged = _hanweb_records(portal, rng, 104, 6) + _hanweb_records(portal, rng, 105, 5, absolute=True)
    nav = "".join(f'<a href="/col/col{c}/index.html">栏目{c}</a>' for c in columns)
    portal.add("/", listing_html("示例省人民政府", "", nav=nav + (
        "<div id='more6412'></div><script>var moreUrl = '/module/web/jpage/morecolumndataproxy.jsp?page=1&appid=1"
        "&webid=1&path=/&columnid=104,105&unitid=6412&keyWordCount=30';</script>")))
    for column, (_, proxy, total, per_page, charset) in columns.items():
        unit = 5000 + column
        first = records[column][:per_page]
        if column == 101:
            nextgroup = (f'<a href="{proxy}?page=1&appid=1&webid=1&path=/&columnid={column}&unitid={unit}'
                         '&webname=示例省人民政府&permissiontype=0"></a>')
            store = (f'<div id="{unit}"><script type="text/xml">{_xml_datastore(first, total, per_page, nextgroup)}'
                     f"</script></div><script>$('#{unit}').jpage({{totalRecord:{total},perPage:{per_page}}});</script>")
        elif column == 102:
            store = (f'<div id="{unit}"><script type="text/xml">{_xml_datastore(first, total, per_page)}</script></div>'
                     f"<script language=\"javascript\">$('#{unit}').jpage({{themeName:'default',showMode:'full',"
                     f"totalRecord:{total},openCookies:false,groupSize:3,proxyUrl:'{proxy}',perPage:{per_page},"
                     f"barPosition:'bottom',ajaxParam:{{col:1,appid:'1',webid:1,path:'/',columnid:{column},"
                     f"sourceContentType:1,unitid:'{unit}',webname:'示例省人民政府',permissiontype:0}}}});</script>")
        else:
            array = ",".join(json.dumps(record, ensure_ascii=False) for record in first)
            store = (f'<div id="{unit}"></div><script>var InitData{unit} = [{array}];\n'
                     f'$("#{unit}").jpage({{ajaxParam:{{col:1,appid:"1",webid:60,path:"/",columnid:{column},'
                     f'unitid:"{unit}",webname:"示例",permissiontype:0}},dataStore:InitData{unit},'
                     f'proxyUrl:"{proxy}",perPage:{per_page},totalRecord:{total},groupSize:3}});</script>')
        portal.add(f"/col/col{column}/index.html", listing_html(f"栏目{column}", store, charset=charset, nav=nav), charset)

    def dataproxy(column_of: Callable[[dict[str, str], dict[str, str]], int | None], proxy: str) -> Handler:
        def handle(query: dict[str, str], form: dict[str, str]) -> tuple[int, str, bytes]:
            column = column_of(query, form)
            all_records = records.get(column, []) if column else []
            per_page = columns[column][3] if column in columns else 5
            if "startrecord" in query:
                start, end = int(query["startrecord"]), int(query["endrecord"])
                chosen = all_records[start - 1:end]
            else:
                page = int(query.get("page", "1"))
                chosen = all_records[(page - 1) * per_page: page * per_page]
            xml = '<?xml version="1.0" encoding="UTF-8"?>' + _xml_datastore(chosen, len(all_records), per_page)
            return 200, "text/xml;charset=UTF-8", xml.encode()
        return handle

    def column_from(query: dict[str, str], form: dict[str, str]) -> int | None:
        # POST: the column is in the form body only (a crawler that drops the body gets nothing).
        value = form.get("columnid") if "startrecord" in query else query.get("columnid")
        return int(value) if value and value.isdigit() else None

    for _, (_, proxy, _, _, _) in columns.items():
        portal.handlers[proxy] = dataproxy(column_from, proxy)

    def more(query: dict[str, str], form: dict[str, str]) -> tuple[int, str, bytes]:
        if query.get("columnid") != "104,105":
            return 200, "text/xml;charset=UTF-8", _xml_datastore([], 0, 4).encode()
        page = int(query.get("page", "1"))
        chosen = merged[(page - 1) * 4: page * 4]
        return 200, "text/xml;charset=UTF-8", _xml_datastore(chosen, len(merged), 4).encode()
    portal.handlers["/module/web/jpage/morecolumndataproxy.jsp"] = more
    return portal


def build_jpaas(base: str) -> Portal:
    """Hanweb JPaaS: a unitbuild.js loader with queryData (attribute order varies); JSON
    {"data":{"html":…}} keyed on paramJson.pageNo; an empty page ends the list."""
    rng = random.Random(15)
    portal = Portal("jpaas", "jpaas", base)
    columns = {"1229123351": (16, 5), "1229565788": (9, 3)}
    html_items: dict[str, list[str]] = {}
    for column, (total, _) in columns.items():
        items = []
        for n in range(total):
            y, m, d = _date(rng)
            path = (f"/col/col{column}/art/{y}/art_{rng.getrandbits(128):032x}.html" if n % 2 else
                    f"/art/{y}/{m}/{d}/art_{column[-4:]}_{rng.randint(1000, 99999)}.html")
            title = _title(rng, n)
            portal.article(path, article_html(rng, title, f"{y}-{m:02d}-{d:02d}", meta=True))
            items.append(f'<li><a href="{path}" title="{esc(title)}" target="_blank">{esc(title)}</a><span>[{y}-{m:02d}-{d:02d}]</span></li>')
        html_items[column] = items
    nav = "".join(f'<a href="/col/col{c}/index.html">栏目{c}</a>' for c in columns)
    portal.add("/", listing_html("示例商务厅", "", nav=nav))
    for i, column in enumerate(columns):
        query = f"{{'webId':'a5f2','tplSetId':'9c1e','pageType':'column','tagId':'当前栏目list','pageId':'{column}'}}"
        tag = (f'<script type="text/javascript" src="/module/AuthorizedRead/unitbuild.js" url="/api-gateway/jpaas-publish-server/front/page/build/unit" queryData="{query}"></script>'
               if i == 0 else
               f'<script queryData="{query}" src="/module/AuthorizedRead/unitbuild.js"></script>')
        portal.add(f"/col/col{column}/index.html", listing_html(f"栏目{column}", f'<div id="list">{tag}</div>', nav=nav))

    def unit(query: dict[str, str], form: dict[str, str]) -> tuple[int, str, bytes]:
        params = json.loads(query.get("paramJson", "{}"))
        column = query.get("pageId", "")
        if query.get("parseType") != "bulidstatic" or column not in columns or "pageNo" not in params:
            return 200, "application/json", json.dumps({"success": False, "data": None}).encode()
        size = columns[column][1]
        page = int(params["pageNo"])
        chosen = html_items[column][(page - 1) * size: page * size]
        body = {"success": True, "data": {"html": f"<ul>{''.join(chosen)}</ul>" if chosen else ""}}
        return 200, "application/json;charset=UTF-8", json.dumps(body, ensure_ascii=False).encode()
    portal.handlers["/api-gateway/jpaas-publish-server/front/page/build/unit"] = unit
    return portal


def build_gkmlpt(base: str) -> Portal:
    """Guangdong gkmlpt: window._CONFIG with SID and TREE; /gkmlpt/api/all/{cat}?page=N&sid=S."""
    rng = random.Random(16)
    portal = Portal("gkmlpt", "gkmlpt", base, gzip=True)
    sid, per_page = "755031", 7
    cats: dict[int, list[dict]] = {}
    for cat, total in ((2811, 17), (2812, 15)):
        cats[cat] = []
        for n in range(total):
            post = rng.randint(1000000, 9999999)
            path = f"/gkmlpt/content/{post % 10}/{post % 1000}/post_{post}.html"
            title = _title(rng, n)
            y, m, d = _date(rng)
            portal.article(path, article_html(rng, title, f"{y}-{m:02d}-{d:02d}", meta=True))
            cats[cat].append({"id": post, "title": title, "url": base + path, "publisher": "示例市政府",
                              "display_publish_time": 1700000000 + n})
    config = {"SID": sid, "TREE": [{"id": 2811, "name": "政策文件", "children": [{"id": 2812, "name": "规范性文件"}]}]}
    portal.add("/", listing_html("示例市人民政府", "", nav='<a href="/gkmlpt/index">政府信息公开</a>'))
    portal.add("/gkmlpt/index", f'<!DOCTYPE html><html><head><title>政府信息公开</title><script>window._CONFIG = '
               f'{json.dumps(config, ensure_ascii=False)};</script></head><body><div id="app"></div>'
               '<script src="/gkmlpt/static/js/app.js"></script></body></html>')

    def api(rest: str, query: dict[str, str]) -> tuple[int, str, bytes]:
        cat = int(rest) if rest.isdigit() else 0
        if query.get("sid") != sid or cat not in cats:
            return 200, "application/json", b'{"total":0,"articles":[]}'
        page = int(query.get("page", "1"))
        chosen = cats[cat][(page - 1) * per_page: page * per_page]
        return 200, "application/json", json.dumps({"total": len(cats[cat]), "articles": chosen},
                                                   ensure_ascii=False).encode()
    portal.prefix_handlers["/gkmlpt/api/all/"] = api
    return portal


def build_trs_igs(base: str) -> Portal:
    """TRS IGS: a script shell asks /igs/front/search/list.html for JSON; page.totalPages ends it."""
    rng = random.Random(17)
    portal = Portal("trs_igs", "trs_igs", base)
    per_page, items = 6, []
    for n in range(16):
        y, m, d = _date(rng)
        path = f"/zwgk/zcwj/{y}{m:02d}/t{y}{m:02d}{d:02d}_{rng.randint(100000, 999999)}.html"
        title = _title(rng, n)
        portal.article(path, article_html(rng, title, f"{y}-{m:02d}-{d:02d}", meta=n % 2 == 1))
        items.append({"title": title, "docpuburl" if n % 3 == 0 else "url": base + path, "pubDate": f"{y}-{m:02d}-{d:02d}"})
    portal.add("/", listing_html("示例市人民政府", "", nav='<a href="/zwgk/zcwj/index.html">政策文件</a>'))
    portal.add("/zwgk/zcwj/index.html", listing_html("政策文件", '<ul id="list"></ul>', (
        "<script>$.ajax({type:'get',url:'/igs/front/search/list.html?index=zcwj&type=zc&pageSize=6&pageNumber=1"
        "&filter[SITEID]=34&orderProperty=PUBDATE',dataType:'json',success:function(d){render(d.page.content)}});</script>")))

    def search(query: dict[str, str], form: dict[str, str]) -> tuple[int, str, bytes]:
        page = int(query.get("pageNumber", "1"))
        chosen = items[(page - 1) * per_page: page * per_page]
        body = {"page": {"totalPages": math.ceil(len(items) / per_page), "totalElements": len(items), "content": chosen}}
        return 200, "application/json;charset=UTF-8", json.dumps(body, ensure_ascii=False).encode()
    portal.handlers["/igs/front/search/list.html"] = search
    return portal


def build_onclick(base: str) -> Portal:
    """Tianjin-style items with no href, only onclick (isDownLoad, window.open, location.href),
    paged by `var countPage`; and an iframe shell around the real (paged) list."""
    rng = random.Random(18)
    portal = Portal("onclick", "trs", base, gzip=True)
    portal.add("/", listing_html("示例发改委", "", nav='<a href="/xxfb/tzggx/index.html">通知公告</a>'
                                 '<a href="/ztzl/index.html">专题专栏</a>'))
    sizes = [5, 5, 4]
    arts = _trs_articles(portal, rng, "/xxfb/tzggx/", sum(sizes), "html", charset="gbk")
    calls = ["isDownLoad(this,'{url}')", "window.open('{url}')", "location.href='{url}'", 'window.open(&quot;{url}&quot;,&quot;_blank&quot;)']
    for i, page in enumerate(_pages_of(arts, sizes)):
        items = []
        for k, (rel, title, date) in enumerate(page):
            url = base + "/xxfb/tzggx/" + rel[2:] if k % 2 == 0 else rel
            call = calls[(k + i) % len(calls)].format(url=url)
            quote = "'" if '"' in call else '"'
            items.append(f"<li><a onclick={quote}{call}{quote} title='{esc(title)}' target=\"_blank\">"
                         f'<span class="list-main-title">{esc(title)}</span><span class="list-main-date">{date}</span></a></li>')
        body = '<ul class="list-main-group">' + "".join(items) + "</ul>"
        pager = f"<script>var currentPage = {i};var countPage = {len(sizes)}</script>"
        portal.add("/xxfb/tzggx/index.html" if i == 0 else f"/xxfb/tzggx/index_{i}.html",
                   listing_html("通知公告", body, pager, "gbk"), "gbk", header_charset=i % 2 == 0)
    # The iframe shell: the channel page is only a frame around index_iframe.html.
    portal.add("/ztzl/index.html", listing_html("专题专栏", '<iframe src="index_iframe.html" width="100%" frameborder="0"></iframe>'))
    sizes = [4, 4, 3]
    arts = _trs_articles(portal, rng, "/ztzl/", sum(sizes))
    for i, page in enumerate(_pages_of(arts, sizes)):
        items = "<ul>" + "".join(li(h, t, d, k) for k, (h, t, d) in enumerate(page)) + "</ul>"
        name = "index_iframe" if i == 0 else f"index_iframe_{i}"
        portal.add(f"/ztzl/{name}.html", listing_html("专题", items, f'<script>createPageHTML({len(sizes)}, {i}, "index_iframe", "html");</script>'))
    return portal


def _linked_family(name: str, family: str, seed: int, channels: list[str], url_of: Callable[[str, int], str],
                   article_of: Callable[[str, int, random.Random], str], pager: Callable[[str, int, int], str],
                   sizes: list[int], counter: Callable[[str], str], counters: list[str], base: str,
                   charset: str = "utf-8", container: str = '<div class="content">{}</div>') -> Portal:
    """A portal whose pagers are real <a href> links (Dede, Empire, JEECMS, PHPCMS, VSB)."""
    rng = random.Random(seed)
    portal = Portal(name, family, base, counters=counters, gzip=seed % 2 == 0)
    nav = "".join(f'<a href="{url_of(channel, 1)}">栏目{k}</a>' for k, channel in enumerate(channels))
    portal.add("/", listing_html("示例网站", "", nav=nav, charset=charset), charset)
    for channel in channels:
        count = 0
        for i, size in enumerate(sizes):
            items = []
            for _ in range(size):
                count += 1
                path = article_of(channel, count, rng)
                title = _title(rng, count)
                y, m, d = _date(rng)
                portal.article(path, article_html(rng, title, f"{y}-{m:02d}-{d:02d}", charset=charset, meta=count % 2 == 0,
                                                  container=container, extra=counter(path)), charset)
                items.append(li(path, title, f"{y}-{m:02d}-{d:02d}", count))
            portal.add(urlsplit(url_of(channel, i + 1)).path + (("?" + urlsplit(url_of(channel, i + 1)).query)
                                                               if urlsplit(url_of(channel, i + 1)).query else ""),
                       listing_html("栏目", "<ul>" + "".join(items) + "</ul>", pager(channel, i + 1, len(sizes)), charset,
                                    nav=nav), charset)
    return portal


def build_dedecms(base: str) -> Portal:
    def url_of(channel: str, page: int) -> str:
        return f"/a/{channel}/" if page == 1 else f"/a/{channel}/list_{12 if channel == 'xwzx' else 7}_{page}.html"

    def pager(channel: str, page: int, pages: int) -> str:
        tid = 12 if channel == "xwzx" else 7
        cells = "".join(f'<li class="thisclass">{n}</li>' if n == page else f"<li><a href='list_{tid}_{n}.html'>{n}</a></li>"
                        for n in range(1, pages + 1))
        return (f'<div class="dede_pages"><ul class="pagelist"><li><a>首页</a></li>{cells}<li><a href=\'list_{tid}_{pages}.html\'>末页</a></li>'
                f'<span class="pageinfo">共 <strong>{pages}</strong>页<strong>20</strong>条</span></ul></div>')
    portal = _linked_family(
        "dedecms", "dedecms", 19, ["xwzx", "tzgg"], url_of,
        lambda channel, n, rng: f"/a/{channel}/2026{rng.randint(1, 12):02d}{rng.randint(10, 28)}/{n * 13}.html",
        pager, [6, 5, 4], lambda path: (f'<script src="/plus/count.php?view=yes&aid={path.rsplit("/", 1)[-1][:-5]}&mid=1"></script>'
                                        f'<a href="/plus/count.php?aid={path.rsplit("/", 1)[-1][:-5]}&mid=1">点击数</a>'),
        ["/plus/count.php"], base, charset="gbk")
    for channel, tid in (("xwzx", 12), ("tzgg", 7)):  # Dede writes page 1 twice: the index and list_{tid}_1
        portal.pages[f"/a/{channel}/list_{tid}_1.html"] = portal.pages[f"/a/{channel}/"]
    return portal


def build_empirecms(base: str) -> Portal:
    def url_of(channel: str, page: int) -> str:
        return f"/{channel}/index.html" if page == 1 else f"/{channel}/index_{page}.html"

    def pager(channel: str, page: int, pages: int) -> str:
        links = "".join(f"&nbsp;<b>{n}</b>" if n == page else f'&nbsp;<a href="/{channel}/{"index" if n == 1 else f"index_{n}"}.html">{n}</a>'
                        for n in range(1, pages + 1))
        return f'<div class="pagelist"><a title="Total record">&nbsp;<b>15</b> </a>{links}&nbsp;<a href="/{channel}/index_{pages}.html">尾页</a></div>'
    return _linked_family(
        "empirecms", "empirecms", 20, ["news", "notice"], url_of,
        lambda channel, n, rng: f"/{channel}/2026-{rng.randint(1, 12):02d}-{rng.randint(10, 28)}/{600 + n}.html",
        pager, [5, 5, 5], lambda path: (f'<script src=/e/public/ViewClick/?classid=2&id={path.rsplit("/", 1)[-1][:-5]}&addclick=1></script>'
                                        f'<iframe src="/e/public/ViewClick/?classid=2&id=1&addclick=1" width=0 height=0></iframe>'),
        ["/e/public/ViewClick"], base)


def build_jeecms(base: str) -> Portal:
    def url_of(channel: str, page: int) -> str:
        return f"/{channel}/index.jhtml" if page == 1 else f"/{channel}/index_{page}.jhtml"

    def pager(channel: str, page: int, pages: int) -> str:
        prev = f'<a href="index_{page - 1}.jhtml">上一页</a>' if page > 2 else ('<a href="index.jhtml">上一页</a>' if page == 2 else "")
        nxt = f'<a href="index_{page + 1}.jhtml">下一页</a>' if page < pages else ""
        return f'<div class="pages">{prev}{nxt} {page}/{pages}页</div>'
    return _linked_family(
        "jeecms", "jeecms", 21, ["zbgg", "jyxx"], url_of, lambda channel, n, rng: f"/{channel}/{20000 + n * 7}.jhtml",
        pager, [4, 4, 4, 2],
        lambda path: ('<script>$.getJSON("/content_view.jspx", {contentId:"' + path.rsplit("/", 1)[-1][:-6] + '"}, '
                      'function(d){$("#views").text(d[0]);});</script><a href="/content_view.jspx?contentId=1">浏览</a>'),
        ["content_view.jspx"], base)


def build_phpcms(base: str) -> Portal:
    def url_of(channel: str, page: int) -> str:
        if channel == "news":
            return "/html/news/index.html" if page == 1 else f"/html/news/{page}.html"
        if channel == "notice":
            return f"/list-9-{page}.html"
        return f"/index.php?m=content&c=index&a=lists&catid=11&page={page}"

    def pager(channel: str, page: int, pages: int) -> str:
        cells = " ".join(f"<span>{n}</span>" if n == page else f'<a href="{esc(url_of(channel, n))}">{n}</a>' for n in range(1, pages + 1))
        return f'<div id="pages"><a class="a1">20条</a> {cells} <a href="{esc(url_of(channel, min(page + 1, pages)))}" class="a1">下一页</a></div>'
    return _linked_family(
        "phpcms", "phpcms", 22, ["news", "notice", "dyn"], url_of,
        lambda channel, n, rng: f"/html/{channel}/2026/{rng.randint(1, 12):02d}{rng.randint(10, 28)}/{n + 100}.html",
        pager, [3, 3, 3], lambda path: (f'<script language="JavaScript" src="/api.php?op=count&id={path[-8:-5]}&modelid=1"></script>'
                                        '<a href="/api.php?op=count&id=1&modelid=1">统计</a>'),
        ["/api.php?op=count"], base, charset="gbk")


def build_vsb(base: str) -> Portal:
    pages = 4

    def url_of(channel: str, page: int) -> str:
        # VSB counts down: page 1 is xstz.htm, page 2 is xstz/{pages-1}.htm ... the last xstz/1.htm.
        return f"/tzgg/{channel}.htm" if page == 1 else f"/tzgg/{channel}/{pages - page + 1}.htm"

    def pager(channel: str, page: int, total: int) -> str:
        nxt = url_of(channel, page + 1) if page < total else ""
        prev = url_of(channel, page - 1) if page > 1 else ""
        return (f'<div class="pb_sys_common"><span class="p_pages">{"<a href=" + chr(34) + prev + chr(34) + ">上页</a>" if prev else ""}'
                f'{"<a href=" + chr(34) + nxt + chr(34) + ">下页</a>" if nxt else ""}</span>'
                f'<a href="/tzgg/{channel}/1.htm">尾页</a></div><script src="/system/resource/js/page.js"></script>')
    return _linked_family(
        "vsb", "vsb", 23, ["xstz", "tzgg"], url_of, lambda channel, n, rng: f"/info/{1517 if channel == 'xstz' else 1520}/{n * 3 + 1}.htm",
        pager, [5, 5, 5, 2], lambda path: ('<script language="javascript" src="/system/resource/js/dynclicks.js"></script>'
                                           f'<a href="/system/resource/code/news/click/clicktimes.jsp?wbnewsid={path[-6:-4]}">次</a>'),
        ["/system/resource/code/news/click"], base, container='<div class="v_news_content">{}</div>')


def build_gates(base: str) -> Portal:
    """Channels behind anti-bot gates (identification only): 瑞数 412 and a gzip-served 200
    $_ts stub, 加速乐 521, 创宇盾 418, a gzip-served WZWS page; one plain channel."""
    rng = random.Random(24)
    portal = Portal("gates", "trs", base, gzip=True)
    gates = {"/rs412/index.html": (412, "<html><head><meta id=\"x\" content=\"abc\" r='m'><script>$_ts=window['$_ts'];"
                                   "if(!$_ts)$_ts={};$_ts.nsd=123;$_ts.cd=\"qqqq\";</script><script src=\"/a1b2/c3d4.js\" r='m'></script></head></html>", []),
             "/rs200/index.html": (200, "<html><head><meta content=\"seed\" r='m'><script type=\"text/javascript\">$_ts=window['$_ts'];"
                                   "if(!$_ts)$_ts={};$_ts.nsd=7;$_ts.cd=\"rrrr\";</script></head><body></body></html>", []),
             "/jsl/index.html": (521, "<script>document.cookie=('_')+('_jsl_clearance_s=1612345678.1|0|abc')+';max-age=3600;"
                                 "path=/';location.href=location.pathname+location.search</script>", [("Set-Cookie", "__jsluid_h=abc; path=/")]),
             "/cyd/index.html": (418, "<html><body><h1>访问被拦截！</h1><p>当前访问疑似黑客攻击，已被创宇盾拦截。</p></body></html>", []),
             "/wzws/index.html": (200, '<html><script>var dynamicurl="/WZWSREL1234";var wzwsquestion="x";var wzwsfactor="1";'
                                  "</script></html>", [("Set-Cookie", "wzws_cid=abcd; path=/")])}
    portal.gates = gates  # type: ignore[attr-defined]
    arts = _trs_articles(portal, rng, "/ok/", 4)
    portal.add("/ok/index.html", listing_html("正常栏目", "<ul>" + "".join(li(h, t, d, k) for k, (h, t, d) in enumerate(arts)) + "</ul>"))
    nav = '<a href="/ok/index.html">正常栏目</a>' + "".join(f'<a href="{path}">栏目{k}</a>' for k, path in enumerate(gates))
    portal.add("/", listing_html("示例卫健委", "", nav=nav))
    return portal


def build_uncovered(base: str) -> Portal:
    """What the crawler cannot cover, to be reported: an Epoint shell (POST JSON API, no
    mechanism), a bespoke script endpoint, and a paged TRS channel with no articles."""
    rng = random.Random(25)
    portal = Portal("uncovered", "epoint", base)
    portal.add("/", listing_html("示例市政府", "", nav='<a href="/dynamic/zwgk/govInfoPub.html?categorynum=003002">信息公开</a>'
                                 '<a href="/zwdt/index.html">政务动态</a><a href="/kong/index.html">空栏目</a>'
                                 '<a href="/ok/index.html">正常栏目</a>')
                + "<script src='/js/webBuilderCommon.js'></script>")
    portal.add("/dynamic/zwgk/govInfoPub.html", listing_html("信息公开", '<ul id="list"></ul>', (
        "<script>$.ajax({url: '/EWB-FRONT/rest/lightfrontaction/getgovinfolist', type: 'post', contentType: 'application/json',"
        " data: JSON.stringify({categorynum: '003002', pageIndex: 1, pageSize: 20, siteGuid: 'x'})});</script>")))
    portal.add("/zwdt/index.html", listing_html("政务动态", '<ul id="news"></ul>',
                                                "<script>fetch('/api/news/list?channel=zwdt&pageNo=1').then(r => r.json())</script>"))
    for i in range(3):
        portal.add("/kong/index.html" if i == 0 else f"/kong/index_{i}.html",
                   listing_html("空栏目", "<p>暂无信息</p>", f'<script>createPageHTML(3, {i}, "index", "html");</script>'))
    arts = _trs_articles(portal, rng, "/ok/", 3)
    portal.add("/ok/index.html", listing_html("正常栏目", "<ul>" + "".join(li(h, t, d, k) for k, (h, t, d) in enumerate(arts)) + "</ul>"))
    return portal


BUILDERS: dict[str, Callable[[str], Portal]] = {
    "trs_a": build_trs_a, "trs_b": build_trs_b, "trs_c": build_trs_c, "hanweb": build_hanweb, "jpaas": build_jpaas,
    "gkmlpt": build_gkmlpt, "trs_igs": build_trs_igs, "onclick": build_onclick, "dedecms": build_dedecms,
    "empirecms": build_empirecms, "jeecms": build_jeecms, "phpcms": build_phpcms, "vsb": build_vsb,
    "gates": build_gates, "uncovered": build_uncovered,
}
# Hit-counter paths of every family (catalogue §7): the servers count any request to one.
COUNTER_PATHS = ["/plus/count.php", "/e/public/ViewClick", "/api.php?op=count", "content_view.jspx",
                 "/system/resource/code/news/click"]
# Each portal on its own loopback address, as distinct hosts.
HOSTS = {name: f"127.0.0.{11 + number}" for number, name in enumerate(BUILDERS)}


# --- server -------------------------------------------------------------------------------------

class _Handler(QuietHandler):
    def respond(self, send_body: bool) -> None:
        self._answer(b"", send_body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._answer(self.rfile.read(length) if length else b"")

    def _answer(self, body: bytes, send_body: bool = True) -> None:
        owner: PortalServer = self.server.owner
        owner.log(Logged(self.command, self.path, body))
        status, content_type, payload, headers = owner.answer(self.command, self.path, body, self.headers)
        if status == 200 and self.command == "GET":  # validators, so re-crawls can ask conditionally
            etag = etag_of(payload)
            if self.not_modified(etag):
                return
            headers = [*headers, ("ETag", etag)]
        # gzip portals encode every answer but 404s, challenges included (detection must decode).
        if owner.portal.gzip and "gzip" in self.headers.get("Accept-Encoding", "") and status != 404:
            payload = gzip.compress(payload, mtime=0)
            headers = [*headers, ("Content-Encoding", "gzip")]
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if send_body:
                self.wfile.write(payload)
        except ConnectionError:
            self.close_connection = True


class PortalServer(LoopbackServer):
    """Serves one generated portal on its own 127.0.0.x address, logging every request."""

    handler = _Handler

    def __init__(self, name: str, host: str | None = None, port: int = 0,
                 build: Callable[[str], Portal] | None = None) -> None:
        super().__init__(host or HOSTS[name], port)
        self.portal = (build or BUILDERS[name])(self.url.rstrip("/"))
        self.requests: list[Logged] = []
        self._lock = threading.Lock()

    def log(self, entry: Logged) -> None:
        with self._lock:
            self.requests.append(entry)

    def answer(self, method: str, target: str, body: bytes,
               headers: Message | None = None) -> tuple[int, str, bytes, list[tuple[str, str]]]:
        parts = urlsplit(target)
        path = unquote(parts.path)
        query = {key: values[0] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
        form = ({key: values[0] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}
                if method == "POST" else {})
        portal = self.portal
        gates = getattr(portal, "gates", {})
        if path in gates:
            status, text, headers = gates[path]
            return status, "text/html", text.encode("utf-8"), headers
        if path in portal.handlers:
            return (*portal.handlers[path](query, form), [])
        for prefix, handler in portal.prefix_handlers.items():
            if path.startswith(prefix):
                return (*handler(path[len(prefix):], query), [])
        full = path + ("?" + parts.query if parts.query else "")
        for key in (full, path):
            if key in portal.pages and method in ("GET", "HEAD"):
                content_type, payload = portal.pages[key]
                return 200, content_type, payload, []
        if any(counter in full for counter in COUNTER_PATHS):
            return 200, "application/javascript", b"document.write('1');", []
        return 404, UTF8, "<html><body>404 页面不存在</body></html>".encode(), []

    def counter_hits(self) -> list[str]:
        """Requests that reached a hit counter (any family's): a crawl must make none."""
        return [entry.target for entry in self.requests if any(c in entry.target for c in COUNTER_PATHS)]


if __name__ == "__main__":
    with PortalServer(sys.argv[1] if len(sys.argv) > 1 else "hanweb", "127.0.0.1", 8000) as server:
        print(f"serving {server.portal.name} ({server.portal.family}) at {server.url}; "
              f"{len(server.portal.articles)} articles (Ctrl-C to stop)", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
