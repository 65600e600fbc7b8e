"""Author and source values are checked before they are stored (issue 22).

The bylines are written here the way portal templates print them: names next to page
controls, role words glued to names, a place where the reporter filed from, a site's name
or an internal id where a name should be. Each expected value is in the string itself.
"""

from __future__ import annotations

import pytest

from crawler.extract import extract_article, validate

PARAGRAPHS = "".join(f"<p>{text}</p>" for text in (
    "本月以来，区应急管理局组织执法人员对辖区内的危险化学品经营单位开展了安全检查，共检查企业二十七家。",
    "检查发现各类隐患四十一处，执法人员当场督促整改三十处，其余隐患已下发限期整改指令书并跟踪复查。",
    "下一步，该局将继续加大执法检查力度，对整改不到位的单位依法依规严肃处理，确保辖区安全形势稳定。",
))


def page(byline: str, head: str = "", title: str = "区应急管理局开展危化品经营单位安全检查_某区人民政府",
         h1: bool = True, first: str = "", last: str = "") -> bytes:
    heading = "<h1>区应急管理局开展危化品经营单位安全检查</h1>" if h1 else ""
    return f"""<html><head><meta charset="utf-8"><title>{title}</title>{head}</head><body>
<div class="top"><a href="/">首页</a> <a href="/xw/">新闻动态</a></div>
{heading}<div class="info">{byline}</div>
<div class="content">{first}{PARAGRAPHS}{last}</div>
<div class="footer">版权所有：某区人民政府</div></body></html>""".encode()


def extract(html: bytes):
    return extract_article(html, url="http://www.example.gov.cn/xw/202403/t20240312_1.html")


# --- authors: what is split off, what ends a credit, what is no name -----------------------------

@pytest.mark.parametrize(("value", "expected"), [
    # page controls printed after the names end the credit
    ("刘晓燕 周建国 【打印】 【关闭窗口】", "刘晓燕 周建国"),
    ("林静 分享到 收藏本页", "林静"),
    ("何平 字号：大 中 小", "何平"),
    # role words before, after and inside a token
    ("本报记者钱晓峰", "钱晓峰"),
    ("记者 丁一鸣 通讯员 马兰", "丁一鸣 马兰"),
    ("苏琪 综合整理", "苏琪"),
    ("韩雪 编译", "韩雪"),
    ("图/文 宁可", "宁可"),
    ("新民晚报记者 邵刚", "邵刚"),
    # where the reporter filed from
    ("谭笑 广州报道", "谭笑"),
    ("柳青 发自杭州", "柳青"),
    ("郝帅 内蒙古鄂尔多斯报道", "郝帅"),
    # a two-character name padded to three columns is one name
    ("王  涛", "王涛"),
    # names and desks that need no change are kept as printed
    ("杜鹃、孟凡、乔治", "杜鹃、孟凡、乔治"),
    ("区委宣传部", "区委宣传部"),
    ("本报评论员", "本报评论员"),
    ("某报编辑部", "某报编辑部"),
    ("阿依古丽·买买提", "阿依古丽·买买提"),
    ("Zhang Wei", "Zhang Wei"),
])
def test_author_credits_are_cleaned(value, expected):
    assert validate.author(value).value == expected


@pytest.mark.parametrize(("value", "reason"), [
    ("打印本页", "page_control"),
    ("加入收藏", "page_control"),
    ("我要评论 推荐给朋友", "page_control"),
    ("http://www.example.gov.cn/xw/", "not_a_name"),
    ("www.example.com.cn", "not_a_name"),
    ("某某在线,某市广播电视台,某某新闻客户端", "site_name"),
    ("某某晚报", "site_name"),
    ("U_208131", "not_a_name"),
    ("330716", "not_a_name"),
    ("editor01", "not_a_name"),
    ("2024-03-12 09:15", "not_a_name"),
    ("资料图片", "photo_credit"),
    ("圖片來源", "photo_credit"),
    ("系统管理员", "no_person"),
    ("佚名", "no_person"),
    ("记者 通讯员", "role_words_only"),
])
def test_values_that_name_nobody_are_rejected(value, reason):
    verdict = validate.author(value)
    assert verdict.value is None
    assert verdict.reason == reason


def test_an_author_that_only_repeats_the_site_name_is_rejected():
    assert validate.author("某区人民政府", ["某区人民政府"]).value is None
    assert validate.author("某区人民政府", ["另一个网站"]).value == "某区人民政府"


