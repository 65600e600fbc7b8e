# ruff: noqa: E501 - page templates read better unbroken
"""Loopback portals that only a browser can read, each with the truth a test compares against.

One generated news portal (a home page, a channel of listing pages, ``articles`` articles
with a title, a date and prose paragraphs, a stylesheet and a logo), served behind one of:

- ``jsl``: a 加速乐-style cookie gate. Without a valid ``__jsl_clearance_s`` every request
  (robots.txt, pages, stylesheet, images) answers **521** with a script that computes the
  cookie and reloads the page; the cookie then stays good for an hour (shared/research/
  cms-catalogue.md §9).
- ``ruishu``: a 瑞数-style single-use token gate. Every HTML page needs a fresh token cookie,
  computed by ``/rs/ts.js`` from a nonce the previous page (or the **412** stub) carries; a
  token opens one page only.
- ``spa``: a script-rendered portal. Every page is the same shell; ``/static/app.js`` asks a
  JSON API (``/api/list``, ``/api/article``) that refuses requests without a signature the
  script computes (FNV-1a over the path, the query and a key written in the script), and
  builds the list or the article from the answer.
- ``captcha``: every page answers **403** with an image CAPTCHA form. A normal browser does
  not get past it (and nothing may try to): the crawl must report it.
- ``plain``: the same portal with no gate (the benchmark's yardstick).

The server logs every request and its answer (``GatedServer.answered``). ``python -m tests.browser_portals KIND`` serves one on
127.0.0.1:8000 for a look by hand.
"""

from __future__ import annotations

import html
import json
import random
import secrets
import sys
import threading
import time
from dataclasses import dataclass, field
from email.message import Message
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs, urlsplit

from cms_portals import PortalServer

from demo.site import SENTENCES, TOPICS

KINDS = ("plain", "jsl", "ruishu", "spa", "captcha")
HOSTS = {kind: f"127.0.0.{41 + number}" for number, kind in enumerate(KINDS)}
SITE = "示例市应急管理局"
PER_PAGE = 10
SPA_KEY = "k9Qx2mZ7"
LOGO = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"
        b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
STYLE = b"body{margin:0;font-family:sans-serif}.main{width:960px;margin:0 auto}h1{font-size:22px}"
esc = html.escape


@dataclass
class Article:
    id: int
    title: str
    date: str
    paragraphs: list[str]

    @property
    def path(self) -> str:
        return f"/xwdt/{self.date[:4]}{self.date[5:7]}/t{self.date.replace('-', '')}_{self.id}.html"


def make_articles(count: int, seed: int = 19) -> list[Article]:
    rng = random.Random(seed)
    out = []
    for number in range(count):
        month, day = rng.randint(1, 12), rng.randint(1, 28)
        title = f"{rng.choice(TOPICS)}（第{number + 1}期）"
        paragraphs = ["".join(rng.sample(SENTENCES, 3)) for _ in range(3)]
        out.append(Article(10000 + number, title, f"2026-{month:02d}-{day:02d}", paragraphs))
    out.sort(key=lambda article: (article.date, article.id), reverse=True)
    return out


def fnv1a(text: str) -> str:
    """FNV-1a, 32 bits, over the UTF-8 bytes: app.js signs API requests with the same function."""
    value = 0x811C9DC5
    for byte in text.encode("utf-8"):
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return f"{value:08x}"


# --- static pages (plain, jsl, ruishu and captcha serve these behind their gates) ---------------

def _page(title: str, main: str, head: str = "") -> bytes:
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{esc(title)}</title>'
            f'<link rel="stylesheet" href="/css/style.css">{head}</head><body>'
            f'<div class="top"><img src="/images/logo.gif" alt="{SITE}"><a href="/">首页</a>'
            f'<a href="/xwdt/index.html">工作动态</a></div><div class="main">{main}</div>'
            f'<div class="footer">版权所有：{SITE}　地址：示例市人民路1号</div></body></html>').encode()


def listing_path(page: int) -> str:
    return "/xwdt/index.html" if page == 0 else f"/xwdt/index_{page}.html"


