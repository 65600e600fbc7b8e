"""The 天津消防网 seed page, rebuilt as the HTML such a portal serves, extracts exactly."""

from __future__ import annotations

import re

import pytest
from support import SHARED

from bench.scoring import CHROME_PHRASES
from crawler.extract import extract_article

SEED = SHARED / "seed" / "tianjin-fire-article.txt"
pytestmark = pytest.mark.skipif(not SEED.exists(), reason=f"no seed page at {SEED} (set PORTAL_SHARED_DIR)")


def seed_parts() -> tuple[str, str, list[str]]:
    lines = SEED.read_text(encoding="utf-8").splitlines()
    page_title = lines[0].strip()
    meta_line = next(line for line in lines if line.startswith("来源"))
    body = [line.strip() for line in lines if line[:1] in ("\xa0", " ") and line.strip()]
    return page_title, meta_line, body


def seed_html() -> bytes:
    """A GBK table-layout page like the live one: banner, menu, sidebars, QQ widgets, footer."""
    page_title, meta_line, body = seed_parts()
    headline = page_title.rsplit("_", 1)[0]
    paragraphs = "\n".join(f"<p>&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;{text}</p>" for text in body)
    meta_html = meta_line.replace("    ", "&nbsp;&nbsp;&nbsp;&nbsp;")
    html = f"""<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<title>{page_title}</title></head><body>
<table width="100%"><tr><td>欢迎光临:中国天津市消防网门户网站现在时间:<span id="clock"></span>
<script>setInterval(function(){{clock.innerHTML=new Date();}},1000);</script></td></tr></table>
<table><tr><td><a href="/">首页</a> | <a href="/xfxw/">消防新闻</a> | <a href="/xfpx/">消防培训</a> |
<a href="/xfzs/">消防知识</a></td></tr></table>
<table width="1000"><tr>
<td width="700" valign="top">
 <div class="dqwz">当前位置：<a href="/">首页</a> &gt; <a href="/xfxw/">消防新闻</a></div>
 <div class="title"><h3>{headline}</h3></div>
 <div class="info">{meta_html}</div>
 <div class="content">{paragraphs}</div>
 <div>【<a href="javascript:window.print()">打印本页</a>】 【<a href="javascript:window.close()">关闭窗口</a>】</div>
 <div>上一篇：<a href="/xfxw/1.html">天津消防开展冬季火灾防控工作</a></div>
 <div>下一篇：<a href="/xfxw/3.html">全市消防救援队伍召开年度总结大会</a></div>
</td>
<td width="300" valign="top">
 <div class="box"><div class="tit">消防培训</div><ul><li><a href="/p/1.html">消防设施操作员培训报名通知</a></li>
  <li>报名咨询电话：022-23456119</li></ul></div>
 <div class="box"><div class="tit">点击排行</div><ul><li><a href="/a/1.html">冬季用火用电安全提示</a> 01-10</li>
  <li><a href="/a/2.html">高层建筑火灾逃生指南</a> 01-08</li></ul></div>
 <div class="box"><div class="tit">随机新闻</div><ul><li><a href="/a/3.html">消防宣传进社区活动</a></li></ul></div>
 <div class="box"><div class="tit">友情链接</div><ul><li><a href="http://www.119.gov.cn/">中国消防</a></li></ul></div>
 <div class="qq"><a href="http://wpa.qq.com/msgrd?v=3&uin=19943758&site=qq&menu=yes">
 <img src="http://wpa.qq.com/pa?p=2:19943758:41" alt="点这里给我发消息" title="点这里给我发消息"></a>
 <a href="http://wpa.qq.com/msgrd?v=3&uin=19943759&site=qq&menu=yes">点这里给我发消息</a>
 <a href="http://wpa.qq.com/msgrd?v=3&uin=19943760&site=qq&menu=yes">点这里给我发消息</a></div>
 <div>服务热线：19943758686</div>
</td></tr></table>
<table><tr><td>版权所有：天津市消防网 技术支持：天津某网络公司 津ICP备05000000号 津公网安备 12010102000000号
 值班电话：022-23456789</td></tr></table>
</body></html>"""
    return html.replace("\xa0", "&nbsp;").encode("gbk")


@pytest.fixture(scope="module")
def item():
    return extract_article(seed_html(), url="http://www.tjxf.gov.cn/xfxw/202001/t20200115_4521.html",
                           headers={"Content-Type": "text/html"})


def test_every_field(item):
    page_title, _, body = seed_parts()
    assert item.page_kind == "article"
    assert item.title == page_title.rsplit("_", 1)[0]
    assert item.site_name == "天津消防网"
    assert item.published_at == "2020-01-15T08:39:29+08:00"
    assert item.source == "中国应急信息网"
    # 编辑:管理员 credits the CMS account, no person or desk (issue 22): dropped, and said so.
    assert item.author is None
    assert "invalid_author" in item.extraction_warnings
    assert item.views == 927
    assert item.channel == "消防新闻"
    assert item.encoding.startswith("gb18030")
    assert item.body.split("\n") == body


def test_no_chrome_line_in_the_body(item):
    for phrase in (*CHROME_PHRASES, "点击排行", "当前位置", "19943758686", "022-23456119", "来源", "浏览"):
        assert phrase not in item.body
    assert not re.search(r"\d{3,4}-\d{7,8}", item.body)
    # The body block holds no chrome of its own here: DOM rules count only what they took
    # out of the article's elements, not widgets elsewhere on the page.
    assert "wpa.qq" not in str(item.chrome_removed)
