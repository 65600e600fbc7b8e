# ruff: noqa: E501 - quotations of real pages read better unbroken
"""Discovery mechanisms and challenge gates on text built from the catalogue's quotations."""

from __future__ import annotations

import gzip
import json
import shutil
import zlib
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse

from archive.challenges import challenge_kind, exchange_challenge
from crawler.discover.families import CMS_DIR, is_counter, knowledge, recognise
from crawler.discover.links import discover_page, link_extractor
from crawler.discover.pagination import EndpointSpec, find_endpoints, next_page, read_endpoint, sequence_urls

HOSTS = ["x.gov.cn"]


def discover(url: str, body: str, charset: str = "utf-8"):
    response = HtmlResponse(url, body=body.encode(charset), encoding=charset)
    return discover_page(response, link_extractor(), HOSTS)


# --- challenges ----------------------------------------------------------------------------------

RUISHU = b"<html><head><meta content='seed' r='m'><script>$_ts=window['$_ts'];if(!$_ts)$_ts={};$_ts.nsd=1;$_ts.cd='x'</script>"
JSL = b"<script>document.cookie=('_')+('_jsl_clearance_s=1612345678.1|0|abc');location.href=location.pathname</script>"
WZWS = b'<html><script>var dynamicurl="/WZWSREL1234";var wzwsquestion="x";var wzwsfactor="1";</script></html>'
BLOCKED = "<h1>访问被拦截！</h1><p>当前访问疑似黑客攻击，已被创宇盾拦截。</p>"


@pytest.mark.parametrize("coding", [None, "gzip", "deflate"])
def test_every_gate_is_recognised_on_the_decoded_payload(coding):
    def served(body: bytes) -> bytes:
        return gzip.compress(body) if coding == "gzip" else zlib.compress(body) if coding == "deflate" else body

    assert challenge_kind(412, served(RUISHU), content_encoding=coding) == "ruishu"
    assert challenge_kind(200, served(RUISHU), content_encoding=coding) == "ruishu"
    assert challenge_kind(521, served(JSL), content_encoding=coding) == "jsl"
    assert challenge_kind(418, served("<p>访问被拦截</p>".encode()), content_encoding=coding) == "chuangyudun"
    assert challenge_kind(200, served(BLOCKED.encode("gbk")), content_encoding=coding) == "chuangyudun"
    assert challenge_kind(200, served(WZWS), content_encoding=coding) == "wzws"


def test_gzip_challenges_are_flagged_from_raw_exchange_headers():
    headers = [(b"Content-Type", b"text/html"), (b"Content-Encoding", b"gzip")]
    assert exchange_challenge(200, gzip.compress(RUISHU), headers) == "ruishu"
    assert exchange_challenge(521, gzip.compress(JSL), headers) == "jsl"
    # The compressed bytes alone show nothing: detection must decode.
    assert challenge_kind(200, gzip.compress(RUISHU)) is None


def test_cookies_alone_name_a_gate_and_pages_are_not_challenges():
    assert challenge_kind(200, b"<html></html>", [b"wzws_cid=abc; path=/"]) == "wzws"
    assert challenge_kind(521, b"", [b"__jsluid_h=1; path=/"]) == "jsl"
    assert challenge_kind(200, b"<html>" + "消防安全".encode() * 100 + b"</html>", [b"JSESSIONID=1"]) is None
    # A long article that quotes the marker is not a stub.
    article = b"<html><p>$_ts=1 " + "应急管理".encode() * 20000 + b"</p></html>"
    assert challenge_kind(200, article) is None
    assert challenge_kind(404, b"<html>not found</html>") is None


# --- script pagers -------------------------------------------------------------------------------

def test_trs_pager_forms():
    assert sequence_urls('createPageHTML(3, 0, "index", "shtml");', "http://x.gov.cn/a/index.shtml",
                         list(knowledge().families), 1000) == [
        "http://x.gov.cn/a/index.shtml", "http://x.gov.cn/a/index_1.shtml", "http://x.gov.cn/a/index_2.shtml"]
    found = discover("http://x.gov.cn/b/dezlist.shtml", "<script>createPageHTML('page_div',3, 1,'dezlist','shtml',25);</script>")
    assert found.pages == ["http://x.gov.cn/b/dezlist.shtml", "http://x.gov.cn/b/dezlist_2.shtml",
                           "http://x.gov.cn/b/dezlist_3.shtml"]
    stale = ('<script>\n//createPageHTML(9, 0, "index", "html");\nvar currentPage = 2;//所在页从0开始\n'
             "var countPage = 17//共多少页\n</script>")
    found = discover("http://x.gov.cn/c/index_2.html", stale)
    assert found.pages == [f"http://x.gov.cn/c/index_{n}.html" for n in range(1, 17)]
    assert found.mechanism.startswith("var countPage = 17")
    hidden = '<script type="text/javascript"><!--\ncreatePageHTML(2, 0, "index", "html");\n//--></script>'
    assert discover("http://x.gov.cn/e/index.html", hidden).pages == ["http://x.gov.cn/e/index.html",
                                                                       "http://x.gov.cn/e/index_1.html"]
    assert discover("http://x.gov.cn/e/index.html", '<!-- createPageHTML(2, 0, "index", "html"); -->').pages == []


