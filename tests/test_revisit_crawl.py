"""Daily crawls re-check known articles and tell edits and take-downs from chrome churn.

A loopback portal is crawled, its archive made to look weeks old, its articles changed the
ways government portals change them (demo/mutations.py), and crawled again.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import support
from sqlalchemy import func, select, text, update
from support import ROOT, cli, index, run_crawl, verify
from zygote import popen

from archive.index import Index
from archive.models import article_events, articles, captures, crawls, utc_iso
from demo import mutations
from demo.server import DemoServer
from demo.site import Site, build_site

pytestmark = [pytest.mark.slow, pytest.mark.index]

CORRECTION = "（已更正）"


def backdate(archive: Path, days: float) -> str:
    """Make everything archived so far look ``days`` old (as if crawled then); that moment."""
    then = utc_iso(datetime.now(UTC) - timedelta(days=days))
    with index(archive).begin() as conn:
        conn.execute(update(captures).values(fetched_at=then))
    return then


def crawl_then_age(archive: Path, server: DemoServer, days: float) -> str:
    """A first crawl of the portal, made to look ``days`` old."""
    run_crawl(archive, f"start_url={server.url}")
    return backdate(archive, days)


def plain_site() -> Site:
    """The demo portal without its extras (attachments, traps, images, a GBK page): articles
    and listings, what re-checks are about, in half the requests."""
    return build_site(extras=False)


def article_paths(server: DemoServer, site: Site, start: int, end: int | None = None) -> list[str]:
    return [entry.path for entry in server.requests[start:end] if entry.path in site.articles]


@dataclass
class Changed:
    archive: Path
    site: Site
    url: str
    before: str  # when the first crawl "happened" (backdated)
    roles: dict[str, str]  # role -> article path
    old_paragraph: str
    recheck_requests: list  # what the server saw from the second crawl
    crawl2: int


@pytest.fixture(scope="module")
def changed(tmp_path_factory) -> Changed:
    archive = tmp_path_factory.mktemp("revisit")
    site = build_site()
    with DemoServer(site) as server:
        before = crawl_then_age(archive, server, 40)
        # Six articles of the first channel (UTF-8 pages with a view counter).
        picked = sorted(path for path in site.articles if path.startswith("/xfxw/"))[:6]
        roles = dict(zip(("edited", "chrome", "deleted", "soft", "redirected", "challenged"), picked, strict=True))
        old_paragraph = mutations.first_paragraph(site, roles["edited"])
        head = old_paragraph[:12]
        mutations.edit_text(site, roles["edited"], head, head + CORRECTION)
        mutations.touch_chrome(site, roles["chrome"])
        mutations.delete(site, roles["deleted"])
        mutations.soft_delete(site, roles["soft"])
        mutations.redirect(site, roles["redirected"], "/")
        mutations.challenge(site, roles["challenged"])
        start = len(server.requests)
        run_crawl(archive, f"start_url={server.url}", settings={"REVISIT_SHARE": "1"})
        requests = server.requests[start:]
        url = server.url.rstrip("/")
    with index(archive).connect() as conn:
        crawl2 = conn.execute(select(func.max(crawls.c.id))).scalar_one()
    return Changed(archive, site, url, before, roles, old_paragraph, requests, crawl2)


def events_by_path(archive: Path, crawl_id: int | None = None) -> dict[str, list[str]]:
    query = select(article_events.c.url, article_events.c.kind).order_by(article_events.c.id)
    if crawl_id is not None:
        query = query.where(article_events.c.crawl_id == crawl_id)
    out: dict[str, list[str]] = {}
    with index(archive).connect() as conn:
        for url, kind in conn.execute(query):
            out.setdefault(urlsplit(url).path, []).append(kind)
    return out


def test_each_kind_of_change_is_classified(changed):
    kinds = events_by_path(changed.archive)
    roles = changed.roles
    expected = {roles["edited"]: ["edited"], roles["chrome"]: ["unchanged"], roles["deleted"]: ["deleted"],
                roles["soft"]: ["soft-deleted"], roles["redirected"]: ["redirected-away"],
                roles["challenged"]: ["blocked"]}
    assert {path: kinds.get(path) for path in expected} == expected
    # Every other known article was re-checked once and found unchanged.
    others = {path: kind for path, kind in kinds.items() if path not in expected}
    assert set(others) == set(changed.site.articles) - set(expected)
    assert set(map(tuple, others.values())) == {("unchanged",)}


def test_rechecks_are_conditional_gets_sent_once(changed):
    requested = [entry for entry in changed.recheck_requests if entry.path in changed.site.articles]
    # Where a browser is installed, it tried the challenged article too (crawler/fetch/browser/): its
    # requests (Chromium's user agent) are not re-checks.
    browser = [entry for entry in requested if "HeadlessChrome" in dict(entry.headers).get("User-Agent", "")]
    assert {entry.path for entry in browser} <= {changed.roles["challenged"]}
    rechecked = [entry for entry in requested if entry not in browser]
    assert sorted(entry.path for entry in rechecked) == sorted(changed.site.articles)
    untouched = [entry for entry in rechecked if entry.path not in changed.roles.values()]
    assert untouched and all(any(name == "If-None-Match" for name, _ in entry.headers) for entry in untouched)


def test_chrome_only_change_adds_no_version_and_an_edit_adds_one(changed):
    with index(changed.archive).connect() as conn:
        versions = dict(conn.execute(select(articles.c.url, func.count()).group_by(articles.c.url)).all())
    by_path = {urlsplit(url).path: count for url, count in versions.items()}
    assert by_path[changed.roles["edited"]] == 2
    assert {count for path, count in by_path.items() if path != changed.roles["edited"]} == {1}


def test_an_edit_keeps_both_texts_each_on_its_warc_record(changed):
    url = changed.url + changed.roles["edited"]
    with index(changed.archive).connect() as conn:
        edit = conn.execute(text("SELECT * FROM article_edits WHERE url = :url"), {"url": url}).one()
    old_line = changed.old_paragraph
    assert old_line in edit.old_body and CORRECTION not in edit.old_body
    assert CORRECTION in edit.new_body and edit.old_fetched_at == changed.before < edit.new_fetched_at
    with Index(index(changed.archive), changed.archive / "warc") as archived:
        old_capture = archived.capture(url, at=changed.before)
        new_capture = archived.capture(url)
        assert (old_capture["warc_file"], old_capture["warc_offset"]) == (edit.old_warc_file, edit.old_warc_offset)
        assert (new_capture["warc_file"], new_capture["warc_offset"]) == (edit.new_warc_file, edit.new_warc_offset)
        assert CORRECTION not in archived.read_payload(old_capture).decode("utf-8")
        assert CORRECTION in archived.read_payload(new_capture).decode("utf-8")
        versions = archived.versions(url)
        events = archived.events(kind="edited")
    assert [version["id"] for version in versions] == [edit.old_article_id, edit.new_article_id]
    assert [event["url"] for event in events] == [url]
    assert events[0]["article_id"] == edit.old_article_id and events[0]["detail"] == "changed: body"


def test_status_view_says_what_became_of_each_article(changed):
    with index(changed.archive).connect() as conn:
        rows = {urlsplit(row.url).path: row for row in conn.execute(text("SELECT * FROM article_status"))}
    roles = changed.roles
    assert (rows[roles["deleted"]].status, rows[roles["deleted"]].gone) == ("deleted", 1)
    assert (rows[roles["soft"]].status, rows[roles["soft"]].gone) == ("soft-deleted", 1)
    assert (rows[roles["redirected"]].status, rows[roles["redirected"]].gone) == ("redirected-away", 1)
    # A challenge says nothing about the article: its status stays what it was.
    assert (rows[roles["challenged"]].status, rows[roles["challenged"]].last_kind) == ("archived", "blocked")
    assert (rows[roles["edited"]].status, rows[roles["edited"]].versions) == ("edited", 2)
    assert rows[roles["chrome"]].status == "unchanged" and rows[roles["chrome"]].gone == 0


def test_old_version_readable_with_show_at_and_diff(changed):
    url = changed.url + changed.roles["edited"]
    at = changed.before.replace("-", "").replace(":", "").replace("T", "").rstrip("Z")
    old = cli(changed.archive, "show", url, "--at", at)
    new = cli(changed.archive, "show", url)
    assert old.returncode == 0 and changed.old_paragraph in old.stdout and CORRECTION not in old.stdout
    assert new.returncode == 0 and CORRECTION in new.stdout and "status: edited (re-checked " in new.stdout
    deleted = cli(changed.archive, "show", changed.url + changed.roles["deleted"])
    assert deleted.returncode == 0 and "status: deleted (re-checked " in deleted.stdout
    diff = cli(changed.archive, "diff", url)
    assert diff.returncode == 0, diff.stderr
    lines = diff.stdout.splitlines()
    head = changed.old_paragraph[:12]
    # Character level: the inserted words are marked inside the paragraph, not the whole line swapped.
    assert f"+{changed.old_paragraph.replace(head, head + '{+' + CORRECTION + '+}', 1)}" in lines
    assert f"-{changed.old_paragraph}" in lines
    side = cli(changed.archive, "diff", url, "--side-by-side", "--width", "100", "--from", at)
    assert side.returncode == 0 and "{+" + CORRECTION[:3] in side.stdout and " | " in side.stdout
    assert cli(changed.archive, "diff", url, "--to", at).returncode == 1  # only one version then


def test_changes_command_lists_events_in_every_format(changed):
    table = cli(changed.archive, "changes", "--kind", "deleted", "--kind", "soft-deleted")
    assert table.returncode == 0
    assert sum(changed.roles["deleted"] in line or changed.roles["soft"] in line
               for line in table.stdout.splitlines()) == 2
    rows = list(csv.DictReader(io.StringIO(cli(changed.archive, "changes", "--format", "csv").stdout)))
    assert len(rows) == len(changed.site.articles)
    jsonl = [json.loads(line) for line in cli(changed.archive, "changes", "--format", "jsonl", "--kind",
                                              "redirected-away").stdout.splitlines()]
    assert [(row["url"], row["detail"]) for row in jsonl] == [(changed.url + changed.roles["redirected"],
                                                               changed.url + "/")]
    future = cli(changed.archive, "changes", "--since", "2999", "--format", "jsonl")
    assert (future.returncode, future.stdout, future.stderr) == (0, "", "")  # nothing yet, and no crash
    stats = cli(changed.archive, "stats")
    month = datetime.now(UTC).strftime("%Y-%m")
    assert f"  127.0.0.1 {month} deleted: 1" in stats.stdout
    assert f"  127.0.0.1 {month} unchanged: {len(changed.site.articles) - 5}" in stats.stdout


def test_the_archive_stays_valid(changed):
    result = verify(changed.archive)
    assert result.returncode == 0, result.stdout


def test_the_recheck_budget_is_respected(tmp_path):
    site = plain_site()
    with DemoServer(site) as server:
        crawl_then_age(tmp_path, server, 40)
        start = len(server.requests)
        run_crawl(tmp_path, f"start_url={server.url}", settings={"REVISIT_SHARE": "1", "REVISIT_MAX_PER_CRAWL": "5"})
        second = article_paths(server, site, start)
        start = len(server.requests)
        run_crawl(tmp_path, f"start_url={server.url}", settings={"REVISIT_SHARE": "0.25"})
        third_all = server.requests[start:]
        third = article_paths(server, site, start)
    assert len(second) == 5
    # A share: re-checks are at most a quarter of the crawl's requests (robots.txt included).
    assert 0 < len(third) <= 0.25 * len(third_all)
    # What the second crawl checked is not due again; the third took others.
    assert not set(second) & set(third)


def _unlisted_candidate(site: Site) -> str:
    """An article on the first page of a channel's listing, and on no other page the crawl reads."""
    first_pages = [path for path in site.listings if path.endswith("/index.html")]
    home = site.routes["/"].body.decode("utf-8")
    sidebar = site.chrome.sidebar if site.chrome else ""
    for path in sorted(site.articles):
        tail = path[path.index("/", 1):]
        listed = [page for page in first_pages if f'"{"." + tail}"' in site.routes[page].body.decode("utf-8")]
        if listed and path not in home and path not in sidebar:
            return path
    raise AssertionError("no article fit")


