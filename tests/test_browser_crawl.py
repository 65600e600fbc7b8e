"""Portals only a browser can read, crawled from their home page with default settings and a
real headless Chromium (Debian's, scripts/replay-tools installs it), on loopback portals that
know their truth (tests/browser_portals.py):

- a 加速乐 521 cookie gate: passed once in the browser, then plain requests with its cookies;
- a 瑞数 412 gate with single-use tokens: every page through the browser;
- a script-rendered portal on a signed JSON API: every page through the browser;
- a CAPTCHA page: reported, not passed (nothing may try).

And what must hold around them: WARCs that pass ``warcio check`` record by record, browser
captures marked in WARC and index, replay in pywb from the project's CDXJ (XHR answers
archived), incremental re-crawls, politeness (delay, one connection, robots.txt) for the
browser's own requests, the one line a crawl without a browser says, and a browser that
hangs, crashes or outlives a killed crawl never.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from browser_portals import GatedServer
from proctree import alive, descendants
from sqlalchemy import text
from support import ROOT, archive_args, crawl_command, index, run_crawl, warc_files
from warcio.archiveiterator import ArchiveIterator
from zygote import popen, run

from crawler.fetch.browser.chromium import find_chromium

NO_CHROMIUM = "no Chromium on PATH (scripts/replay-tools installs Debian's chromium as root)"
# index: the crawls' archives are opened through tests/support.py (both passes of scripts/test);
# one xdist group: the portals are crawled once per worker (``crawl`` below), so on one worker.
pytestmark = [pytest.mark.slow, pytest.mark.crawl, pytest.mark.xdist_group("browser-portals"),
              pytest.mark.skipif(find_chromium() is None, reason=NO_CHROMIUM)]


@dataclass
class Crawled:
    server: GatedServer
    archive: Path
    log: str

    def rows(self, sql: str, **params) -> list:
        with index(self.archive).connect() as conn:
            return list(conn.execute(text(sql), params))

    def stats(self) -> dict:
        value = self.rows("SELECT stats FROM crawls ORDER BY id DESC LIMIT 1")[0][0]
        return json.loads(value) if isinstance(value, str) else value


_crawls: dict[str, Crawled] = {}


def crawl(kind: str, tmp_path_factory: pytest.TempPathFactory) -> Crawled:
    """One crawl per kind per session, default settings but loopback speed (tests/support.py)."""
    if kind not in _crawls:
        server = GatedServer(kind).start()
        archive = tmp_path_factory.mktemp(f"browser-{kind}")
        try:
            result = run_crawl(archive, f"start_url={server.url}", timeout=600)
        finally:
            server.stop()
        _crawls[kind] = Crawled(server, archive, result.stderr)
    return _crawls[kind]


def indexed_whole(crawled: Crawled) -> list[str]:
    """Article URLs indexed with their true title and every paragraph of their body."""
    truth = crawled.server.portal.article_urls()
    good = []
    for url, title, body in crawled.rows("SELECT url, title, body FROM articles"):
        article = truth.get(url)
        if article and title == article.title and all(p in (body or "") for p in article.paragraphs):
            good.append(url)
    return good


def warcio_verdicts(archive: Path) -> list[str]:
    """``warcio check -v``'s verdict on every record of every WARC file."""
    warcio = Path(sys.executable).with_name("warcio")
    result = subprocess.run([str(warcio), "check", "-v", *map(str, warc_files(archive))], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    verdicts = [line.strip() for line in lines if line.startswith("    ")]
    assert len(verdicts) == sum(1 for line in lines if line.startswith("  offset ")), result.stdout
    return verdicts


@pytest.mark.parametrize("kind", ["jsl", "ruishu", "spa"])
def test_every_article_behind_a_gate_or_a_script_is_indexed(kind: str, tmp_path_factory) -> None:
    crawled = crawl(kind, tmp_path_factory)
    good = indexed_whole(crawled)
    assert len(good) >= 29, (len(good), crawled.log[-3000:])
    summary = crawled.stats()["summary"]
    assert summary["behind_challenge"] == {} and summary["uncovered"] == {}
    assert list(summary["needs_browser"]) == [urlsplit(crawled.server.url).netloc]
    # Every record passes warcio check with its digests (revisits carry no payload to check).
    verdicts = warcio_verdicts(crawled.archive)
    assert set(verdicts) <= {"digest pass", "digest present but not checked (revisit)"}, set(verdicts)
    assert verdicts.count("digest pass") > 60


def test_a_cookie_gate_is_passed_once_then_plain_requests_carry_its_cookies(tmp_path_factory) -> None:
    crawled = crawl("jsl", tmp_path_factory)
    stats = crawled.stats()
    assert stats["browser/pages"] <= 2 and stats["browser/handoffs"] == 1
    # The articles were fetched plain (no browser in their captures), with the gate's cookie.
    rows = crawled.rows("SELECT c.browser FROM articles a JOIN captures c ON c.id = a.capture_id")
    assert len(rows) >= 29 and all(row.browser is None for row in rows)
    passed = [entry for entry in crawled.server.answered if entry.status == 200 and entry.target.endswith(".html")]
    assert passed and all("__jsl_clearance_s=" in entry.cookie for entry in passed)
    assert "the browser got past its jsl gate" in crawled.log


def test_single_use_tokens_keep_every_page_in_the_browser(tmp_path_factory) -> None:
    crawled = crawl("ruishu", tmp_path_factory)
    rows = crawled.rows("SELECT c.browser FROM articles a JOIN captures c ON c.id = a.capture_id")
    assert sum(1 for row in rows if row.browser) >= 29
    assert "tokens are single-use" in crawled.log
    assert crawled.stats()["summary"]["needs_browser"] == {
        urlsplit(crawled.server.url).netloc: "ruishu challenge (single-use tokens)"}


def test_a_script_rendered_portal_archives_its_json_and_its_dom(tmp_path_factory) -> None:
    crawled = crawl("spa", tmp_path_factory)
    api = crawled.rows("SELECT url, status, browser, content_type FROM captures WHERE url LIKE '%/api/article?%'")
    assert len({row.url for row in api}) >= 29
    assert all(row.status == 200 and row.browser and row.content_type.startswith("application/json") for row in api)
    # Each article points at its document's capture (the shell as served); the DOM it was
    # extracted from is a conversion record referring to that capture's record.
    documents = {row.warc_record_id: row.url for row in crawled.rows(
        "SELECT c.warc_record_id, c.url FROM articles a JOIN captures c ON c.id = a.capture_id "
        "WHERE c.status = 200 AND c.browser IS NOT NULL")}
    assert len(documents) >= 29
    conversions = {}
    for path in warc_files(crawled.archive):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type == "warcinfo":
                    assert b"WARC-Browser" in record.content_stream().read()
                elif record.rec_type == "conversion":
                    conversions[record.rec_headers.get_header("WARC-Refers-To")] = record.content_stream().read()
                elif record.rec_type in ("request", "response") and "/api/" in record.rec_headers.get_header(
                        "WARC-Target-URI"):
                    assert record.rec_headers.get_header("WARC-Browser", "").startswith(("Chrome/", "HeadlessChrome/"))
                    assert record.rec_headers.get_header("WARC-Resource-Type") in ("fetch", "xhr")
    truth = crawled.server.portal.article_urls()
    for record_id, url in documents.items():
        assert truth[url].title.encode() in conversions[record_id], url


def test_the_archive_tools_read_a_browser_archive(tmp_path_factory, tmp_path) -> None:
    """verify, search, show, cdxj (field for field what cdxj-indexer writes) and wacz."""
    crawled = crawl("spa", tmp_path_factory)

    def cli(*args: str) -> str:
        result = run([sys.executable, "-m", "archive.cli", *archive_args(crawled.archive), *args],
                     capture_output=True, text=True, cwd=ROOT, timeout=300)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert "0 errors, 0 dangling rows, 0 orphan records" in cli("verify")
    url, article = sorted(crawled.server.portal.article_urls().items())[0]
    assert url in cli("search", article.title[:6], "--format", "jsonl")
    shown = cli("show", url)
    assert article.paragraphs[0] in shown and "browser: " in shown
    assert "/static/app.js" in cli("show", url, "--raw")  # the document as served: the shell
    ours = sorted(cli("cdxj").splitlines())
    indexer = subprocess.run([sys.executable, "-m", "cdxj_indexer.main", *map(str, warc_files(crawled.archive))],
                             capture_output=True, text=True, check=True, timeout=300).stdout.splitlines()
    assert len(ours) > 60 and ours == sorted(line.replace(str(crawled.archive / "warc") + "/", "")
                                             for line in indexer)
    cli("wacz", "-o", str(tmp_path / "portal.wacz"))
    assert (tmp_path / "portal.wacz").stat().st_size > 10_000


def test_a_captcha_is_reported_and_not_passed(tmp_path_factory) -> None:
    crawled = crawl("captcha", tmp_path_factory)
    summary = crawled.stats()["summary"]
    assert summary["articles_new"] == 0
    assert summary["behind_challenge"].get(crawled.server.url) == "captcha"
    assert summary["browser"]["not_passed"] == 1  # tried once in a plain browser, never again
    assert not [entry for entry in crawled.server.answered if entry.method == "POST" or "_verify" in entry.target]
    assert "a plain browser does not get past its captcha gate" in crawled.log


@pytest.fixture(scope="module")
def pywb_collection(tmp_path_factory):
    """The script-rendered portal's archive in pywb, from the collection ``portal-archive pywb`` writes."""
    from test_replay_tools import PYWB_BIN, wayback

    if not (PYWB_BIN / "wayback").exists():
        subprocess.run(["bash", str(ROOT / "scripts" / "replay-tools")], check=True, timeout=900)
    crawled = crawl("spa", tmp_path_factory)
    root = tmp_path_factory.mktemp("pywb-browser")
    made = run([sys.executable, "-m", "archive.cli", *archive_args(crawled.archive), "pywb",
                str(root / "collections" / "portal")], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert made.returncode == 0, made.stderr
    with wayback(root) as base:
        yield crawled, f"{base}portal/"


def test_browser_only_pages_replay_in_pywb_with_their_article_text(pywb_collection, tmp_path) -> None:
    """pywb serves the shell, app.js and the signed JSON answers from the archive; a browser
    showing the replayed page runs app.js there and shows the article (the live portal is gone)."""
    from playwright.sync_api import sync_playwright

    crawled, base = pywb_collection
    truth = crawled.server.portal.article_urls()
    checked, failures = 0, []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(), headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        try:
            page = browser.new_page()
            for url, article in sorted(truth.items())[:8]:
                (when,) = crawled.rows("SELECT max(warc_date) FROM captures WHERE url = :url", url=url)[0]
                page.goto(f"{base}{''.join(ch for ch in when if ch.isdigit())[:14]}/{url}", wait_until="load")
                shown = _replayed_text(page, url)
                if shown is None or article.title not in shown or article.paragraphs[0] not in shown:
                    failures.append((url, (shown or "")[:300]))
                checked += 1
        finally:
            browser.close()
    assert checked == 8 and failures == [], failures


def test_browser_only_pages_replay_in_replaywebpage(tmp_path_factory, tmp_path) -> None:
    """The same pages from the WACZ, in ReplayWeb.page: its service worker answers app.js's
    signed JSON requests from the archive."""
    from playwright.sync_api import sync_playwright
    from static_server import StaticServer
    from test_replay_tools import RWP_DIR, _rendered

    if not (RWP_DIR / "sw.js").exists():
        subprocess.run(["bash", str(ROOT / "scripts" / "replay-tools")], check=True, timeout=900)
    if not (RWP_DIR / "sw.js").exists():
        pytest.skip(f"no ReplayWeb.page files at {RWP_DIR}: npm was unavailable to scripts/replay-tools")
    crawled = crawl("spa", tmp_path_factory)
    site = tmp_path / "site"
    site.mkdir()
    made = run([sys.executable, "-m", "archive.cli", *archive_args(crawled.archive), "wacz", "-o",
                str(site / "portal.wacz")], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert made.returncode == 0, made.stderr
    failures = []
    with StaticServer(site, RWP_DIR) as web, sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=find_chromium(), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        try:
            page = browser.new_page()
            for url, article in sorted(crawled.server.portal.article_urls().items())[:4]:
                (site / "view.html").write_text(
                    '<!doctype html><html><head><meta charset="utf-8"><script src="ui.js"></script></head><body>'
                    f'<replay-web-page style="display:block;height:900px" source="portal.wacz" url="{url}" '
                    'replayBase="./"></replay-web-page></body></html>', encoding="utf-8")
                page.goto(web.url + "view.html")
                state = _rendered(page, url)
                if state is None or article.title not in state[0] or article.paragraphs[0] not in state[0]:
                    failures.append((url, state[0][:200] if state else "not rendered"))
        finally:
            browser.close()
    assert failures == []


def _replayed_text(page, url: str, timeout: float = 60) -> str | None:
    """The text of the replayed page in pywb's frame, once its script has filled the article in."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for frame in page.frames:
            if "mp_/" in frame.url and frame.url.endswith(url):
                try:
                    if frame.evaluate("document.querySelector('.TRS_Editor p') !== null"):
                        return frame.inner_text("body")
                except Exception:  # noqa: BLE001 - the frame navigated while we asked; ask again
                    pass
        page.wait_for_timeout(300)
    return None


def test_an_incremental_recrawl_renders_only_the_new_article(tmp_path) -> None:
    archive = tmp_path / "archive"
    with GatedServer("spa") as server:
        newest = server.portal.articles[0]
        server.portal.hidden = {newest.id}
        run_crawl(archive, f"start_url={server.url}", timeout=600)
        first = len(server.answered)
        server.portal.hidden = set()
        result = run_crawl(archive, f"start_url={server.url}", timeout=600)
        second = server.answered[first:]
    asked = {entry.target.split("&", 1)[0] for entry in second if entry.target.startswith("/api/article")}
    assert asked == {f"/api/article?id={newest.id}"}, sorted(asked)[:5]
    crawled = Crawled(server, archive, result.stderr)
    assert {row.url for row in crawled.rows("SELECT url FROM articles")} == set(server.portal.article_urls())
    assert crawled.stats()["summary"]["articles_new"] == 1


def test_rechecks_of_browser_pages_find_an_edit_in_the_json(tmp_path) -> None:
    """A known article's text changes in the API only; its page's re-check, through the browser,
    finds the edit (both texts kept), and the others unchanged."""
    from test_revisit_crawl import backdate

    archive = tmp_path / "archive"
    with GatedServer("spa", articles=12) as server:
        run_crawl(archive, f"start_url={server.url}", timeout=600)
        backdate(archive, 40)
        edited = server.portal.articles[3]
        old = edited.paragraphs[0]
        edited.paragraphs[0] = "（已更正）" + old
        run_crawl(archive, f"start_url={server.url}", settings={"REVISIT_SHARE": "1"}, timeout=600)
    crawled = Crawled(server, archive, "")
    events = {url: kind for url, kind in crawled.rows("SELECT url, kind FROM article_events")}
    edited_url = f"{server.url.rstrip('/')}/detail.html?id={edited.id}"
    assert events.pop(edited_url) == "edited"
    assert len(events) >= 10 and set(events.values()) == {"unchanged"}
    bodies = [body for (body,) in crawled.rows("SELECT body FROM articles WHERE url = :url", url=edited_url)]
    assert sorted(old in body and "（已更正）" not in body for body in bodies) == [False, True]


def test_the_browsers_requests_keep_the_delay_one_connection_and_robots_txt(tmp_path) -> None:
    archive = tmp_path / "archive"
    with GatedServer("spa", articles=12) as server:
        server.portal.robots = "User-agent: *\nDisallow: /api/article\n"
        run_crawl(archive, f"start_url={server.url}", settings={"DOWNLOAD_DELAY": "0.4",
                                                                "CONCURRENT_REQUESTS_PER_DOMAIN": "1"}, timeout=600)
    crawled = Crawled(server, archive, "")
    # A page's requisites (stylesheet, scripts, images) go on a slot of their own with its own
    # pace (issue 26: crawler/capture/page_visits.py); every other request to the host, the
    # browser's included, waits 0.5x-1.5x DOWNLOAD_DELAY after the one before.
    times = [entry.at for entry in server.answered
             if not urlsplit(entry.target).path.endswith((".css", ".js", ".gif", ".png", ".jpg", ".ico"))]
    assert len(times) > 10 and min(b - a for a, b in zip(times, times[1:], strict=False)) >= 0.15
    assert not [entry for entry in server.answered if entry.target.startswith("/api/article")]
    stats = crawled.stats()
    assert stats["robotstxt/forbidden"] >= 12  # each article page's API request, refused
    assert stats["browser/requests"] >= 12 and stats["downloader/request_count"] >= len(server.answered)
    assert crawled.rows("SELECT count(*) FROM articles")[0][0] == 0


def _crawl_process(archive: Path, url: str, **settings: str) -> subprocess.Popen[str]:
    return popen(crawl_command(archive, f"start_url={url}", settings=settings), cwd=ROOT, stdout=subprocess.DEVNULL,
                 stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _chromium_of(pid: int) -> list[int]:
    return [child for child in descendants(pid) if Path(f"/proc/{child}/comm").read_text().strip() == "chromium"]


def test_a_hung_page_a_memory_hog_and_a_crashed_browser_never_hang_the_crawl(tmp_path) -> None:
    archive = tmp_path / "archive"
    with GatedServer("spa") as server:
        hung, hog = server.portal.articles[5], server.portal.articles[6]
        server.portal.hang, server.portal.hog = {hung.id}, {hog.id}
        process = _crawl_process(archive, server.url, BROWSER_PAGE_TIMEOUT="6")
        stderr: list[str] = []
        reader = threading.Thread(target=lambda: stderr.append(process.stderr.read()), daemon=True)
        reader.start()
        # Kill the browser outright once it has rendered most articles (the hung one among them).
        deadline = time.monotonic() + 240
        killed = False
        while time.monotonic() < deadline and process.poll() is None and not killed:
            if sum(1 for entry in server.answered if entry.target.startswith("/api/article")) >= 20:
                for pid in _chromium_of(process.pid):
                    os.kill(pid, signal.SIGKILL)
                    killed = True
            time.sleep(0.2)
        assert process.wait(timeout=400) == 0
        reader.join(timeout=10)
    log = stderr[0]
    assert killed and "Traceback" not in log
    assert "browser gone; starting it again" in log
    assert f"detail.html?id={hung.id} did not settle within BROWSER_PAGE_TIMEOUT" in log
    crawled = Crawled(server, archive, log)
    indexed = {row.url for row in crawled.rows("SELECT url FROM articles")}
    base = server.url.rstrip("/")
    assert len(indexed) >= 28 and not {f"{base}/detail.html?id={bad.id}" for bad in (hung, hog)} & indexed
    # The hog's renderer hit the script heap limit (--js-flags) instead of the machine's memory.
    assert f"{base}/detail.html?id={hog.id} crashed its renderer" in log
    assert crawled.stats()["browser/peak_pss_mib"] < 1024


def test_no_browser_is_left_after_the_crawl_is_killed(tmp_path) -> None:
    archive = tmp_path / "archive"
    with GatedServer("spa") as server:
        process = _crawl_process(archive, server.url, DOWNLOAD_DELAY="0.5")
        deadline = time.monotonic() + 120
        tree: set[int] = set()
        while time.monotonic() < deadline and not _chromium_of(process.pid):
            time.sleep(0.2)
        time.sleep(2)
        tree = descendants(process.pid)
        assert _chromium_of(process.pid), "the browser never started"
        process.kill()
        process.wait(timeout=30)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(alive(pid) for pid in tree):
            time.sleep(0.2)
    assert not [pid for pid in tree if alive(pid)], "processes of the killed crawl outlived it"


def test_without_a_browser_the_crawl_says_which_hosts_need_one(tmp_path) -> None:
    seeds = tmp_path / "seeds.txt"
    with GatedServer("jsl") as jsl, GatedServer("spa") as spa:
        seeds.write_text(f"{jsl.url}\n{spa.url}\n")
        archive = tmp_path / "archive"
        command = crawl_command(archive, f"sites={seeds}", settings={"BROWSER_EXECUTABLE": "no-such-chromium"})
        result = run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if "need a browser" in line]
    assert len(lines) == 1, result.stderr[-3000:]
    jsl_host, spa_host = urlsplit(jsl.url).netloc, urlsplit(spa.url).netloc
    assert f"{jsl_host} (jsl challenge)" in lines[0] and f"{spa_host} (script shell)" in lines[0]
    assert "install one with: apt-get install -y chromium" in lines[0]
    crawled = Crawled(spa, archive, result.stderr)
    summary = crawled.stats()["summary"]
    assert summary["needs_browser"] == {jsl_host: "jsl challenge", spa_host: "script shell"}
    assert spa.url in summary["uncovered"] and "script shell" in summary["uncovered"][spa.url]
