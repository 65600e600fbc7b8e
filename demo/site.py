"""Deterministic generator for a synthetic Chinese fire-department portal.

Real portals (TRS WCM, 大汉 JCMS, ...) wrap each article in heavy chrome, hide
pagination in scripts, mix encodings and contain crawler traps. Tests of the
crawler and extractor need all of that, reproducibly and offline, so every
byte here derives from ``seed`` and fixed text taken from a real 天津消防网 page.
"""

from __future__ import annotations

import calendar
import datetime as dt
import html
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

SITE_NAME = "示例消防网"
HTML_UTF8 = "text/html; charset=utf-8"
CHANNELS = [
    ("xfxw", "消防新闻"), ("tzgg", "通知公告"), ("fzxc", "防灾宣传"),
    ("xfpx", "消防培训"), ("jqtb", "警情通报"), ("zcfg", "政策法规"),
]
SEED_TITLE = "依靠改革优化营商环境 便民利企落实处——全国应急管理工作会议综述(下)"
SENTENCES = [
    "完成全年经济社会发展主要目标任务需要全社会的共同努力。",
    "应急管理部门负有为经济社会发展提供安全保障的重要职责。",
    "在当前经济下行压力加大的背景下，各地各有关部门该如何把握好打造良好营商环境和加强应急管理之间的关系？记者对此进行了采访。",
    "为市场主体撑腰，要真切征求意见、真正发现问题、真心解除民忧，把便民利企的要求落到实处。",
    "提高政务服务能力是各地应急管理部门大力推动的一项工作。",
    "从1月1日起，该单位在工作日中午、双休日、节假日也提供预约等服务。",
    "“我们坚持做到无事不扰、有求必应。无事不扰不代表放任不管，而是在日常的监管执法中要有创新的方法，更加精准地服务好企业。”",
    "优化营商环境不代表执法监管“宽松软”。",
    "要健全与新兴产业相适应的包容审慎监管方式，对特种设备、危险化学品等实行全覆盖严监管。",
    "要严格执法，不能以优化营商环境为名放松监管，切实解决监管执法宽松软问题。",
    "与会代表一致认为，要加强事前事中事后监管，严格规范公正文明执法，避免简单化、“一刀切”，切实保护企业安全、健康、有序发展。",
    "按照“事前管标准、事中管检查、事后管处罚、信用管终身”方法，推行“双随机、一公开”抽查，实施分级分类监管。",
    "统一检查内容和标准，统一检查程序和要求，统一实行全过程记录，提高执法精准度和实效性。",
    "只有严格执法，才能营造良好的营商环境，保障地方经济健康发展。",
    "对非法违法行为严格惩戒，对企业提供真诚的普法服务，不厌其烦地向企业负责人传递“安全第一”的理念。",
    "与会代表纷纷表示，只有将服务和执法有机结合，才能产生打动人心的化学反应。",
    "严格监管执法和做好服务工作并不矛盾，如果不严格监管执法，对认真做好安全生产工作的企业来说，是不公平的。",
    "“要打造良好的营商环境，就要有主动应急的理念，积极防范风险、消除隐患。”",
    "新的一年，将全力当好企业的店小二，做好五星级服务员，不断提升监管执法能力水平。",
    "登陆后的第三天，便组织专家队伍赴受台风影响严重地区，指导开展企业复产前检查服务工作。",
]
HEADINGS = ["应急管理“放管服”改革扎实推进", "法治是最好的营商环境", "将服务与执法有机结合"]
REGIONS = [
    "和平区", "河东区", "河西区", "南开区", "河北区", "红桥区", "东丽区", "西青区",
    "津南区", "北辰区", "武清区", "宝坻区", "滨海新区", "宁河区", "静海区", "蓟州区",
]
TOPICS = [
    "开展冬季消防安全大检查", "召开消防安全工作部署会", "组织高层建筑灭火救援实战演练",
    "深入推进应急管理“放管服”改革", "举办社区消防安全知识培训班", "部署春节期间火灾防控工作",
    "启动“119”消防宣传月活动", "开展电动自行车火灾隐患专项整治", "检查人员密集场所消防安全",
    "开展危险化学品企业执法检查", "召开优化营商环境座谈会", "开展消防宣传进校园活动",
]
SOURCES = ["中国应急信息网", "应急管理部", "天津日报", "人民网", "新华网", "本站原创"]
EDITORS = ["管理员", "宣传处", "admin", "办公室"]
# Editors that are CMS accounts, not a person or a desk: a page crediting them names no
# author (crawler/extract/validate.py), so the truth has none.
ACCOUNTS = frozenset({"管理员", "admin"})
FRIEND_LINKS = [
    ("中国政府网", "http://www.gov.cn/"), ("应急管理部", "https://www.mem.gov.cn/"),
    ("中国消防", "http://www.119.gov.cn/"), ("天津政务网", "http://www.tj.gov.cn/"),
]
QQ_UINS = ["800012119", "800012120", "800012121"]
FOOTER = (
    f"版权所有：{SITE_NAME}&nbsp;&nbsp;地址：示例市消防路119号&nbsp;&nbsp;值班电话：022-23456119<br>"
    '<a href="http://beian.miit.gov.cn/" target="_blank">津ICP备05000119号-1</a>&nbsp;&nbsp;'
    "建议使用1024×768分辨率浏览"
)
CLOCK_JS = """<script type="text/javascript">
function showTime(){var d=new Date();var w="日一二三四五六".charAt(d.getDay());
document.getElementById("clock").innerHTML=
  d.getFullYear()+"年"+(d.getMonth()+1)+"月"+d.getDate()+"日 星期"+w+" "+d.toLocaleTimeString();}
showTime();setInterval(showTime,1000);
</script>"""
PAGER_JS = r"""<script type="text/javascript">
function createPageHTML(_nPageCount, _nCurrIndex, _sPageName, _sPageExt){
  if(_nPageCount == null || _nPageCount <= 1){ return; }
  var h = "共" + _nPageCount + "页 ";
  for(var i = 0; i < _nPageCount; i++){
    var u = (i == 0) ? _sPageName + "." + _sPageExt : _sPageName + "_" + i + "." + _sPageExt;
    h += (i == _nCurrIndex) ? "<span>" + (i + 1) + "</span> " : "<a href=\"" + u + "\">" + (i + 1) + "</a> ";
  }
  document.write(h);
}
</script>"""
LOGO_GIF = bytes.fromhex(
    "47494638396101000100800000ff0000ffffff21f90401000000002c00000000010001000002024401003b"
)
STYLE_CSS = (b"body{margin:0;font:12px/1.8 SimSun,serif}a{color:#333}.TRS_Editor p,#zoom p{text-indent:2em}\n"
             b".banner,.header{background:#c00 url(bg.gif) repeat-x}\n")
