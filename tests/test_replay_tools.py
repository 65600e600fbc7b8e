"""The archive in the tools archivists replay with: pywb (wayback, wb-manager) and
ReplayWeb.page in a real Chromium, after three crawls of a changing portal.

Crawl 1 archives the portal; crawl 2 finds one new article on a server that ignores
conditional GETs (unchanged pages become identical-payload revisits); crawl 3 re-fetches
everything (refresh=1) from a server that answers 304, with two more articles and one
article's text corrected. The latest capture of every URL must replay what was current.

Tools come from scripts/replay-tools (run here when missing): pywb in .venv-pywb,
ReplayWeb.page's files from `npm pack`, Debian's chromium driven by Playwright.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import lxml.html
import pytest
import support
from sqlalchemy import func, select
from static_server import StaticServer
from support import ROOT, index, index_url, run_crawl

from archive.index import Index
from archive.models import article_images, articles, captures, crawls
from archive.warc_reader import read_record
from demo.server import DemoServer
from demo.site import article_image, build_site

pytestmark = [pytest.mark.slow, pytest.mark.crawl]

PYWB_BIN = Path(os.environ.get("PORTAL_PYWB_BIN", ROOT / ".venv-pywb" / "bin"))
RWP_DIR = Path(os.environ.get("PORTAL_RWP_DIR", ROOT / ".cache" / "replaywebpage" / "package"))
CHROMIUM = os.environ.get("PORTAL_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CORRECTION = "更正：本文第一段中的日期已更正。"
ASSETS = ("/images/style.css", "/js/common.js", "/images/logo.gif", "/images/bg.gif")


cli = partial(support.cli, at=0, text=False, check=True)  # portal-archive --archive ... SUBCOMMAND ARGS


@pytest.fixture(scope="module")
def tools() -> None:
    if not (PYWB_BIN / "wayback").exists() or not (RWP_DIR / "sw.js").exists():
        subprocess.run(["bash", str(ROOT / "scripts" / "replay-tools")], check=True, timeout=900)


def first_paragraph(html: bytes) -> str:
    root = lxml.html.fromstring(html)
    for p in root.xpath('//div[@class="TRS_Editor"]/p'):
        if p.text_content().strip():
            return p.text_content().strip()
    raise AssertionError("no paragraph")


@pytest.fixture(scope="module")
def recrawled(tmp_path_factory):
    """(archive, server, the site served last, the corrected article's path, site per crawl id)."""
    archive = tmp_path_factory.mktemp("replay")
    first, latest = build_site(withhold=2), build_site(withhold=0)
    with DemoServer(first) as server:
        run_crawl(archive, f"start_url={server.url}")
        server.site, server.conditional = latest, False
        run_crawl(archive, f"start_url={server.url}")
        corrected = sorted(set(first.articles) & set(latest.articles))[0]
        route = latest.routes[corrected]
        route.body = route.body.replace(b'<div class="TRS_Editor">\n',
                                        f'<div class="TRS_Editor">\n<p>{CORRECTION}</p>\n'.encode(), 1)
        server.conditional = True
        run_crawl(archive, f"start_url={server.url}", "refresh=1")
        with index(archive).connect() as conn:
            crawl_ids = sorted(row.id for row in conn.execute(select(crawls.c.id)))
        yield archive, server, latest, corrected, dict(zip(crawl_ids, (first, latest, latest), strict=True))


@pytest.fixture(scope="module")
def shown(recrawled) -> dict[str, bytes]:
    """What `portal-archive show URL --raw` prints for every archived URL (once, for both
    collections): the command's own calls (Index.capture, read_payload) in this process, as a
    process per URL cost minutes of CI; the command itself is checked on the home page."""
    archive, server = recrawled[0], recrawled[1]
    with Index.open(index_url(archive), archive / "warc") as archive_index:
        payloads = {url: archive_index.read_payload(archive_index.capture(url)) for url in latest_captures(archive)}
    assert cli(archive, "show", server.url, "--raw").stdout == payloads[server.url]
    return payloads


def latest_captures(archive: Path) -> dict[str, dict]:
    """Every URL's latest capture (any status), from the index."""
    with index(archive).connect() as conn:
        rows = conn.execute(select(captures).order_by(captures.c.id)).mappings().all()
    return {row["url"]: dict(row) for row in rows}


def test_three_crawls_made_both_kinds_of_revisit(recrawled):
    archive = recrawled[0]
    with index(archive).connect() as conn:
        kinds = {(row.crawl_id, row.record_type, row.status) for row in conn.execute(select(captures))}
        crawl_ids = sorted(row.id for row in conn.execute(select(crawls.c.id)))
    assert len(crawl_ids) == 3
    assert (crawl_ids[1], "revisit", 200) in kinds and (crawl_ids[2], "revisit", 304) in kinds


def test_requisites_fetched_once_per_crawl_unchanged_ones_as_revisits(recrawled):
    archive, server, sites = recrawled[0], recrawled[1], recrawled[4]
    with index(archive).connect() as conn:
        crawl_ids = sorted(row.id for row in conn.execute(select(crawls.c.id)))
        for path in ASSETS:
            rows = conn.execute(select(captures.c.crawl_id, captures.c.record_type, captures.c.status)
                                .where(captures.c.url == server.url.rstrip("/") + path)
                                .order_by(captures.c.id)).all()
            assert [tuple(row) for row in rows] == [(crawl_ids[0], "response", 200), (crawl_ids[1], "revisit", 200),
                                                    (crawl_ids[2], "revisit", 304)], path
        # srcset candidates too: every @2x image the served pages name, once in each crawl that
        # fetched its page in full (crawl 2 fetches only the new articles).
        srcset = conn.execute(select(captures.c.crawl_id, captures.c.url).where(captures.c.url.like("%@2x.gif"))).all()
    host = server.url.rstrip("/")
    per_crawl = {crawl_id: Counter(url[len(host):] for crawl_id2, url in srcset if crawl_id2 == crawl_id)
                 for crawl_id in crawl_ids}
    named = {crawl_id: {path for path in site.routes if path.endswith("@2x.gif")} for crawl_id, site in sites.items()}
    assert named[crawl_ids[0]] and all(set(counts.values()) <= {1} for counts in per_crawl.values()), per_crawl
    assert set(per_crawl[crawl_ids[0]]) == named[crawl_ids[0]]
    # Crawl 3 (refresh) re-checks known articles with conditional GETs: an unchanged one (304)
    # names nothing new, so its images are not asked again.
    assert set(per_crawl[crawl_ids[1]]) <= named[crawl_ids[1]]
    assert set(per_crawl[crawl_ids[2]]) <= named[crawl_ids[2]]


def test_article_images_are_linked_to_their_captures(recrawled):
    """Each article version lists the images its page shows, each linked to a capture holding
    the bytes the server sent for it in that crawl."""
    archive, server, latest, _, sites = recrawled
    host = server.url.rstrip("/")
    with Index.open(index_url(archive), archive / "warc") as archive_index, archive_index.engine.connect() as conn:
        versions = conn.execute(select(articles.c.id, articles.c.url, captures.c.crawl_id)
                                .join(captures, captures.c.id == articles.c.capture_id)).all()
        with_images = 0
        for version in versions:
            site = sites[version.crawl_id]
            page = lxml.html.fromstring(site.routes[urlsplit(version.url).path].body)
            expected = [host + src for src in page.xpath('//div[@class="TRS_Editor"]//img/@src')]
            rows = conn.execute(select(article_images.c.url, article_images.c.capture_id)
                                .where(article_images.c.article_id == version.id)
                                .order_by(article_images.c.position)).all()
            assert [row.url for row in rows] == expected, version.url
            for row in rows:
                capture = archive_index.capture(row.capture_id)
                assert capture["url"] == row.url
                assert archive_index.read_payload(capture) == site.routes[urlsplit(row.url).path].body
            with_images += bool(rows)
    assert with_images >= 8
    # A researcher saves the latest version of an article with its images.
    url, photos = next((host + path, [host + src for src in lxml.html.fromstring(latest.routes[path].body)
                                      .xpath('//div[@class="TRS_Editor"]//img/@src')])
                       for path in sorted(latest.articles) if b"/uploads/img/" in latest.routes[path].body)
    listing = cli(archive, "images", url, "-o", str(archive / "saved-images")).stdout.decode().splitlines()
    assert listing[0] == "position\turl\tfile\tbytes\tcapture_id"
    rows = [line.split("\t") for line in listing[1:]]
    assert [row[1] for row in rows] == photos
    for _, photo, name, size, _ in rows:
        served = latest.routes[urlsplit(photo).path].body
        assert (archive / "saved-images" / name).read_bytes() == served and int(size) == len(served)
    folder = article_image(0).rsplit("/", 1)[0]
    assert all(path.startswith(folder) for path in latest.routes if path.endswith(".gif") and "@" in path)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def pywb(tools, recrawled, tmp_path_factory):
    """wayback serving two collections: `portal-archive pywb`'s, and the WACZ imported by
    `wb-manager add --unpack-wacz`."""
    archive = recrawled[0]
    root = tmp_path_factory.mktemp("pywb")
    cli(archive, "pywb", str(root / "collections" / "direct"))
    wacz = root / "portal.wacz"
    cli(archive, "wacz", "-o", str(wacz))
    subprocess.run([str(PYWB_BIN / "wb-manager"), "init", "imported"], cwd=root, check=True, capture_output=True,
                   timeout=120)
    added = subprocess.run([str(PYWB_BIN / "wb-manager"), "add", "--unpack-wacz", "imported", str(wacz)], cwd=root,
                           capture_output=True, text=True, timeout=300)
    assert added.returncode == 0, added.stderr
    with wayback(root) as base:
        yield base, root


@contextlib.contextmanager
def wayback(root: Path) -> Iterator[str]:
    """pywb's ``wayback`` serving the collections under ``root``, on a free loopback port: its URL."""
    port = free_port()
    log = open(root / "wayback.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen([str(PYWB_BIN / "wayback"), "-p", str(port), "-b", "127.0.0.1", "-d", str(root)],
                               cwd=root, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(base, timeout=5).read()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail(f"wayback did not start: {(root / 'wayback.log').read_text()[-2000:]}")
            time.sleep(0.5)
    try:
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()



class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def replay(url: str) -> tuple[int, bytes]:
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(url, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def ts14(capture: dict) -> str:
    return "".join(ch for ch in (capture["warc_date"] or capture["fetched_at"]) if ch.isdigit())[:14]


@pytest.mark.parametrize("collection", ["direct", "imported"])
def test_pywb_replays_the_latest_capture_of_every_url(recrawled, pywb, shown, collection):
    archive, server, latest, corrected, sites = recrawled
    base, _ = pywb
    checked = 0
    for url, capture in latest_captures(archive).items():
        status, body = replay(f"{base}{collection}/{ts14(capture)}id_/{url}")
        if capture["status"] in (200, 304):
            assert status == 200, (url, capture["status"], capture["record_type"])
            assert body == shown[url], url
            # What the server sent in the crawl of that capture (a 304 says: the same as before).
            target = urlsplit(url).path + (f"?{urlsplit(url).query}" if urlsplit(url).query else "")
            assert body == sites[capture["crawl_id"]].lookup(target).body, url
            checked += 1
        else:
            assert status == capture["status"], url
    assert checked > 100
    status, body = replay(f"{base}{collection}/{ts14(latest_captures(archive)[server.url.rstrip('/') + corrected])}"
                          f"id_/{server.url.rstrip('/') + corrected}")
    assert status == 200 and CORRECTION.encode() in body


def test_pywb_indexes_the_imported_warcs_as_our_cdxj_does(recrawled, pywb):
    """pywb's own index of the WARCs that `wb-manager add --unpack-wacz` took from the WACZ
    (`wb-manager add` of those files to a new collection, which indexes them with pywb's
    indexer), against ours: not the WACZ's own indexes/index.cdx, which our code wrote and
    the import only copies. Ours leaves out the 304 revisits (docs/replay.md), nothing else."""
    archive = recrawled[0]
    _, root = pywb
    imported = root / "collections" / "imported" / "archive"
    wb_manager = str(PYWB_BIN / "wb-manager")
    subprocess.run([wb_manager, "init", "reindexed"], cwd=root, check=True, capture_output=True, timeout=120)
    added = subprocess.run([wb_manager, "add", "reindexed", *map(str, sorted(imported.glob("*.warc*")))], cwd=root,
                           capture_output=True, text=True, timeout=300)
    assert added.returncode == 0, added.stderr
    theirs = (root / "collections" / "reindexed" / "indexes" / "index.cdxj").read_text().splitlines()
    ours = cli(archive, "cdxj").stdout.decode().splitlines()

    def keyed(lines: list[str]) -> dict[tuple, dict]:
        """(SURT key, timestamp, offset) -> the line's fields; the WACZ renamed the files."""
        out = {}
        for line in lines:
            key, ts, data = line.split(" ", 2)
            fields = json.loads(data)
            out[(key, ts, int(fields["offset"]))] = fields
        return out

    def replayed(fields: dict) -> tuple:
        """What replay reads from a line. pywb writes digests without "sha1:", and no status for
        a revisit (it takes the original's)."""
        return (fields["url"], fields["mime"], str(fields["digest"]).removeprefix("sha1:"), int(fields["length"]),
                None if fields["mime"] == "warc/revisit" else fields["status"])

    mine, pywb_lines = keyed(ours), keyed(theirs)
    assert len(mine) > 100
    assert {where: replayed(pywb_lines[where]) if where in pywb_lines else None for where in mine} == {
        where: replayed(fields) for where, fields in mine.items()}
    left_out = [fields for where, fields in pywb_lines.items() if where not in mine]
    profiles = {read_record(imported / fields["filename"], int(fields["offset"]))[0].rec_headers.get_header(
        "WARC-Profile") for fields in left_out}
    assert profiles == {"http://netpreserve.org/warc/1.1/revisit/server-not-modified"}
    with index(archive).connect() as conn:
        not_modified = conn.execute(select(func.count()).where(captures.c.status == 304)).scalar_one()
    assert len(left_out) == not_modified > 0


def test_cdxj_lines_agree_with_cdxj_indexer_and_only_304s_are_left_out(recrawled):
    archive = recrawled[0]
    ours = cli(archive, "cdxj").stdout.decode().splitlines()
    files = sorted(str(path) for path in (archive / "warc").glob("*.warc.gz"))
    theirs = subprocess.run([sys.executable, "-m", "cdxj_indexer.main", *files], capture_output=True, text=True,
                            check=True, timeout=300).stdout.splitlines()

    def keyed(lines):
        out = {}
        for line in lines:
            key, ts, data = line.split(" ", 2)
            fields = json.loads(data)
            out[(Path(fields["filename"]).name, fields["offset"])] = (key, ts, fields | {"filename": ""})
        return out

    mine, indexer = keyed(ours), keyed(theirs)
    assert all(indexer[where] == line for where, line in mine.items())
    left_out = {where: line for where, line in indexer.items() if where not in mine}
    assert left_out and {line[2]["status"] for line in left_out.values()} == {"304"}


def test_replaywebpage_renders_the_latest_version_of_every_article(tools, recrawled, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not installed at {CHROMIUM} (scripts/replay-tools installs Debian's chromium as root)")
    if not (RWP_DIR / "sw.js").exists():
        pytest.skip(f"no ReplayWeb.page files at {RWP_DIR}: npm was unavailable to scripts/replay-tools")
    from playwright.sync_api import sync_playwright

    archive, server, latest, corrected, _ = recrawled
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    cli(archive, "wacz", "-o", str(site_dir / "portal.wacz"))
    captured = latest_captures(archive)
    with StaticServer(site_dir, RWP_DIR) as web, sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            tempfile.mkdtemp(dir=tmp_path), executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        try:
            page = browser.new_page()
            failures = []
            for path in sorted(latest.articles):
                url = server.url.rstrip("/") + path
                body = latest.routes[path].body
                title = lxml.html.fromstring(body).xpath("//h1")[0].text_content().strip()
                paragraph = first_paragraph(body)
                (site_dir / "view.html").write_text(
                    '<!doctype html><html><head><meta charset="utf-8"><script src="ui.js"></script></head><body>'
                    f'<replay-web-page style="display:block;height:900px" source="portal.wacz" url="{url}" '
                    f'ts="{ts14(captured[url])}" replayBase="./"></replay-web-page></body></html>',
                    encoding="utf-8")
                page.goto(web.url + "view.html")
                state = _rendered(page, url)
                if state is None:
                    failures.append((path, "not rendered"))
                    continue
                text, images, margin = state
                if title not in text or paragraph not in text:
                    failures.append((path, "title or first paragraph missing", text[:300]))
                own = [image for image in images if server.url in image[0]]
                if not own or not all(complete and width > 0 for _, complete, width in own):
                    failures.append((path, "images not loaded", own))
                if margin != "0px":
                    failures.append((path, "stylesheet not applied", margin))
                if path == corrected and CORRECTION not in text:
                    failures.append((path, "not the latest version"))
            assert not failures, failures[:5]
        finally:
            browser.close()


def _rendered(page, url: str, timeout: float = 90) -> tuple[str, list, str] | None:
    """The replayed page's text, its images (src, complete, naturalWidth) and body margin,
    once ReplayWeb.page has rendered it in its frame and its images have settled."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for frame in page.frames:
            if "mp_/" in frame.url and frame.url.endswith(url):
                try:
                    ready = frame.evaluate("document.readyState === 'complete' && !!document.querySelector('h1')")
                    if ready:
                        return (frame.evaluate("document.body.innerText"),
                                frame.evaluate("Array.from(document.images).map(i => [i.src, i.complete, "
                                               "i.naturalWidth])"),
                                frame.evaluate("getComputedStyle(document.body).marginTop"))
                except Exception:  # noqa: BLE001 - the frame navigated away while we asked; ask again
                    pass
        page.wait_for_timeout(500)
    return None