def static_pages(articles: list[Article]) -> dict[str, bytes]:
    pages: dict[str, bytes] = {}
    count = -(-len(articles) // PER_PAGE)
    for page in range(count):
        chunk = articles[page * PER_PAGE:(page + 1) * PER_PAGE]
        items = "".join(f'<li><a href="{a.path}" target="_blank">{esc(a.title)}</a><span>{a.date}</span></li>'
                        for a in chunk)
        pager = "".join(f'<a href="{listing_path(p)}">{p + 1}</a>' for p in range(count) if p != page)
        pages[listing_path(page)] = _page(f"工作动态_{SITE}", f'<div class="crumb">当前位置：首页 &gt; 工作动态</div>'
                                                            f'<ul class="list">{items}</ul><div class="pager">{pager}</div>')
    for a in articles:
        body = "".join(f"<p>{esc(p)}</p>" for p in a.paragraphs)
        pages[a.path] = _page(f"{a.title}_{SITE}", f'<h1>{esc(a.title)}</h1><div class="info">发布时间：{a.date}　'
                                                    f'来源：{SITE}</div><div class="TRS_Editor">{body}</div>')
    latest = "".join(f'<li><a href="{a.path}">{esc(a.title)}</a></li>' for a in articles[:5])
    pages["/"] = _page(SITE, f'<div class="news"><h2><a href="/xwdt/index.html">工作动态</a></h2><ul>{latest}</ul></div>')
    return pages


# --- gates ------------------------------------------------------------------------------------

JSL_STUB = ("<html><body><script>document.cookie=('__jsl_clearance_s=')+({expr})+';max-age=3600;path=/';"
            "location.href=location.pathname+location.search</script></body></html>")

RS_STUB = ("<html><head><meta id=\"rs\" content=\"{nonce}\" r='m'><script>$_ts=window['$_ts'];if(!$_ts)$_ts={{}};"
           "$_ts.nsd=31337;$_ts.cd=\"{nonce}\";</script><script src=\"/rs/ts.js\" r='m'></script></head><body></body></html>")
# The token of a nonce: its characters' codes summed with their positions, in base 36, then the
# nonce reversed. Computed by the page's script; a crawler that does not run it has no token.
RS_JS = """(function(){
var m=document.getElementById('rs')||document.getElementById('rs-next');if(!m)return;
var n=m.getAttribute('content'),s=0;for(var i=0;i<n.length;i++){s+=n.charCodeAt(i)*(i+1);}
document.cookie='NfBCSins2OywT='+s.toString(36)+n.split('').reverse().join('')+';path=/';
if(m.id==='rs'){location.reload();}
})();"""

CAPTCHA_PAGE = ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>安全验证</title></head><body>"
                "<div class=\"box\"><h2>访问验证</h2><p>您的访问过于频繁，请输入验证码后继续访问。</p>"
                "<form method=\"post\" action=\"/_verify\"><img id=\"captcha\" src=\"/_captcha/image.gif\">"
                "<input type=\"text\" name=\"captcha\" placeholder=\"请输入验证码\"><button type=\"submit\">提交</button>"
                "</form></div></body></html>")


def rs_token(nonce: str) -> str:
    total = sum(ord(ch) * (i + 1) for i, ch in enumerate(nonce))
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        total, rest = divmod(total, 36)
        text = digits[rest] + text
        if not total:
            break
    return text + nonce[::-1]


# --- the script-rendered portal ------------------------------------------------------------------

SPA_SHELL = (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{SITE}</title>'
             '<link rel="stylesheet" href="/static/app.css"></head><body><div id="app">加载中…</div>'
             '<script src="/static/app.js"></script></body></html>').encode()