COMMON_JS = b"var SITE_READY = true;\n"


def gif(red: int, green: int, blue: int) -> bytes:
    """A 1x1 GIF of one colour: distinct bytes per article image, real enough for a browser."""
    return LOGO_GIF[:13] + bytes([red, green, blue]) + LOGO_GIF[16:]


def article_image(num: int, scale: str = "") -> str:
    """Where article ``num``'s photo lives (every fourth article has one)."""
    return f"/uploads/img/{num}{scale}.gif"
DOC_BYTES = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
TABLE = 'width="1000" border="0" cellspacing="0" cellpadding="0" align="center"'
esc = html.escape


@dataclass
class Route:
    """One canned HTTP response; transfer flags say how the server frames it."""

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    gzip: bool = False
    chunked: bool = False


@dataclass
class _Chrome:
    """Navigation furniture rendered once and reused, including by trap pages built on demand."""

    style: str
    menu: list[tuple[str, str]]
    sidebar: str


@dataclass
class Site:
    """A generated portal plus the ground truth a crawler test compares against."""

    name: str
    routes: dict[str, Route] = field(default_factory=dict)
    articles: dict[str, str] = field(default_factory=dict)
    # What each article page says, by path: title, when (naive, Beijing time), source,
    # author (the page's editor), views, channel: the truth extraction is tested against.
    facts: dict[str, dict[str, Any]] = field(default_factory=dict)
    listings: list[str] = field(default_factory=list)
    disallowed: list[str] = field(default_factory=list)
    trap_prefix: str = ""
    traps: list[str] = field(default_factory=list)
    chrome: _Chrome | None = field(default=None, repr=False)

    def lookup(self, target: str) -> Route | None:
        """Resolve a request target; unknown query strings fall back to the bare path as static servers do."""
        if target in self.routes:
            return self.routes[target]
        path = target.split("?", 1)[0]
        return self._trap_page(path) or self.routes.get(path)

    def _trap_page(self, path: str) -> Route | None:
        """Endless pages can't be enumerated, so traps are rendered per request."""
        if self.chrome is None:
            return None
        if "/calendar/" in self.traps and (m := re.fullmatch(r"/calendar/([1-9]\d{3})-(0[1-9]|1[0-2])\.html", path)):
            return _html_route(_calendar_page(self.chrome, int(m[1]), int(m[2])))
        if "/loop/" in self.traps and path.startswith("/loop/") and path.endswith("/"):
            main = '<div class="zt"><h2>专题专栏</h2><p><a href="more/">更多专题</a></p></div>'
            return _html_route(_page(self.chrome, f"专题专栏_{SITE_NAME}", [("/loop/", "专题专栏")], main))
        return None

    def write_static(self, root: Path) -> None:
        """Export for a static server (e.g. nginx); redirects, query routes and traps need a live server."""
        for path, route in self.routes.items():
            if route.status != 200 or "?" in path:
                continue
            rel = path.lstrip("/")
            if rel == "" or rel.endswith("/"):
                rel += "index.html"
            target = Path(root) / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(route.body)