def test_an_article_gone_from_its_listing_is_rechecked_before_its_time(tmp_path):
    site = plain_site()
    with DemoServer(site) as server:
        crawl_then_age(tmp_path, server, 10)  # old articles: monthly checks, so none is due
        start = len(server.requests)
        run_crawl(tmp_path, f"start_url={server.url}", settings={"REVISIT_SHARE": "1"})
        assert article_paths(server, site, start) == []
        gone = _unlisted_candidate(site)
        assert mutations.unlist(site, gone) >= 1
        mutations.delete(site, gone)
        start = len(server.requests)
        run_crawl(tmp_path, f"start_url={server.url}", settings={"REVISIT_SHARE": "1"})
        assert article_paths(server, site, start) == [gone]
    assert events_by_path(tmp_path) == {gone: ["deleted"]}


def crawl_command(archive: Path, url: str, settings: dict[str, str]) -> list[str]:
    return support.crawl_command(archive, f"start_url={url}", settings=settings)


def rechecks_indexed(archive: Path, site: Site, after_crawl: int) -> int:
    """Captures of known articles committed so far by crawls after ``after_crawl``."""
    with index(archive).connect() as conn:
        urls = conn.execute(select(captures.c.url).where(captures.c.crawl_id > after_crawl)).scalars()
        return sum(urlsplit(url).path in site.articles for url in urls)