SPA_JS = r"""(function(){
var KEY='%KEY%',SITE='%SITE%',HANG=%HANG%,HOG=%HOG%;
function fnv(s){var h=0x811c9dc5,b=unescape(encodeURIComponent(s));for(var i=0;i<b.length;i++){h^=b.charCodeAt(i);h=Math.imul(h,0x01000193)>>>0;}return ('0000000'+h.toString(16)).slice(-8);}
function api(path,query){var q=Object.keys(query).sort().map(function(k){return k+'='+encodeURIComponent(query[k]);}).join('&');
  return fetch(path+'?'+q+'&sign='+fnv(path+'?'+q+'#'+KEY),{headers:{'X-Requested-With':'XMLHttpRequest'}}).then(function(r){if(!r.ok)throw new Error('HTTP '+r.status);return r.json();});}
function esc(s){return String(s).replace(/[&<>"]/g,function(c){return {'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c];});}
var app=document.getElementById('app'),args=new URLSearchParams(location.search);
var chrome='<div class="top"><a href="/">首页</a><a href="/list.html?page=1">工作动态</a></div>';
function foot(){return '<div class="footer">版权所有：'+SITE+'</div>';}
if(location.pathname==='/detail.html'){
  if(HANG.indexOf(+args.get('id'))>=0){for(;;){}}
  if(HOG.indexOf(+args.get('id'))>=0){var hog=[];for(;;){hog.push(new Array(1e6).fill(hog.length));}}
  api('/api/article',{id:args.get('id')}).then(function(a){
    document.title=a.title+'_'+SITE;
    app.innerHTML=chrome+'<div class="main"><h1>'+esc(a.title)+'</h1><div class="info">发布时间：'+esc(a.date)+'　来源：'+esc(a.source)+'</div><div class="TRS_Editor">'+a.paragraphs.map(function(p){return '<p>'+esc(p)+'</p>';}).join('')+'</div></div>'+foot();
  }).catch(function(e){app.textContent='加载失败 '+e;});
}else{
  var page=parseInt(args.get('page')||'1',10);
  api('/api/list',{page:page,size:10}).then(function(d){
    var items=d.items.map(function(a){return '<li><a href="/detail.html?id='+a.id+'">'+esc(a.title)+'</a><span>'+esc(a.date)+'</span></li>';}).join('');
    var pager='';for(var p=1;p<=d.pages;p++){if(p!==page)pager+='<a href="/list.html?page='+p+'">'+p+'</a>';}
    app.innerHTML=chrome+'<div class="main"><div class="crumb">当前位置：首页 &gt; 工作动态</div><ul class="list">'+items+'</ul><div class="pager">'+pager+'</div></div>'+foot();
  }).catch(function(e){app.textContent='加载失败 '+e;});
}
})();"""


@dataclass
class Answered:
    """One request the portal answered, with the cookies it came with."""

    method: str
    target: str
    cookie: str
    status: int
    at: float = field(default_factory=time.monotonic)