@dataclass
class _Article:
    title: str
    when: dt.datetime
    num: int
    source: str
    editor: str
    views: int
    path: str = ""


def _html_route(text: str, *, charset: str = "utf-8", **flags: bool) -> Route:
    ctype = HTML_UTF8 if charset == "utf-8" else f"text/html; charset={charset}"
    body = text.encode("gbk" if charset == "gb2312" else charset)
    return Route(headers=[("Content-Type", ctype)], body=body, **flags)


def _box(style: str, heading: str, inner: str) -> str:
    if style == "trs":
        return f'<div class="left_box"><div class="left_tit">{heading}</div><div class="left_con">{inner}</div></div>\n'
    return f'<div class="side-box"><h3>{heading}</h3>{inner}</div>\n'


def _links(items: list[tuple[str, str]], cls: str) -> str:
    lis = "".join(f'<li><a href="{h}" title="{esc(t)}" target="_blank">{esc(t)}</a></li>' for h, t in items)
    return f'<ul class="{cls}">{lis}</ul>'


def _page(chrome: _Chrome, title: str, crumbs: list[tuple[str, str]], main: str,
          head: str = "", charset: str = "utf-8") -> str:
    """Same chrome in both styles but different layout, so no extractor can rely on one template."""
    crumb = '当前位置：<a href="/">首页</a>' + "".join(f' &gt; <a href="{h}">{esc(t)}</a>' for h, t in crumbs)
    welcome = f'欢迎光临：{SITE_NAME}门户网站&nbsp;&nbsp;现在时间：<span id="clock"></span>'
    top = (f'<meta charset="{charset}">\n<title>{esc(title)}</title>\n{head}'
           '<link rel="stylesheet" href="/images/style.css">\n<script src="/js/common.js"></script>\n')
    if chrome.style == "trs":
        menu = " | ".join(f'<a href="{h}">{t}</a>' for h, t in chrome.menu)
        return f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml"><head>
{top}</head>
<body>
<table {TABLE} class="top"><tr><td class="welcome">{welcome}</td>
<td align="right"><a href="javascript:void(0)">设为首页</a> |
<a href="javascript:void(0)">加入收藏</a></td></tr></table>
<table {TABLE} class="banner">
<tr><td><img src="/images/logo.gif" width="1000" height="120" alt="{SITE_NAME}" /></td></tr></table>
<table {TABLE} class="nav"><tr><td>{menu}</td></tr></table>
<table {TABLE} class="main"><tr>
<td width="260" valign="top" class="left">{chrome.sidebar}</td>
<td width="740" valign="top" class="right"><div class="position">{crumb}</div>
{main}
</td></tr></table>
<table {TABLE} class="footer"><tr><td align="center">{FOOTER}</td></tr></table>
{CLOCK_JS}
</body></html>
"""
    menu = "".join(f'<li><a href="{h}">{t}</a></li>' for h, t in chrome.menu)
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head>
{top}</head>
<body>
<div class="topbar"><div class="w1000"><span class="welcome">{welcome}</span></div></div>
<div class="header w1000"><a href="/"><img src="/images/logo.gif" alt="{SITE_NAME}"></a></div>
<div class="dh w1000"><ul>{menu}</ul></div>
<div class="container w1000">
<div class="crumb">{crumb}</div>
<div class="main-left">
{main}
</div>
<div class="main-right">{chrome.sidebar}</div>
</div>
<div class="db"><p>{FOOTER}</p></div>
{CLOCK_JS}
</body></html>
"""


