"""Fields by the conventions of Chinese news and government pages, each on a page built
the way such templates print it: bylines, sources, titles, dates, the 信息公开 block, pages
whose article is short or whose best-scoring block is junk, and binary bodies.

Every expected value is written in the page the test builds, so each test fails when the
rule it names is broken.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from crawler.extract import extract_article
from crawler.extract.page import parse_page
from crawler.extract.pagekind import ARTICLE, LISTING, OTHER, page_kind

PARAGRAPHS = [
    "为进一步做好冬季火灾防控工作，全市消防救援队伍近日开展了为期一个月的专项检查行动，重点检查人员密集场所。",
    "检查中，执法人员对发现的隐患当场下发整改通知书，并督促相关单位落实整改措施，确保隐患按期清零。",
    "下一步，消防部门将持续加大检查力度，对拒不整改的单位依法予以处罚，切实维护人民群众生命财产安全。",
]
NAV = "".join(f'<li><a href="/xw/{n}.html">全市消防救援队伍召开第{n}次安全工作会议部署工作</a></li>' for n in range(40))


def page(body: str, title: str = "全市开展冬季火灾防控专项检查_某市消防网", head: str = "") -> bytes:
    return f"""<html><head><meta charset="utf-8"><title>{title}</title>{head}</head><body>