def test_an_article_names_its_continuation_pages():
    block = "<script>var currentPage = {c};var countPage = 3//共多少页</script>"
    assert discover("http://x.gov.cn/d/202001/t20200115_123.html", block.format(c=0)).pages == [
        "http://x.gov.cn/d/202001/t20200115_123_1.html", "http://x.gov.cn/d/202001/t20200115_123_2.html"]
    assert discover("http://x.gov.cn/d/202001/t20200115_123_1.html", block.format(c=1)).pages == [
        "http://x.gov.cn/d/202001/t20200115_123_1.html", "http://x.gov.cn/d/202001/t20200115_123_2.html"]


# --- records, onclick, endpoints -----------------------------------------------------------------

HANWEB = """<div id="212860"><script type="text/xml"><datastore>
<nextgroup><![CDATA[<a href="/module/web/jpage/dataproxy.jsp?page=1&appid=1&webid=1&path=/&columnid=33718&unitid=212860&webname=江苏省人民政府&permissiontype=0"></a>]]></nextgroup>
<recordset><record><![CDATA[<li><a href='/art/2026/9/11/art_33718_11828204.html' title='…'>…</a><span>2026-09-11</span></li>]]></record>
</recordset></datastore></script></div>
<script>$('#49468').jpage({themeName:'default',totalRecord:1418,dataStore:InitData49468,groupSize:3,
 proxyUrl:'/module/jslib/jquery/jpage/dataproxy.jsp',perPage:25,ajaxParam:{col:1,appid:'1',webid:60,path:'/',
 columnid:30067,unitid:'49468',webname:'南通市政府采购网',permissiontype:0}});
var InitData49468 = ["<li><a href=\\"/art/2020/1/2/art_30067_1.html\\">x</a></li>"];</script>
<a onclick="isDownLoad(this,'https://x.gov.cn/xxfb/202609/t20260924_7382724.html')">y</a>
<li onclick='window.open("/zc/1.html")'>z</li>"""


def test_hanweb_records_onclick_and_both_dataproxy_styles():
    found = discover("http://x.gov.cn/col/col33718/index.html", HANWEB)
    assert found.family == "hanweb" and found.records == 3  # two records and the <nextgroup> link
    assert set(found.links) == {"https://x.gov.cn/xxfb/202609/t20260924_7382724.html", "http://x.gov.cn/zc/1.html",
                                "http://x.gov.cn/art/2026/9/11/art_33718_11828204.html",
                                "http://x.gov.cn/art/2020/1/2/art_30067_1.html"}
    get, post = found.endpoints
    assert get.key == "hanweb:0" and "page=1&" in get.url and get.form is None
    assert post.key == "hanweb:1" and post.url.endswith("/module/jslib/jquery/jpage/dataproxy.jsp?startrecord=1"
                                                        "&endrecord=75&perpage=75")
    assert post.form["columnid"] == "30067" and post.form["webname"] == "南通市政府采购网"
    endpoint = knowledge().endpoint(post.key)
    response = ("<datastore><totalrecord>150</totalrecord><recordset>"
                + "<record><![CDATA[<li><a href=\"/art/1.html\">a</a></li>]]></record>" * 75 + "</recordset></datastore>")
    page = read_endpoint(endpoint, response)
    assert page.records == 75 and page.total == 150
    second = next_page(endpoint, post, page, 1000)
    assert second.url.endswith("startrecord=76&endrecord=150&perpage=75") and second.form == post.form
    assert next_page(endpoint, second, page, 1000) is None  # 150 records = 2 windows
    empty = read_endpoint(knowledge().endpoint(get.key), "<datastore><recordset></recordset></datastore>")
    assert next_page(knowledge().endpoint(get.key), get, empty, 1000) is None