def _calendar_page(chrome: _Chrome, year: int, month: int) -> str:
    prev_y, prev_m = (year, month - 1) if month > 1 else (year - 1, 12)
    next_y, next_m = (year, month + 1) if month < 12 else (year + 1, 1)
    weeks = "".join(
        "<tr>" + "".join(f"<td>{d or ''}</td>" for d in week) + "</tr>" for week in calendar.monthcalendar(year, month)
    )
    heads = "".join(f"<th>{d}</th>" for d in "一二三四五六日")
    main = (
        f'<div class="calendar"><h2>{year}年{month}月活动日历</h2>'
        f'<p><a href="{prev_y:04d}-{prev_m:02d}.html">上一月</a> '
        f'<a href="{next_y:04d}-{next_m:02d}.html">下一月</a></p>'
        f'<table class="cal"><tr>{heads}</tr>{weeks}</table></div>'
    )
    return _page(chrome, f"{year}年{month}月活动日历_{SITE_NAME}", [("/calendar/2020-01.html", "活动日历")], main)


def _tiny_pdf(text: str) -> bytes:
    """A minimal but structurally valid PDF (correct xref offsets) so PDF tooling accepts it."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    return pdf_file([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ])


def pdf_file(objects: list[bytes], trailer: Callable[[int], bytes] = lambda xref: b"") -> bytes:
    """Numbered objects (1 the catalog) with a correct cross-reference table; ``trailer(offset)``
    adds entries to the trailer dictionary, given the table's offset."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer(xref), xref)
    return bytes(out)


def _make_articles(rng: random.Random, channels: int, per_channel: int, style: str) -> list[list[_Article]]:
    """Unique titles and dates over 2019-2020; the first article reproduces the seed page's metadata."""
    pool = [r + t for r in REGIONS for t in TOPICS]
    rng.shuffle(pool)
    total = channels * per_channel
    titles = [SEED_TITLE] + [pool[i % len(pool)] + (f"（之{i // len(pool) + 1}）" if i >= len(pool) else "")
                             for i in range(total - 1)]
    nums = rng.sample(range(100000, 1000000) if style == "trs" else range(1000, 10000), total)
    start = dt.datetime(2019, 1, 1)
    result: list[list[_Article]] = []
    for c in range(channels):
        items = []
        for i in range(per_channel):
            k = c * per_channel + i
            when = start + dt.timedelta(seconds=rng.randrange(730 * 86400))
            art = _Article(titles[k], when, nums[k], rng.choice(SOURCES), rng.choice(EDITORS),
                           rng.randrange(50, 5000))
            if k == 0:
                art.when, art.source, art.editor = dt.datetime(2020, 1, 15, 8, 39, 29), SOURCES[0], EDITORS[0]
                art.views = 927
            code = CHANNELS[c][0]
            w = art.when
            art.path = (f"/{code}/{w:%Y%m}/t{w:%Y%m%d}_{art.num}.html" if style == "trs"
                        else f"/art/{w.year}/{w.month}/{w.day}/art_{101 + c}_{art.num}.html")
            items.append(art)
        items.sort(key=lambda a: a.when, reverse=True)
        result.append(items)
    return result


def _paragraphs(rng: random.Random, art: _Article) -> list[str]:
    """Sentences drawn without replacement: repeated text would confuse dedup-based extractors."""
    pool = rng.sample(SENTENCES, rng.randint(6, 12))
    paras = [f"{SITE_NAME}讯 {art.when.month}月{art.when.day}日，{art.title.split('——')[0]}。{pool.pop()}"]
    while pool:
        size = rng.randint(1, 3)
        paras.append("".join(pool[:size]))
        del pool[:size]
    paras.insert(rng.randint(1, len(paras) - 1), f"<strong>{rng.choice(HEADINGS)}</strong>")
    return paras