# --- sources --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    ("某某网-财经频道 原创稿", "某某网"),
    ("某某日报 独家", "某某日报"),
    ("某某网-《某某日报》", "某某网-《某某日报》"),
    ("某市应急管理局", "某市应急管理局"),
    ("经济参考报(北京)", "经济参考报(北京)"),
    ("本站原创", "本站原创"),
])
def test_sources_keep_the_organisation(value, expected):
    assert validate.source(value).value == expected


@pytest.mark.parametrize("value", ["打印", "2024年3月12日", "记者 钱晓峰", "http://www.example.com/a.html", "原创",
                                   "本文由本站根据公开资料整理而成，如有疑问请与我们联系。"])
def test_values_that_are_no_source_are_rejected(value):
    assert validate.source(value).value is None


# --- in a page: the next candidate is tried, and the item says what was dropped -------------------

def test_a_page_control_in_the_author_label_falls_back_to_the_reporter_credit():
    item = extract(page("2024-03-12 作者：【打印】 来源：某区应急管理局", head='<meta name="author" content="L_30217">',
                        first="<p>（记者 钱晓峰 通讯员 马兰）</p>"))
    assert item.author == "钱晓峰"
    assert "invalid_author" in item.extraction_warnings
    assert item.source == "某区应急管理局"


def test_an_author_with_nothing_valid_is_dropped_with_a_warning_and_lower_confidence():
    clean = extract(page("2024-03-12 作者：钱晓峰"))
    item = extract(page("2024-03-12 作者：资料照片"))
    assert clean.author == "钱晓峰" and clean.extraction_warnings == []
    assert item.author is None
    assert item.extraction_warnings == ["invalid_author"]
    assert item.confidence < clean.confidence


def test_role_words_and_place_are_split_off_in_a_page():
    assert extract(page("2024-03-12 作者：本报记者郝帅 内蒙古鄂尔多斯报道")).author == "郝帅"


def test_source_tags_are_dropped_in_a_page():
    item = extract(page("2024-03-12 来源：某某网-财经频道 原创稿"))
    assert item.source == "某某网"


def test_a_source_after_a_less_common_label_is_found():
    assert extract(page("2024-03-12 供稿单位：某区融媒体中心")).source == "某区融媒体中心"


def test_a_site_name_as_author_gives_way_to_the_editor():
    item = extract(page("2024-03-12 作者：某区人民政府门户网站 责任编辑：邹敏"))
    assert item.author == "邹敏"


# --- titles and days ----------------------------------------------------------------------------

def test_a_site_name_after_a_bare_dash_is_split_off():
    html = page("2024-03-12", title="区应急管理局开展危化品经营单位安全检查-某某新闻网", h1=False)
    assert extract(html).title == "区应急管理局开展危化品经营单位安全检查"


def test_a_channel_name_closing_the_title_is_split_off():
    html = page("2024-03-12", title="区应急管理局开展危化品经营单位安全检查-安全生产",
                head='<meta name="ColumnName" content="安全生产">', h1=False)
    assert extract(html).title == "区应急管理局开展危化品经营单位安全检查"


def test_an_effective_date_is_no_publication_date():
    item = extract_article(page("实施日期：2024-05-01", head='<meta name="PubDate" content="2024-03-12 09:30">'),
                           url="http://www.example.gov.cn/a.html")
    assert item.published_at == "2024-03-12T09:30+08:00"


def test_a_later_edit_gives_way_to_the_meta_publication_date():
    item = extract_article(page("修改时间：2024-04-20 16:00", head='<meta name="PubDate" content="2024-03-12 09:30">'),
                           url="http://www.example.gov.cn/a.html")
    assert item.published_at == "2024-03-12T09:30+08:00"


def test_a_written_date_gives_way_to_the_publication_date_of_the_url():
    item = extract_article(page("成文日期：2024-03-01"), url="http://www.example.gov.cn/xw/202403/t20240312_1.html")
    assert item.published_at == "2024-03-12T00:00+08:00"


def test_a_date_line_under_the_signature_dates_an_undated_notice():
    html = page("", last="<p>某区应急管理局</p><p>2024年3月12日</p>")
    item = extract_article(html, url="http://www.example.gov.cn/a.html")
    assert item.published_at == "2024-03-12T00:00+08:00"


def test_a_meta_author_that_the_title_names_beside_the_headline_is_the_site():
    """标题·安澜资讯 with the headline 标题: 安澜 is the site, whatever separates them."""
    html = page("2024-03-12", title="区应急管理局开展危化品经营单位安全检查·安澜资讯",
                head='<meta name="author" content="安澜">')
    assert extract(html).author is None
    assert extract(page("2024-03-12", head='<meta name="author" content="安澜">')).author == "安澜"