def test_the_schedule_survives_a_sigkill(tmp_path):
    site = plain_site()
    with DemoServer(site) as server:
        crawl_then_age(tmp_path, server, 40)
        command = crawl_command(tmp_path, server.url, {"REVISIT_SHARE": "1", "CONCURRENT_REQUESTS_PER_DOMAIN": "2"})
        start = len(server.requests)
        server.delay, server.serial = 0.2, True  # answers 0.2 s apart: the kill comes mid-way
        process = popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while rechecks_indexed(tmp_path, site, 1) < 5 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        server.delay, server.serial = 0, False
        # Killed mid-way: some re-checks are in the index, others are not (requests may have
        # gone out for all of them; what the next crawl goes by is what the index holds).
        assert 5 <= rechecks_indexed(tmp_path, site, 1) < len(site.articles)
        start = len(server.requests)
        run_crawl(tmp_path, f"start_url={server.url}", settings={"REVISIT_SHARE": "1"})
        after = article_paths(server, site, start)
    with index(tmp_path).connect() as conn:
        first, killed, last = conn.execute(select(crawls.c.id, crawls.c.status).order_by(crawls.c.id)).all()
        checked_then = {urlsplit(url).path for (url,) in conn.execute(
            select(captures.c.url).where(captures.c.crawl_id == killed.id))} & set(site.articles)
    assert killed.status == "killed"
    # Whatever the killed crawl archived is not checked again; everything else is, once.
    assert checked_then and not checked_then & set(after)
    assert sorted(after) == sorted(set(site.articles) - checked_then)
    assert set(events_by_path(tmp_path, last.id)) == set(after)