def _article_page(chrome: _Chrome, art: _Article, label: str, listing: str, body: list[str],
                  prev: _Article | None, nxt: _Article | None, metas: bool, extra: str, charset: str) -> str:
    stamp = f"{art.when:%Y-%m-%d %H:%M:%S}"
    head = "".join(
        f'<meta name="{n}" content="{esc(v)}">\n' for n, v in [
            ("SiteName", SITE_NAME), ("ColumnName", label), ("ArticleTitle", art.title),
            ("PubDate", f"{art.when:%Y-%m-%d %H:%M}"), ("ContentSource", art.source),
        ]
    ) if metas else ""
    near = [("上一篇", prev), ("下一篇", nxt)]
    share = (f'分享到：<a href="http://service.weibo.com/share/share.php?title={quote(art.title)}">新浪微博</a> '
             '<a href="http://sns.qzone.qq.com/cgi-bin/qzshare/cgi_qzshare_onekey'
             f'?title={quote(art.title)}">QQ空间</a>')
    tools = '<a href="javascript:window.print()">打印本页</a> <a href="javascript:window.close()">关闭窗口</a>'
    if chrome.style == "trs":
        info = "&nbsp;" * 4
        info = info.join([f"来源:{art.source}", f"更新时间:{stamp}", f"编辑:{art.editor}", f"浏览:{art.views}"])
        text = "".join(f'<p style="text-indent:2em;">{p}</p>\n' for p in body)
        pn = "".join(f'<p>{k}：<a href="{a.path}">{esc(a.title)}</a></p>' if a else f"<p>{k}：没有了</p>"
                     for k, a in near)
        main = (f'<div class="article"><h1 class="title">{esc(art.title)}</h1>\n<div class="info">{info}</div>\n'
                f'<div class="TRS_Editor">\n{text}</div>\n{extra}<div class="share">{share}</div>\n'
                f'<div class="prevnext">{pn}</div>\n<div class="tools">{tools}</div></div>')
    else:
        info = " ".join(f"<span>{k}：{v}</span>" for k, v in [
            ("来源", art.source), ("更新时间", stamp), ("编辑", art.editor), ("浏览", art.views)])
        text = "".join(f"<p>\u3000\u3000{p}</p>\n" for p in body)
        pn = "".join(f'<li>{k}：<a href="{a.path}">{esc(a.title)}</a></li>' if a else f"<li>{k}：没有了</li>"
                     for k, a in near)
        main = (f'<table width="100%" class="art-table"><tr><td class="bt">{esc(art.title)}</td></tr>\n'
                f'<tr><td class="art-info">{info}</td></tr>\n'
                f'<tr><td><div id="zoom">\n{text}</div>\n{extra}</td></tr></table>\n'
                f'<div class="bdshare">{share}</div>\n<ul class="sxp">{pn}</ul>\n<div class="art-tools">{tools}</div>')
    return _page(chrome, f"{art.title}_{SITE_NAME}", [(listing, label)], main, head, charset)


def _pager(style: str, pages: int, current: int, name: str, links: bool, script: bool) -> str:
    """TRS numbers page k as index_k (k>=1); JCMS-style art sites count from index_2."""
    def url(k: int) -> str:
        return "index.html" if k == 0 else f"{name}_{k if style == 'trs' else k + 1}.html"

    parts = []
    if links:
        parts.append(f"共{pages}页 当前第{current + 1}页 <a href=\"{url(0)}\">首页</a>")
        if current > 0:
            parts.append(f'<a href="{url(current - 1)}">上一页</a>')
        if current < pages - 1:
            parts.append(f'<a href="{url(current + 1)}">下一页</a>')
        parts.append(f'<a href="{url(pages - 1)}">尾页</a>')
    if script:
        parts.append(f'<script>createPageHTML({pages}, {current}, "{name}", "html");</script>')
    return " ".join(parts)


def _listing_page(chrome: _Chrome, label: str, items: list[_Article], pager: str, head: str, note: str) -> str:
    if chrome.style == "trs":
        rows = "".join(f'<li><span class="date">{a.when:%Y-%m-%d}</span><a href=".{a.path[a.path.index("/", 1):]}" '
                       f'target="_blank" title="{esc(a.title)}">{esc(a.title)}</a></li>\n' for a in items)
        main = (f'<div class="list_tit">{label}</div>\n<ul class="list_con">\n{rows}</ul>\n'
                f'{note}<div class="page">{pager}</div>')
    else:
        rows = "".join(f'<tr><td class="bt"><a href="{a.path}" title="{esc(a.title)}">{esc(a.title)}</a></td>'
                       f'<td class="rq">[{a.when:%Y-%m-%d}]</td></tr>\n' for a in items)
        main = (f'<div class="col-title"><h2>{label}</h2></div>\n<table width="100%" class="list-table">\n'
                f'{rows}</table>\n{note}<div class="pages">{pager}</div>')
    return _page(chrome, f"{label}_{SITE_NAME}", [("index.html", label)], main, head)


