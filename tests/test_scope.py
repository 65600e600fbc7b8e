"""Scope rules and seed lists, without a crawl (the crawl tests are in test_fleet.py)."""

from __future__ import annotations

import sys

import pytest
from scrapy.settings import Settings
from support import ROOT
from zygote import run

from crawler import settings as project_settings
from crawler.schedule.fleet import argument_problem, build_sites, seeds_from_args
from crawler.schedule.seeds import Seed, SeedError, load_seeds, parse_text, parse_toml
from crawler.scope.gate import ascii_host, ascii_url, site_scope
from crawler.spiders import profiles

HTTP = ["http", "https"]


def test_only_http_and_https_are_in_scope():
    scope = site_scope(["http://www.example.gov.cn/"], ["www.example.gov.cn"], HTTP, any_port=False)
    assert scope.why_not("http://www.example.gov.cn/a.html") is None
    assert scope.why_not("https://www.example.gov.cn/a.html") is None
    assert scope.why_not("file://www.example.gov.cn/etc/passwd") == "dropped_scheme/file"
    assert scope.why_not("ftp://www.example.gov.cn/pub/") == "dropped_scheme/ftp"
    assert scope.why_not("javascript:void(0)") == "dropped_scheme/javascript"
    assert scope.why_not("mailto:office@example.gov.cn") == "dropped_scheme/mailto"
    assert scope.why_not("data:text/html,<b>x</b>") == "dropped_scheme/data"
    # A requisite (issue 9) may be on any host, but never on another scheme.
    assert scope.why_not("http://cdn.elsewhere.cn/a.css", requisite=True) is None
    assert scope.why_not("file:///etc/passwd", requisite=True) == "dropped_scheme/file"


def test_a_setting_may_allow_more_schemes():
    scope = site_scope(["http://h.cn/"], ["h.cn"], ["http", "https", "ftp"], any_port=False)
    assert scope.why_not("ftp://h.cn/pub/a.pdf") is None


def test_chinese_domain_start_url_matches_punycode_links():
    start = "http://应急管理.中国/"
    assert ascii_url(start) == "http://xn--extu8ah31brfh.xn--fiqs8s/"
    scope = site_scope([ascii_url(start)], [ascii_host("应急管理.中国")], HTTP, any_port=False)
    assert scope.why_not("http://xn--extu8ah31brfh.xn--fiqs8s/xwdt/index.html") is None
    assert scope.why_not("http://应急管理.中国/xwdt/") is None  # the same host, written in Unicode
    assert scope.why_not("http://www.xn--extu8ah31brfh.xn--fiqs8s/") is None
    assert scope.why_not("http://xn--fiqs8s/") == "offsite"


def test_an_ip_address_has_no_subdomains():
    scope = site_scope(["http://127.0.0.2:8080/"], ["127.0.0.2"], HTTP, any_port=False)
    assert scope.why_not("http://127.0.0.2:8080/a.html") is None
    assert scope.why_not("http://www.127.0.0.2:8080/") == "offsite"
    assert scope.why_not("http://x.0.0.2:8080/") == "offsite"
    named = site_scope(["http://example.gov.cn/"], ["example.gov.cn"], HTTP, any_port=False)
    assert named.why_not("http://www.example.gov.cn/") is None
    assert named.why_not("http://badexample.gov.cn/") == "offsite"


def test_other_ports_are_a_setting():
    start = ["http://www.example.gov.cn:8080/"]
    strict = site_scope(start, ["www.example.gov.cn"], HTTP, any_port=False)
    assert strict.why_not("http://www.example.gov.cn:8080/a.html") is None
    assert strict.why_not("http://www.example.gov.cn/a.html") is None  # default port of http
    assert strict.why_not("https://www.example.gov.cn/a.html") is None  # default port of https
    assert strict.why_not("http://www.example.gov.cn:8081/a.html") == "other_port"
    assert strict.why_not("http://www.example.gov.cn:99999/") == "other_port"  # not a port at all
    loose = site_scope(start, ["www.example.gov.cn"], HTTP, any_port=True)
    assert loose.why_not("http://www.example.gov.cn:8081/a.html") is None
    assert project_settings.SCOPE_ANY_PORT is False


def test_plain_text_seed_list():
    seeds = parse_text("# fire brigades\n\nhttp://a.gov.cn/\n  https://b.gov.cn/index.html  \n# end\n")
    assert [seed.start_url for seed in seeds] == ["http://a.gov.cn/", "https://b.gov.cn/index.html"]
    with pytest.raises(SeedError, match="line 2"):
        parse_text("http://a.gov.cn/\nfile:///etc/passwd\n", "list.txt")