def test_crawlers_sharing_an_index_check_each_article_once(tmp_path):
    site = plain_site()
    with DemoServer(site) as server:
        crawl_then_age(tmp_path, server, 40)
        start = len(server.requests)
        command = crawl_command(tmp_path, server.url, {"REVISIT_SHARE": "1"})
        server.delay = 0.3  # slow enough that both run out of work while the other is still re-checking
        workers = [popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                   for _ in range(2)]
        for worker in workers:
            _, stderr = worker.communicate(timeout=300)
            assert worker.returncode == 0 and "Traceback" not in stderr, stderr[-3000:]
        rechecked = article_paths(server, site, start)
    assert sorted(rechecked) == sorted(site.articles)
    assert {path: len(kinds) for path, kinds in events_by_path(tmp_path).items()} == dict.fromkeys(site.articles, 1)


def test_a_gone_article_found_gone_again_by_a_304_stays_gone(tmp_path):
    """The soft-deleted page is re-checked with its own validators and answered 304: still
    soft-deleted, not ``unchanged`` (issue 18). An article found deleted (404) is re-checked
    without the validators of its last live copy, and found deleted again."""
    site = build_site(channels=1, articles_per_channel=6)
    soft, deleted = sorted(site.articles)[:2]
    with DemoServer(site) as server:
        crawl_then_age(tmp_path, server, 40)
        mutations.soft_delete(site, soft)
        mutations.delete(site, deleted)
        run_crawl(tmp_path, f"start_url={server.url}", settings={"REVISIT_SHARE": "1"})
        backdate(tmp_path, 40)  # gone articles are checked at the slowest rate: due again
        start = len(server.requests)
        run_crawl(tmp_path, f"start_url={server.url}", settings={"REVISIT_SHARE": "1"})
        third = {entry.path: dict(entry.headers) for entry in server.requests[start:] if entry.path in (soft, deleted)}
    with index(tmp_path).connect() as conn:
        last = conn.execute(select(func.max(crawls.c.id))).scalar_one()
        statuses = {urlsplit(url).path: status for url, status in conn.execute(
            select(captures.c.url, captures.c.status).where(captures.c.crawl_id == last))}
        rows = {urlsplit(row.url).path: row for row in conn.execute(text("SELECT * FROM article_status"))}
    assert (statuses[soft], statuses[deleted]) == (304, 404)
    kinds = events_by_path(tmp_path)
    assert (kinds[soft], kinds[deleted]) == (["soft-deleted"] * 2, ["deleted"] * 2)
    assert (rows[soft].status, rows[soft].gone) == ("soft-deleted", 1)
    assert (rows[deleted].status, rows[deleted].gone) == ("deleted", 1)
    assert "If-None-Match" in third[soft] and "If-None-Match" not in third[deleted]