def test_json_apis_gkmlpt_jpaas_igs():
    shell = """<script>window._CONFIG = {"SID":"755031","TREE":[{"id":2811,"children":[{"id":2812}]}]};</script>"""
    specs = find_endpoints(shell, "http://x.gov.cn/gkmlpt/index", list(knowledge().families))
    assert [spec.url for spec in specs] == ["http://x.gov.cn/gkmlpt/api/all/2811?page=1&sid=755031",
                                            "http://x.gov.cn/gkmlpt/api/all/2812?page=1&sid=755031"]
    endpoint = knowledge().endpoint(specs[0].key)
    pages = [read_endpoint(endpoint, json.dumps({"total": 250, "articles": [{"url": f"/p{k}_{n}.html"} for n in range(100)]}))
             for k in range(3)]
    assert pages[0].records == 100 and pages[0].links[0] == "/p0_0.html"
    third = next_page(endpoint, next_page(endpoint, specs[0], pages[0], 1000), pages[1], 1000)
    assert third.url.endswith("page=3&sid=755031") and next_page(endpoint, third, pages[2], 1000) is None

    loader = ("<script queryData=\"{'webId':'w1','tplSetId':'t1','pageId':'p9','tagId':'zw'}\" "
              "src=\"/module/AuthorizedRead/unitbuild.js\"></script>")
    [jpaas] = find_endpoints(loader, "http://x.gov.cn/col/col1/index.html", list(knowledge().families))
    assert "parseType=bulidstatic&webId=w1&tplSetId=t1" in jpaas.url and "pageId=p9" in jpaas.url
    assert "paramJson=%7B%22pageNo%22%3A1%2C%22pageSize%22%3A%2215%22%7D" in jpaas.url
    endpoint = knowledge().endpoint(jpaas.key)
    page = read_endpoint(endpoint, json.dumps({"success": True, "data": {"html": "<ul><li><a href='/a.html'>a</a></li></ul>"}}))
    following = next_page(endpoint, jpaas, page, 1000)
    assert "%22pageNo%22%3A2" in following.url
    assert next_page(endpoint, following, read_endpoint(endpoint, '{"data":{"html":""}}'), 1000) is None
    # A server that ignores the page number (answers page 1 again) is not asked forever.
    assert next_page(endpoint, following, page, 1000) is None

    igs = "$.ajax({url:'/igs/front/search/list.html?index=zc&pageNumber=1&pageSize=10'})"
    [spec] = find_endpoints(igs, "http://x.gov.cn/zc/index.html", list(knowledge().families))
    endpoint = knowledge().endpoint(spec.key)
    page = read_endpoint(endpoint, json.dumps({"page": {"totalPages": 2, "content": [{"docpuburl": "/t1.html"}]}}))
    assert page.links == ["/t1.html"] and page.total_pages == 2
    assert next_page(endpoint, next_page(endpoint, spec, page, 1000), page, 1000) is None


def test_hit_counters_are_known_and_pages_are_not():
    for url in ["http://x.cn/plus/count.php?view=yes&aid=3161&mid=1",
                "http://x.cn/e/public/ViewClick/?classid=2&id=641&addclick=1",
                "http://x.cn/api.php?op=count&id=12&modelid=1", "http://x.cn/content_view.jspx?contentId=20849",
                "http://x.cn/system/resource/code/news/click/dynclicks.js"]:
        assert is_counter(url), url
    for url in ["http://x.cn/a/xwzx/list_12_2.html", "http://x.cn/api.php?op=search", "http://x.cn/zbgg/20849.jhtml"]:
        assert not is_counter(url), url


def test_recognition_follows_priority():
    assert recognise('<a href="/igs/front/search.jhtml?code=1">')[0] == "trs_igs"
    assert recognise('<a href="/zbgg/index_2.jhtml">')[0] == "jeecms"
    assert recognise("<p>nothing here</p>") is None


def test_a_new_family_is_a_file(tmp_path: Path):
    """Adding a family is adding a TOML file: no code changes."""
    directory = tmp_path / "cms"
    shutil.copytree(CMS_DIR, directory)
    (directory / "zz_example.toml").write_text('''name = "example"
label = "Example CMS"
priority = 99
fingerprints = ['ExampleCMS']
markers = ["loadList"]
counters = ['/hits\\.do']
[[endpoint]]
find = \'\'\'loadList\\(\\s*['"](?P<url>[^'"]+)['"]\'\'\'
url = "{url}"
page_param = "p"
response = "json"
items = "list"
total = "total"
''', encoding="utf-8")
    known = knowledge(directory)
    assert recognise("<!-- ExampleCMS 3.1 --> <script>loadList('/api/list?cat=5')</script>", known)[0] == "example"
    [spec] = find_endpoints("<script>loadList('/api/list?cat=5')</script>", "http://x.gov.cn/",
                            [f for f in known.families if f.name == "example"])
    assert spec.url == "http://x.gov.cn/api/list?cat=5&p=1"
    assert is_counter("http://x.gov.cn/hits.do?id=1", known)
    assert isinstance(spec, EndpointSpec)
