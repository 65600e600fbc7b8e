"""The leave-one-site-out machinery of bench/extract: pages grouped into sites, and a field
rule taken out for a while (bench/scoring.py site_of, bench/loso.py)."""

from __future__ import annotations

from bench.loso import ablate, field_rules, rule_entries, without
from bench.scoring import LabelledPage, registrable_domain, site_of
from crawler.extract import extract_article
from crawler.extract.rules import RULES

BODY = "".join(f"<p>{text}</p>" for text in (
    "本月以来，区应急管理局组织执法人员对辖区内的危险化学品经营单位开展了安全检查，共检查企业二十七家。",
    "检查发现各类隐患四十一处，执法人员当场督促整改三十处，其余隐患已下发限期整改指令书并跟踪复查。",
))


def html(byline: str = "", head: str = "", links: str = "") -> bytes:
    return (f'<html><head><meta charset="utf-8"><title>安全检查_某区政府</title>{head}</head><body>{links}'
            f'<h1>安全检查</h1><div class="info">{byline}</div>'
            f'<div class="content">{BODY}</div></body></html>').encode()


def test_registrable_domains():
    assert registrable_domain("news.sohu.com") == registrable_domain("www.sohu.com") == "sohu.com"
    assert registrable_domain("xxgk.jl.gov.cn") == "jl.gov.cn"
    assert registrable_domain("www.gov.cn") == "www.gov.cn"
    assert registrable_domain("hk.finance.yahoo.com") == "yahoo.com"


def test_a_page_is_grouped_by_its_url_then_its_stated_url_then_its_links():
    assert site_of(LabelledPage("a", html(), {"url": "http://news.example.com.cn/1.html"})) == "example.com.cn"
    stated = html(head='<meta property="og:url" content="https://www.other.gov.cn/a/1.html">')
    assert site_of(LabelledPage("b", stated, {})) == "other.gov.cn"
    linked = html(links='<a href="http://beian.miit.gov.cn/">备案</a><a href="http://weibo.com/x">微博</a>'
                        '<a href="http://www.third.org.cn/">首页</a>')
    assert site_of(LabelledPage("c", linked, {})) == "third.org.cn"
    assert site_of(LabelledPage("ds_d", html(), {})) == "ds:某区政府"


def test_a_rule_taken_out_changes_extraction_only_inside_the_context():
    page = html("2024-03-12 来源：某区应急管理局")
    assert extract_article(page, url="http://x.gov.cn/a.html").source == "某区应急管理局"
    rule = ("byline", "source", "来源")
    assert rule in rule_entries(RULES)
    with field_rules(without(RULES, {rule})) as extract:
        assert extract(page, url="http://x.gov.cn/a.html").source is None
    assert extract_article(page, url="http://x.gov.cn/a.html").source == "某区应急管理局"


def test_ablation_finds_the_sites_a_rule_fires_on_and_scores_a_site_without_its_own_rules():
    pages = [LabelledPage("one", html("2024-03-12 来源：某区应急管理局"), {"url": "http://a.example.com/1"}),
             LabelledPage("two", html("2024-03-12 稿源：某市融媒体中心"), {"url": "http://b.example.org/1"}),
             LabelledPage("three", html("2024-03-12 稿源：某县人民政府"), {"url": "http://c.example.net/1"})]
    sites = {page.name: site_of(page) for page in pages}
    result = ablate(pages, sites)
    assert result.fires[("byline", "source", "来源")] == {"example.com"}
    assert result.fires[("byline", "source", "稿源")] == {"example.org", "example.net"}
    assert ("byline", "source", "来源") in result.only["example.com"]
    assert result.loso_items["one"].source is None  # only its own site needed 来源
    assert result.loso_items["two"].source == "某市融媒体中心"  # 稿源 is backed by another site