def test_toml_seed_list():
    seeds = parse_toml("""
        [[site]]
        start_url = "http://a.gov.cn/"
        label = "甲"
        hosts = ["cdn.a.gov.cn"]
        name = "a"
        [[site]]
        profile = "demo"
    """)
    assert seeds == [Seed("http://a.gov.cn/", None, ["cdn.a.gov.cn"], "甲", "a"), Seed("", "demo", [], None, None)]
    with pytest.raises(SeedError, match="unknown key"):
        parse_toml('[[site]]\nstart_url = "http://a.gov.cn/"\nurl = "x"\n')
    with pytest.raises(SeedError, match="not valid TOML"):
        parse_toml("[[site]\n")


def test_a_portal_listed_twice_is_named(tmp_path):
    """Issue 25: the second entry of one portal archived nothing ("no page answered (0 errors)")."""
    with pytest.raises(SeedError, match=r"list.txt line 4 names the same portal as list.txt line 1 "
                                        r"\(http://A.gov.cn/ and https://a.gov.cn/news/\)"):
        parse_text("http://A.gov.cn/\nhttp://b.gov.cn/\n# again\nhttps://a.gov.cn/news/\n", "list.txt")
    with pytest.raises(SeedError, match=r"\[\[site\]\] #2 names the same portal as .* #1"):
        parse_toml('[[site]]\nstart_url = "http://a.gov.cn:8080/"\n[[site]]\nstart_url = "http://a.gov.cn:8080/x"\n')
    # other ports of one host are other portals; a profile seed brings its own start URLs
    assert len(parse_text("http://127.0.0.1:8001/\nhttp://127.0.0.1:8002/\n")) == 2
    assert len(parse_toml('[[site]]\nprofile = "demo"\n[[site]]\nprofile = "demo"\nname = "again"\n')) == 2
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("http://127.0.0.2:8001/\nhttp://127.0.0.2:8001/index.html\n")
    assert "names the same portal" in argument_problem({"sites": str(seeds)})


def test_the_shipped_example_seed_list_loads():
    sites = build_sites(load_seeds("seeds/example.toml"), Settings(vars(project_settings)))
    assert len(sites) >= 3
    assert all(state.scope.hosts and state.profile.start_urls for state in sites.values())


def test_sites_built_from_seeds_keep_their_own_scope():
    settings = Settings({"SCOPE_SCHEMES": HTTP, "SCOPE_ANY_PORT": False})
    sites = build_sites([Seed("http://127.0.0.2:8001/"), Seed("http://127.0.0.3:8001/", label="乙"),
                         Seed("http://应急管理.中国/", hosts=["static.应急管理.中国"])], settings)
    assert list(sites) == ["127.0.0.2", "127.0.0.3", "xn--extu8ah31brfh.xn--fiqs8s"]
    assert sites["127.0.0.2"].scope.why_not("http://127.0.0.3:8001/") == "offsite"
    assert sites["127.0.0.3"].label == "乙"
    idn = sites["xn--extu8ah31brfh.xn--fiqs8s"]
    assert idn.profile.start_urls == ["http://xn--extu8ah31brfh.xn--fiqs8s/"]
    assert idn.scope.why_not("http://static.xn--extu8ah31brfh.xn--fiqs8s/a.css") is None
    # Two portals on one host but different ports get different names.
    twins = build_sites([Seed("http://127.0.0.2:8001/"), Seed("http://127.0.0.2:8002/")], settings)
    assert list(twins) == ["127.0.0.2", "127.0.0.2:8002"]


def test_site_all_takes_every_profile(tmp_path, monkeypatch):
    """Against profiles the test writes, not against the lister the code uses itself."""
    for name in ("乙站", "a_portal", "zz"):
        (tmp_path / f"{name}.toml").write_text(f'name = "{name}"\nstart_urls = ["http://{len(name)}.example.cn/"]\n')
    (tmp_path / "notes.txt").write_text("not a profile")
    monkeypatch.setattr(profiles, "SITES_DIR", tmp_path)
    assert [(seed.profile, seed.start_url) for seed in seeds_from_args(None, "all", None)] == [
        ("a_portal", ""), ("zz", ""), ("乙站", "")]
    for path in tmp_path.glob("*.toml"):
        path.unlink()
    with pytest.raises(SeedError, match="holds no profile"):
        seeds_from_args(None, "all", None)
    with pytest.raises(SeedError):
        seeds_from_args(None, None, None)


def test_a_bad_seed_list_is_one_clear_line_and_exit_2(tmp_path):
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("http://a.gov.cn/\nfile:///etc/passwd\n")
    result = run([sys.executable, "-m", "scrapy", "crawl", "portal", "-a", f"sites={seeds}"],
                 cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {seeds} line 2: start_url must be an http(s) URL with a host, not 'file:///etc/passwd'")