def _sidebar(style: str, rng: random.Random, everything: list[_Article], channel_urls: list[str]) -> str:
    hot = sorted(everything, key=lambda a: a.views, reverse=True)[:6]
    qq = "".join(f'<a target="_blank" href="http://wpa.qq.com/msgrd?v=3&amp;uin={u}&amp;site=qq&amp;menu=yes">'
                 f'<img border="0" src="http://wpa.qq.com/pa?p=2:{u}:41" alt="点这里给我发消息" '
                 'title="点这里给我发消息" /></a> '
                 for u in QQ_UINS)
    training = channel_urls[3] if len(channel_urls) > 3 else "/"
    lucky = rng.sample(everything, min(6, len(everything)))
    return "".join([
        _box(style, "消防培训", f'<p><a href="{training}">消防安全培训报名</a> 咨询电话：022-23456119</p>'),
        _box(style, "点击排行", _links([(a.path, a.title) for a in hot], "hot")),
        _box(style, "随机新闻", _links([(a.path, a.title) for a in lucky], "rand")),
        _box(style, "友情链接", _links([(u, t) for t, u in FRIEND_LINKS], "yqlj")),
        _box(style, "在线咨询", f"<p>{qq}</p><p>服务热线：19943758686</p>"),
    ])


def build_site(style: str = "trs", channels: int = 3, articles_per_channel: int = 12, per_page: int = 5,
               seed: int = 0, extras: bool = True, withhold: int = 0) -> Site:
    """Build the whole portal in memory; identical arguments always give identical bytes.

    ``withhold=N`` leaves out the N newest articles of the first channel: the same portal as
    it was before they were published, for testing incremental re-crawls.
    """
    if style not in ("trs", "art") or not 1 <= channels <= len(CHANNELS) or articles_per_channel < 1 or per_page < 1:
        raise ValueError("unsupported build_site arguments")
    rng = random.Random(seed)
    by_channel = _make_articles(rng, channels, articles_per_channel, style)
    by_channel[0] = by_channel[0][withhold:]
    everything = [a for items in by_channel for a in items]
    dirs = [f"/{CHANNELS[c][0]}/" if style == "trs" else f"/col/col{101 + c}/" for c in range(channels)]
    chrome = _Chrome(style, [("/", "网站首页")] + [(d + "index.html", CHANNELS[c][1]) for c, d in enumerate(dirs)], "")
    chrome.sidebar = _sidebar(style, rng, everything, [d + "index.html" for d in dirs])
    site = Site(name=SITE_NAME, chrome=chrome)
    gbk_channel = min(1, channels - 1)
    query_channel = gbk_channel

    for c, items in enumerate(by_channel):
        label = CHANNELS[c][1]
        pages = -(-len(items) // per_page)
        head = "" if c % 2 else (f'<meta name="SiteName" content="{SITE_NAME}">\n'
                                  f'<meta name="ColumnName" content="{label}">\n')
        if style == "trs":
            head += PAGER_JS + "\n"
        for p in range(pages):
            chunk = items[p * per_page:(p + 1) * per_page]
            name = "index.html" if p == 0 else f"index_{p if style == 'trs' else p + 1}.html"
            pager = _pager(style, pages, p, "index", links=style != "trs" or c != 0, script=style == "trs")
            note = '<p class="mode"><a href="list?page=1">列表模式</a></p>\n' if extras and c == query_channel else ""
            page = _listing_page(chrome, label, chunk, pager, head, note)
            site.routes[dirs[c] + name] = _html_route(page, chunked=True)
            site.listings.append(dirs[c] + name)
            if extras and c == query_channel:
                nav = " ".join(f'<a href="list?page={k}">{k}</a>' if k != p + 1 else f"<span>{k}</span>"
                               for k in range(1, pages + 1))
                if p < pages - 1:
                    nav += f' <a href="list?page={p + 2}">下一页</a>'
                target = f"{dirs[c]}list?page={p + 1}"
                site.routes[target] = _html_route(_listing_page(chrome, label, chunk, nav, head, ""), chunked=True)
                site.listings.append(target)
        for i, art in enumerate(items):
            k = c * articles_per_channel + i
            extra, charset = "", "utf-8"
            if extras and c == 0 and i == min(2, len(items) - 1):
                extra = ('<div class="fj">附件：<a href="/uploads/report.pdf">2019年度火灾形势分析报告.pdf</a><br>'
                         '<a href="/uploads/form.doc">消防安全检查申报表.doc</a></div>\n')
            if extras and c == gbk_channel and i == len(items) // 2:
                charset = "gb2312"
            # Each article's text from its own generator: withholding the newest articles
            # (an earlier state of the portal) leaves every other article's text as it is.
            text = _paragraphs(random.Random(f"{seed}:{art.path}"), art)
            if extras and art.num % 4 == 0:
                photo = article_image(art.num)
                text.insert(1, f'<img src="{photo}" srcset="{article_image(art.num, "@2x")} 2x" alt="">')
                for scale in ("", "@2x"):
                    site.routes[article_image(art.num, scale)] = Route(
                        headers=[("Content-Type", "image/gif")],
                        body=gif(art.num % 256, len(scale), art.num // 256 % 256))
            html_text = _article_page(chrome, art, label, dirs[c] + "index.html", text,
                                      items[i - 1] if i else None, items[i + 1] if i + 1 < len(items) else None,
                                      metas=k % 3 != 2, extra=extra, charset=charset)
            both = charset == "utf-8" and k % 3 == 1
            site.routes[art.path] = _html_route(html_text, charset=charset, gzip=both, chunked=both)
            site.articles[art.path] = art.title
            site.facts[art.path] = {"title": art.title, "when": art.when, "source": art.source,
                                    "author": None if art.editor in ACCOUNTS else art.editor, "views": art.views,
                                    "channel": label}

    latest = sorted(everything, key=lambda a: a.when, reverse=True)[:8]
    news = "".join(f'<li><a href="{a.path}">{esc(a.title)}</a><span>{a.when:%m-%d}</span></li>' for a in latest)
    specials = [("/old/news.html", "旧版新闻"), ("/calendar/2020-01.html", "活动日历"), ("/loop/", "专题专栏"),
                ("/admin/secret.html", "后台管理"), ("/missing.html", "网站地图")] if extras else []
    home_main = (f'<div class="zxdt"><h2>最新动态</h2><ul>{news}</ul></div>\n'
                 + (f'<div class="ztzl"><h2>专题专栏</h2>{_links(specials, "zt")}</div>\n' if specials else "")
                 + f'<div class="yqlj"><h2>友情链接</h2>{_links([(u, t) for t, u in FRIEND_LINKS], "friend")}</div>')
    home = _html_route(_page(chrome, SITE_NAME, [], home_main), gzip=True)
    home.headers += [("Set-Cookie", "JSESSIONID=8F3A1C2B9D7E; Path=/; HttpOnly"),
                     ("Set-Cookie", "route=a1b2c3; Path=/")]
    site.routes["/"] = home
    site.routes["/images/style.css"] = Route(headers=[("Content-Type", "text/css")], body=STYLE_CSS)
    site.routes["/images/logo.gif"] = Route(headers=[("Content-Type", "image/gif")], body=LOGO_GIF)
    site.routes["/images/bg.gif"] = Route(headers=[("Content-Type", "image/gif")], body=gif(204, 0, 0))
    site.routes["/js/common.js"] = Route(headers=[("Content-Type", "application/javascript")], body=COMMON_JS)

    if extras:
        site.disallowed = ["/admin/"]
        site.trap_prefix, site.traps = "/calendar/", ["/calendar/", "/loop/"]
        admin = _page(chrome, f"后台管理_{SITE_NAME}", [], "<p>内部管理页面，禁止抓取。</p>")
        moved = b"<html><body>Moved</body></html>"
        site.routes.update({
            "/robots.txt": Route(headers=[("Content-Type", "text/plain")], body=b"User-agent: *\nDisallow: /admin/\n"),
            "/admin/secret.html": _html_route(admin),
            "/old/news.html": Route(301, [("Location", "/old/news2.html"), ("Content-Type", HTML_UTF8)], moved),
            "/old/news2.html": Route(302, [("Location", dirs[0] + "index.html"), ("Content-Type", HTML_UTF8)], moved),
            "/uploads/report.pdf": Route(headers=[("Content-Type", "application/pdf")], body=_tiny_pdf("Demo report")),
            "/uploads/form.doc": Route(headers=[("Content-Type", "application/msword")], body=DOC_BYTES),
        })
    return site
