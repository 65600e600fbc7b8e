"""Scrapy's commands run by hand: they work with the project's settings, and the pages they
fetch stay out of the production archive."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT
from zygote import run

from demo.server import DemoServer
from demo.site import SITE_NAME, build_site

pytestmark = pytest.mark.slow


def scrapy_parse(url: str, start_url: str, archive: Path, *settings: str) -> str:
    command = [sys.executable, "-m", "scrapy", "parse", "--spider=portal", "-c", "parse_article",
               "-a", f"start_url={start_url}", "-s", f"ARCHIVE_DIR={archive}", *settings, url]
    result = run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_scrapy_parse_prints_the_item_and_archives_nothing(tmp_path: Path):
    site = build_site()
    path, title = next(iter(site.articles.items()))
    with DemoServer(site) as server:
        output = scrapy_parse(server.url.rstrip("/") + path, server.url, tmp_path / "a")
        assert title in output and "'published_at'" in output
        assert not (tmp_path / "a").exists()
        scrapy_parse(server.url.rstrip("/") + path, server.url, tmp_path / "b", "-s", "CAPTURE_ENABLED=1")
        assert list((tmp_path / "b" / "warc").glob("*.warc.gz"))


# --- every Scrapy command a spider developer runs by hand, with the project's settings -------

HAND_SPIDER = '''
import scrapy


class HandSpider(scrapy.Spider):
    """A developer's own spider over the demo portal (scrapy check / runspider)."""

    name = "hand"
    start_urls = ["{listing}"]

    def parse(self, response):
        """The channel's first listing page.

        @url {listing}
        @returns requests 3
        """
        articles = [href for href in response.css("ul a::attr(href), td a::attr(href)").getall() if "/t20" in href]
        for href in articles[:3]:
            yield response.follow(href, self.parse_article)

    def parse_article(self, response):
        yield {{"url": response.url, "title": response.css("title::text").get()}}
'''


@pytest.fixture(scope="module")
def hand_portal(tmp_path_factory: pytest.TempPathFactory):
    """The demo portal on loopback, and a package with a hand-written spider for it."""
    site = build_site()
    spiders = tmp_path_factory.mktemp("hand")
    with DemoServer(site) as server:
        (spiders / "handspiders").mkdir()
        (spiders / "handspiders" / "__init__.py").write_text("")
        (spiders / "handspiders" / "hand.py").write_text(HAND_SPIDER.format(listing=server.url + "xfxw/index.html"))
        yield site, server, spiders


def scrapy_command(args: list[str], tmp: Path, *, stdin: str = "", pythonpath: Path | None = None,
                   timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``scrapy ARGS`` in the repository (the project's settings: FRONTIER_ON_DISK, capture …),
    with the archive in ``tmp``; a hang is a failure, not a stuck suite."""
    browser = tmp / "browser"  # `scrapy view` opens a file:// URL: keep a copy of the file
    browser.write_text(f'#!/bin/sh\ncp "${{1#file://}}" "{tmp / "viewed.html"}"\n')
    browser.chmod(0o755)
    env = {**os.environ, "BROWSER": f"{browser} %s", "SCRAPY_PYTHON_SHELL": "python"}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    command = [sys.executable, "-m", "scrapy", *args, "-s", f"ARCHIVE_DIR={tmp / 'archive'}"]
    try:
        return subprocess.run(command, cwd=ROOT, env=env, input=stdin, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"scrapy {args[0]} did not end within {timeout} s: {(exc.stderr or b'')[-2000:]!r}")


def test_scrapy_shell_fetches_with_the_default_settings(hand_portal, tmp_path):
    """The README's first step of checking extraction by hand (issue 25: it hung with the
    frontier on disk)."""
    site, server, _ = hand_portal
    path, title = "/xfxw/202001/t20200115_475972.html", site.articles["/xfxw/202001/t20200115_475972.html"]
    lines = "from crawler.extract import extract_article\nprint(extract_article(response).title)\n"
    result = scrapy_command(["shell", server.url.rstrip("/") + path], tmp_path, stdin=lines)
    assert result.returncode == 0, result.stderr[-3000:]
    assert title in result.stdout
    assert "NotImplementedError" not in result.stderr
    # `-c` and fetch() inside the shell go through the same engine
    result = scrapy_command(["shell", "-c", f"fetch('{server.url}tzgg/index.html') or response.status",
                             server.url], tmp_path)
    assert result.returncode == 0 and result.stdout.strip().endswith("200"), result.stderr[-3000:]
    assert not (tmp_path / "archive").exists()  # hand fetches are not archived


def test_scrapy_fetch_and_view(hand_portal, tmp_path):
    site, server, _ = hand_portal
    path, title = next(iter(site.articles.items()))
    result = scrapy_command(["fetch", "--nolog", server.url.rstrip("/") + path], tmp_path)
    assert result.returncode == 0 and title in result.stdout, result.stderr[-3000:]
    result = scrapy_command(["view", "--nolog", server.url.rstrip("/") + path], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert title in (tmp_path / "viewed.html").read_text(encoding="utf-8")
    assert not (tmp_path / "archive").exists()


def test_scrapy_parse_with_the_default_settings(hand_portal, tmp_path):
    site, server, _ = hand_portal
    path, title = next(iter(site.articles.items()))
    result = scrapy_command(["parse", "--spider=portal", "-c", "parse_article", "-a", f"start_url={server.url}",
                             server.url.rstrip("/") + path], tmp_path)
    assert result.returncode == 0 and title in result.stdout, result.stderr[-3000:]


def test_scrapy_list_check_and_runspider(hand_portal, tmp_path):
    site, server, spiders = hand_portal
    result = scrapy_command(["list"], tmp_path)
    assert result.returncode == 0 and result.stdout.split() == ["portal"], result.stderr[-3000:]
    result = scrapy_command(["check", "-s", "SPIDER_MODULES=handspiders"], tmp_path, pythonpath=spiders)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "Ran 1 contract" in result.stderr and "OK" in result.stderr
    assert not (tmp_path / "archive").exists()  # contract requests are fetched by hand: not archived
    output = tmp_path / "items.jsonl"
    result = scrapy_command(["runspider", str(spiders / "handspiders" / "hand.py"), "-o", str(output)], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    # Three articles, at the project's politeness (a second apart): enough to show it runs.
    titles = {json.loads(line)["title"] for line in output.read_text(encoding="utf-8").splitlines()}
    assert len(titles) == 3 and titles <= {f"{title}_{SITE_NAME}" for title in site.articles.values()}