@dataclass
class GatedPortal:
    """A portal of one kind: its articles (the truth) and what its server answers."""

    kind: str
    base: str
    articles: list[Article]
    pages: dict[str, bytes] = field(default_factory=dict)
    # Gate state, shared by the server's threads.
    gzip: bool = False  # the server's switch (cms_portals): these portals answer uncompressed
    # robots.txt (404 when None); spa articles whose page script loops forever, or allocates
    # memory without end; spa articles not published yet (left out of the API's answers).
    robots: str | None = None
    hang: set[int] = field(default_factory=set)
    hog: set[int] = field(default_factory=set)
    hidden: set[int] = field(default_factory=set)
    jsl_expected: dict[str, str] = field(default_factory=dict)
    rs_tokens: dict[str, bool] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.pages = static_pages(self.articles)
        self.by_id = {a.id: a for a in self.articles}

    def article_urls(self) -> dict[str, Article]:
        """Article URL -> its truth (for ``spa``, the detail page the list links)."""
        if self.kind == "spa":
            return {f"{self.base}/detail.html?id={a.id}": a for a in self.articles}
        return {self.base + a.path: a for a in self.articles}

    # Each answer: (status, content type, body, extra headers)
    def answer(self, method: str, target: str, cookies: dict[str, str]) -> tuple[int, str, bytes, list[tuple[str, str]]]:
        parts = urlsplit(target)
        path, query = parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}
        if path == "/robots.txt" and self.robots is not None and self.kind != "jsl":
            return 200, "text/plain", self.robots.encode(), []
        if self.kind == "spa":
            return self._spa(path, query, parts.query)
        if self.kind == "jsl" and (gate := self._jsl_gate(cookies)) is not None:
            return gate
        if self.kind == "captcha" and not path.startswith("/_captcha/"):
            return 403, "text/html; charset=utf-8", CAPTCHA_PAGE.encode(), []
        if path == "/rs/ts.js":
            return 200, "application/javascript", RS_JS.encode(), []
        if path == "/css/style.css":
            return 200, "text/css", STYLE, []
        if path in ("/images/logo.gif", "/_captcha/image.gif"):
            return 200, "image/gif", LOGO, []
        if path not in self.pages:
            return 404, "text/html; charset=utf-8", b"<html><body>404</body></html>", []
        body = self.pages[path]
        if self.kind == "ruishu":
            if not self._rs_consume(cookies.get("NfBCSins2OywT", "")):
                nonce = self._rs_issue()
                return 412, "text/html", RS_STUB.format(nonce=nonce).encode(), [
                    ("Set-Cookie", f"NfBCSins2OywS={secrets.token_hex(8)}; Path=/; HttpOnly")]
            nonce = self._rs_issue()
            body = body.replace(b"</head>", f'<meta id="rs-next" content="{nonce}"><script src="/rs/ts.js"></script></head>'.encode(), 1)
        return 200, "text/html; charset=utf-8", body, []

    def _jsl_gate(self, cookies: dict[str, str]):
        uid = cookies.get("__jsluid_h", "")
        with self.lock:
            expected = self.jsl_expected.get(uid)
            if expected is not None and cookies.get("__jsl_clearance_s") == expected:
                return None
            extra = []
            if expected is None:
                uid = secrets.token_hex(16)
                extra.append(("Set-Cookie", f"__jsluid_h={uid}; max-age=31536000; path=/; HttpOnly"))
            a, b, c = (random.randint(100, 999) for _ in range(3))
            self.jsl_expected[uid] = f"{a * b + c}.{uid[:6]}"
        expression = f"String({a}*{b}+{c})+'.'+'{uid[:3]}'+'{uid[3:6]}'"
        return 521, "text/html", JSL_STUB.format(expr=expression).encode(), extra

    def _rs_issue(self) -> str:
        nonce = secrets.token_hex(6)
        with self.lock:
            self.rs_tokens[rs_token(nonce)] = True
        return nonce

    def _rs_consume(self, token: str) -> bool:
        with self.lock:
            if self.rs_tokens.get(token):
                self.rs_tokens[token] = False  # single use
                return True
        return False

    def _spa(self, path: str, query: dict[str, str], raw_query: str):
        if path in ("/", "/list.html", "/detail.html"):
            return 200, "text/html; charset=utf-8", SPA_SHELL, []
        if path == "/static/app.js":
            script = (SPA_JS.replace("%KEY%", SPA_KEY).replace("%SITE%", SITE).replace("%HANG%", json.dumps(sorted(self.hang)))
                      .replace("%HOG%", json.dumps(sorted(self.hog))))
            return 200, "application/javascript; charset=utf-8", script.encode(), []
        if path == "/static/app.css":
            return 200, "text/css", STYLE, []
        if path in ("/api/list", "/api/article"):
            unsigned = "&".join(part for part in raw_query.split("&") if not part.startswith("sign="))
            if query.get("sign") != fnv1a(f"{path}?{unsigned}#{SPA_KEY}"):
                return 403, "application/json", b'{"code":403,"msg":"sign error"}', []
            published = [a for a in self.articles if a.id not in self.hidden]
            if path == "/api/list":
                page, size = int(query.get("page", "1")), int(query.get("size", "10"))
                chunk = published[(page - 1) * size:page * size]
                data = {"pages": -(-len(published) // size), "total": len(published),
                        "items": [{"id": a.id, "title": a.title, "date": a.date} for a in chunk]}
            else:
                article = self.by_id.get(int(query.get("id", "0") or 0))
                if article is None or article.id in self.hidden:
                    return 404, "application/json", b'{"code":404}', []
                data = {"title": article.title, "date": article.date, "source": SITE, "paragraphs": article.paragraphs}
            return 200, "application/json; charset=utf-8", json.dumps(data, ensure_ascii=False).encode(), []
        return 404, "text/html; charset=utf-8", b"<html><body>404</body></html>", []


class GatedServer(PortalServer):
    """Serves one portal of ``kind`` with ``articles`` articles on its own 127.0.0.x address
    (the CMS fixtures' server: HTTP/1.1, validators, every request logged)."""

    def __init__(self, kind: str, articles: int = 30, host: str | None = None, port: int = 0) -> None:
        super().__init__(kind, host or HOSTS[kind], port,
                         build=lambda base: GatedPortal(kind, base, make_articles(articles)))  # type: ignore[arg-type]
        self.answered: list[Answered] = []

    def answer(self, method: str, target: str, body: bytes,
               headers: Message | None = None) -> tuple[int, str, bytes, list[tuple[str, str]]]:
        jar: SimpleCookie = SimpleCookie()
        cookie = (headers.get("Cookie") if headers is not None else None) or ""
        try:
            jar.load(cookie)
        except CookieError:
            jar = SimpleCookie()
        answer = self.portal.answer(method, target, {name: morsel.value for name, morsel in jar.items()})
        self.log_answer(Answered(method, target, cookie, answer[0]))
        return answer

    def log_answer(self, entry: Answered) -> None:
        with self._lock:
            self.answered.append(entry)


if __name__ == "__main__":
    kind = sys.argv[1] if len(sys.argv) > 1 else "spa"
    with GatedServer(kind, host="127.0.0.1", port=8000) as server:
        print(f"serving the {kind} portal at {server.url} ({len(server.portal.articles)} articles; Ctrl-C stops)",
              flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