<div class="nav"><ul>{NAV}</ul></div>
<div class="main">{body}</div>
<div class="footer">版权所有：某市消防救援支队 举报电话：0571-87654321 京ICP备05000000号</div>
</body></html>""".encode()


def article(byline: str = "", before: str = "", after: str = "", paragraphs=PARAGRAPHS,
            headline: str = "全市开展冬季火灾防控专项检查", **kwargs) -> bytes:
    text = "".join(f"<p>{p}</p>" for p in [*([before] if before else []), *paragraphs, *([after] if after else [])])
    return page(f'<h1>{headline}</h1><div class="info">{byline}</div><div class="content">{text}</div>', **kwargs)


def extract(html: bytes, url: str = "http://www.example.gov.cn/xw/202001/t20200115_1.html"):
    return extract_article(html, url=url)


# --- bylines ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("byline", "author"), [
    ("发布时间：2020-01-15 作者：张三", "张三"),
    ("2020-01-15 记者：李四 通讯员：王五", "李四"),
    ("撰稿：赵六　　审核：孙七", "赵六"),
    ("文/图：周八 2020年1月15日", "周八"),
    ("2020-01-15 10:30 责任编辑：吴九", "吴九"),
    ("2020-01-15 责编：郑十", "郑十"),
    ("日期：2020-01-15 编辑：钱一", "钱一"),
    ("2020-01-15 摄影：孔二", "孔二"),
    ("2020-01-15 审核：冯三", "冯三"),
])
def test_byline_credits(byline, author):
    assert extract(article(byline)).author == author


def test_reporter_credit_opening_the_text():
    item = extract(article("2020-01-15", before="（记者 陈明 通讯员 刘洋）"))
    assert item.author == "陈明"


def test_reporter_credit_closing_the_text():
    item = extract(article("2020-01-15", after="（本报记者 黄河 通讯员 李江）"))
    assert item.author == "黄河"


def test_editor_in_brackets_at_the_end():
    item = extract(article("2020-01-15", after="【编辑：马丽】"))
    assert item.author == "马丽"
    assert "编辑" not in item.body


def test_meta_author_unless_it_names_the_site():
    head = '<meta name="author" content="林涛"><meta name="SiteName" content="某市消防网">'
    assert extract(article("2020-01-15", head=head)).author == "林涛"
    head = '<meta name="author" content="某市消防网"><meta name="SiteName" content="某市消防网">'
    assert extract(article("2020-01-15", head=head)).author is None


# --- sources ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("byline", "source"), [
    ("来源：某市应急管理局 2020-01-15", "某市应急管理局"),
    ("稿源：某市日报 2020-01-15", "某市日报"),
    ("信息来源：某区人民政府办公室 发布时间：2020-01-15", "某区人民政府办公室"),
    ("出处：人民网-《人民日报》 2020-01-15", "人民网-《人民日报》"),
    ("转载自：21世纪经济报道(广州) 2020-01-15", "21世纪经济报道(广州)"),
    ("2020-01-15 来源：光明网-《光明日报》2020-01-15", "光明网-《光明日报》"),
])
def test_source_labels(byline, source):
    assert extract(article(byline)).source == source


def test_content_source_meta():
    item = extract(article("2020-01-15", head='<meta name="ContentSource" content="应急管理部">'))
    assert item.source == "应急管理部"


def test_agency_dateline_names_the_source():
    first = "新华社北京1月15日电 " + PARAGRAPHS[0]
    assert extract(article("2020-01-15", paragraphs=[first, *PARAGRAPHS[1:]])).source == "新华社"
    first = "本报讯 " + PARAGRAPHS[0]
    assert extract(article("2020-01-15", paragraphs=[first, *PARAGRAPHS[1:]])).source is None


def test_author_label_followed_by_another_label_is_empty():
    credits = '<ul class="postinfo"><li>来源：某市日报 作者：</li><li>转载请注明：某市消防网</li></ul>'
    html = page('<h1>全市开展冬季火灾防控专项检查</h1><div class="info">2020-01-15</div><div class="content">'
                + "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + f"</div>{credits}")
    item = extract(html)
    assert item.author is None
    assert item.source == "某市日报"


def test_source_line_closing_the_text():
    assert extract(article("2020-01-15", after="来源：某市应急管理局")).source == "某市应急管理局"


# --- titles -------------------------------------------------------------------------------------

@pytest.mark.parametrize("separator", ["_", " - ", "|", "—", "－", "｜", "--"])
def test_site_name_split_for_each_separator(separator):
    item = extract(article("2020-01-15", title=f"全市开展冬季火灾防控专项检查{separator}某市消防网"))
    assert item.title == "全市开展冬季火灾防控专项检查"


def test_colon_in_a_headline_is_no_separator():
    headline = "证监会：严厉打击造谣传谣行为"
    assert extract(article("2020-01-15", headline=headline, title=headline)).title == headline


def test_article_title_and_og_title_win():
    head = '<meta name="ArticleTitle" content="关于开展冬季火灾防控专项检查的通知">'
    assert extract(article("2020-01-15", head=head)).title == "关于开展冬季火灾防控专项检查的通知"
    head = '<meta property="og:title" content="全市开展冬季火灾防控专项检查">'
    assert extract(article("2020-01-15", head=head, title="某市消防网")).title == "全市开展冬季火灾防控专项检查"


def test_markup_in_a_title_meta_is_dropped():
    head = '<meta name="ArticleTitle" content="为现代化建设凝聚强大智慧和力量&lt;div&gt;">'
    assert extract(article("2020-01-15", head=head)).title == "为现代化建设凝聚强大智慧和力量"


# --- dates --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("byline", "published"), [
    ("发布时间：2020年1月15日 10:30", "2020-01-15T10:30+08:00"),
    ("发布日期：二〇二〇年一月十五日", "2020-01-15T00:00+08:00"),
    ("发布时间：２０２０－０１－１５　０８：３９", "2020-01-15T08:39+08:00"),
    ("时间：2020年01月15日 08时39分", "2020-01-15T08:39+08:00"),
])
def test_date_forms(byline, published):
    assert extract(article(byline), url="http://www.example.gov.cn/xw/a.html").published_at == published


def test_page_generation_time_is_no_publication_date():
    head = '<meta name="PubDate" content="2024-03-01 09:12">'
    html = article("", head=head, after="页面生成时间：2024-03-01 09:12:45")
    item = extract(html, url="http://www.example.gov.cn/xw/a.html")
    assert item.published_at is None


# --- 信息公开 disclosure blocks -------------------------------------------------------------------

TABLE = """<table class="xxgk"><tr><td>索 引 号：</td><td>11220000013544357T/2022-00426</td>
<td>主题分类：</td><td>环境监测、保护与治理</td></tr>
<tr><td>发文机关：</td><td>吉林省人民政府</td><td>成文日期：</td><td>2022年01月27日</td></tr>
<tr><td>发文字号：</td><td>吉政明电〔2022〕1号</td><td>发布日期：</td><td>2022年01月28日</td></tr>
<tr><td>有 效 性：</td><td>有效</td></tr></table>"""
LIST = """<ul class="xxgk"><li>索引号：11220000013544357T/2022-00426</li><li>发布机构：吉林省人民政府</li>
<li>分&nbsp;&nbsp;&nbsp; 类：环境监测、保护与治理</li><li>文　　号：吉政明电〔2022〕1号</li>
<li>成文日期：2022-01-27</li><li>公开日期：2022-01-28</li><li>有效性：有效</li></ul>"""
LABELS = """<div class="xxgk">
<div><label>索　引　号:</label><div class="display-block">11220000013544357T/2022-00426</div></div>
<div><label>发布机构:</label><div class="display-block">吉林省人民政府</div></div>
<div><label>主题分类:</label><div class="display-block">环境监测、保护与治理</div></div>
<div><label>文　　号:</label><div class="display-block">吉政明电〔2022〕1号</div></div>
<div><label>成文日期:</label><div class="display-block">2022-01-27</div></div>
<div><label>发文日期:</label><div class="display-block">2022-01-28</div></div>
<div><label>有 效 性:</label><div class="display-block">有效</div></div></div>"""


@pytest.mark.parametrize("block", [TABLE, LIST, LABELS], ids=["table", "li", "label-div"])
def test_disclosure_block_layouts(block):
    head = '<meta name="PubDate" content="2024-03-01 09:12">'  # the CMS's render time
    html = page(f"{block}<h1>关于禁止新增建设项目的通告</h1><div class='content'>"
                + "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + "</div><p>页面生成时间：2024-03-01 09:12:45</p>",
                title="关于禁止新增建设项目的通告_吉林省人民政府", head=head)
    item = extract(html, url="http://xxgk.example.gov.cn/a.html")
    assert item.index_no == "11220000013544357T/2022-00426"
    assert item.issuer == "吉林省人民政府"
    assert item.topic == "环境监测、保护与治理"
    assert item.doc_no == "吉政明电〔2022〕1号"
    assert item.written_at == "2022-01-27"
    assert item.validity == "有效"
    assert item.published_at == "2022-01-28T00:00+08:00"
    assert item.page_kind == ARTICLE


def test_a_byline_date_alone_is_no_disclosure_block():
    item = extract(article("发布日期：2020-01-15"))
    assert (item.index_no, item.issuer, item.written_at, item.doc_no) == (None, None, None, None)


# --- no lost articles ---------------------------------------------------------------------------

def test_short_article_among_many_links_is_an_article():
    short = ["市消防救援支队今天开展了消防安全宣传活动。"]
    html = article("发布时间：2020-01-15 来源：某市消防网", paragraphs=short)
    parsed = parse_page(html, "http://www.example.gov.cn/xw/a.html")
    assert page_kind(parsed) == ARTICLE
    assert extract(html).body == short[0]


def test_article_meta_tags_make_a_short_page_an_article():
    head = '<meta property="og:type" content="article">'
    html = article("", paragraphs=["市消防救援支队今天开展了消防安全宣传活动。"], head=head)
    assert page_kind(parse_page(html, "http://www.example.gov.cn/xw/a.html")) == ARTICLE


def test_a_list_of_links_stays_a_listing():
    html = page(f"<h1>消防新闻</h1><ul>{NAV}</ul>", title="消防新闻_某市消防网")
    assert page_kind(parse_page(html, "http://www.example.gov.cn/xw/index.html")) == LISTING


def test_footer_with_report_hotline_is_never_the_body():
    footer = ("<div class='foot'><p>主办单位：某市人民政府办公室 承办单位：某市大数据中心，网站标识码：1101000001，"
              "京ICP备05000000号，举报电话：010-12345678，违法和不良信息举报中心，版权所有，未经授权禁止转载。</p>"
              "<p>免责声明：本网站所刊登的信息仅代表作者本人观点，不代表本站观点，如有侵权请联系删除。</p></div>")
    html = page(f"<h1>通知</h1><div class='info'>2020-01-15</div><div><a href='/f.pdf'>附件下载</a></div>{footer}",
                title="通知_某市人民政府")
    item = extract(html)
    assert "举报电话" not in item.body and "010-12345678" not in item.body and "免责声明" not in item.body
    assert item.body == "" and "no_article_text" in item.extraction_warnings
    assert item.confidence == 0.0


def test_a_block_of_links_is_never_the_body():
    links = "".join(f'<p><a href="http://www.gov{n}.cn/">某省人民政府门户网站第{n}号链接</a></p>' for n in range(30))
    html = page(f"<h1>政府网站链接</h1><div class='info'>2020-01-15</div><div class='links'>{links}</div>",
                title="政府网站链接_某市")
    item = extract(html)
    assert "门户网站" not in item.body
    assert item.confidence < 0.5


def test_short_article_beside_a_long_related_story():
    short = "路透月度调查显示，日本企业信心5月保持稳定，但日圆疲弱带来的通胀压力正损害利润，企业面对成本上升。"
    related = "".join(
        f'<li><a href="/n/{n}.html">相关新闻标题第{n}条</a><div class="summary">{"".join(PARAGRAPHS) * 3}</div></li>'
        for n in range(4))
    html = page(f"<article><h1>日本企业5月信心保持稳定</h1><div class='byline'>2024-05-22 08:21</div>"
                f"<div class='body'><p>{short}</p></div></article>"
                f"<div class='stream'><h2>相关新闻</h2><ul>{related}</ul></div>",
                title="日本企业5月信心保持稳定 - 财经")
    item = extract(html)
    assert item.body == short
    assert item.page_kind == ARTICLE


def test_confident_on_a_plain_article():
    item = extract(article("发布时间：2020-01-15 10:30 来源：某市消防网"))
    assert item.confidence >= 0.9 and item.extraction_warnings == []
    assert item.body.split("\n") == PARAGRAPHS


# --- binary bodies ------------------------------------------------------------------------------

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(range(256)) * 40


def test_binary_body_in_memory_is_no_article():
    for body in (PDF, b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20, bytes(range(256)) * 30):
        item = extract_article(body, url="http://www.example.gov.cn/xw/a.html",
                               headers={"Content-Type": "text/html; charset=utf-8"})
        assert item.page_kind == OTHER and item.body == "" and item.extraction_warnings == ["binary_body"]
        parsed = parse_page(body, "http://www.example.gov.cn/xw/a.html", {"Content-Type": "text/html"})
        assert page_kind(parsed, article_patterns=[r"/xw/"]) == OTHER


class _PdfAsHtml(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=gb2312")
        self.send_header("Content-Length", str(len(PDF)))
        self.end_headers()
        self.wfile.write(PDF)

    def log_message(self, *args):
        pass


def test_binary_body_served_as_html_over_loopback_is_no_article():
    """A page worker gets what a crawl gets: the bytes and headers a loopback server sent."""
    import urllib.request

    from crawler.capture.workers import process_bytes
    from crawler.spiders.profiles import generic_profile

    server = ThreadingHTTPServer(("127.0.0.1", 0), _PdfAsHtml)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/xw/202001/t20200115_1.html"
        with urllib.request.urlopen(url, timeout=30) as response:
            body, content_type = response.read(), response.headers["Content-Type"]
    finally:
        server.shutdown()
        server.server_close()
    assert body == PDF
    result = process_bytes(url, body, content_type.encode(), generic_profile(url))
    assert result.kind == OTHER and result.item is None


# --- crawl stats and index columns ----------------------------------------------------------------

def test_warnings_and_low_confidence_are_counted_in_the_crawl_stats():
    from itemadapter import ItemAdapter
    from scrapy.statscollectors import MemoryStatsCollector
    from scrapy.utils.test import get_crawler

    from pipelines.index import count_quality, quality_fields

    stats = MemoryStatsCollector(get_crawler())
    junk = extract(page("<h1>通知</h1><div>版权所有：某市人民政府 举报电话：010-12345678</div>", title="通知_某市"))
    good = extract(article("发布时间：2020-01-15 10:30 来源：某市消防网"))
    for item in (junk, good, junk):
        count_quality(stats, ItemAdapter(item))
    assert stats.get_value("extraction/warning/no_article_text") == 2
    assert stats.get_value("extraction/low_confidence") == 2
    fields = quality_fields(ItemAdapter(junk))
    assert fields["confidence"] == 0.0 and "no_article_text" in fields["extraction_warnings"].split(",")
    assert quality_fields(ItemAdapter(good))["extraction_warnings"] is None


def test_an_article_about_a_hotline_is_kept():
    text = ("为方便群众反映问题，市政府开通12345服务热线，市民可拨打热线咨询政策、反映诉求，"
            "热线全天24小时有人值守，接到诉求后将在三个工作日内答复，办理结果向社会公开。")
    item = extract(article("发布时间：2020-01-15", paragraphs=[text]))
    assert item.body == text and item.page_kind == ARTICLE


@pytest.mark.parametrize("title", ["全市开展冬季火灾防控专项检查-某市消防网",
                                   "某市消防网：全市开展冬季火灾防控专项检查",
                                   "全市开展冬季火灾防控专项检查：某市消防网"])
def test_weak_separators_split_off_the_declared_site_name(title):
    head = '<meta name="SiteName" content="某市消防网">'
    item = extract(article("2020-01-15", title=title, head=head, headline="专项检查"))
    assert item.title == "全市开展冬季火灾防控专项检查"


def test_the_detector_reads_a_bounded_sample_where_the_text_is():
    from crawler.extract.encoding import DETECT_SAMPLE, decode_html, detection_sample

    text = "".join(f"<p>{p}</p>" for p in PARAGRAPHS * 200)
    # No charset anywhere, 100 kB of ASCII markup before the first Chinese byte.
    body = ("<html><head><title>x</title></head><body>" + "<div class='nav'></div>\n" * 4000
            + text + "</body></html>").encode("gb18030")
    sample = detection_sample(body)
    assert len(sample) == DETECT_SAMPLE and body.index(sample) == body.index(PARAGRAPHS[0].encode("gb18030"))
    decoded = decode_html(body)
    assert decoded.encoding == "gb18030" and decoded.how == "detected"
    assert PARAGRAPHS[2] in decoded.text


@pytest.mark.parametrize(("byline", "author"), [
    ("2020-01-15 08:30  本报记者 张三  来源：某市日报", "张三"),
    ("来源：新华网 2020-01-15 新华社记者 李四 王五", "李四 王五"),
    ("文/图 赵六 2020-01-15", "赵六"),
])
def test_credits_without_a_colon_in_the_byline(byline, author):
    assert extract(article(byline)).author == author


def test_the_extraction_package_imports_no_crawl_machinery():
    """Extraction is a pure function of a page: importing it loads no Scrapy, Twisted or
    site-profile code (a fresh interpreter, so other tests' imports do not count)."""
    import subprocess
    import sys

    probe = ("import sys, crawler.extract, crawler.extract.pagekind, crawler.extract.disclosure; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('scrapy', 'twisted') "
             "or m in ('crawler.spiders.profiles', 'crawler.capture.workers', 'crawler.capture.hook')))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
