"""Daily re-crawls: an unchanged portal costs conditional GETs, a changed one brings just the new."""

from __future__ import annotations

import sys
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select
from support import ROOT, archive_args, index, run_crawl, verify, warc_files, warcio_check
from warcio.archiveiterator import ArchiveIterator
from zygote import run

from archive.index import Index
from archive.models import article_events, articles, captures, crawls
from demo import mutations
from demo.server import DemoServer
from demo.site import build_site

pytestmark = [pytest.mark.slow, pytest.mark.index]


def article_requests(server: DemoServer, site, start: int, end: int | None = None) -> list[str]:
    return [entry.path for entry in server.requests[start:end] if entry.path in site.articles]


@pytest.fixture(scope="module")
def recrawled(tmp_path_factory):
    """One portal crawled three times: first, unchanged, then with two new articles."""
    archive = tmp_path_factory.mktemp("incremental")
    before, after = build_site(withhold=2), build_site(withhold=0)
    with DemoServer(before) as server:
        run_crawl(archive, f"start_url={server.url}")
        first_end = len(server.requests)
        run_crawl(archive, f"start_url={server.url}")
        second_end = len(server.requests)
        server.site = after
        run_crawl(archive, f"start_url={server.url}")
        third_end = len(server.requests)
        server.changed = article_requests(server, after, second_end, third_end)
        run_crawl(archive, f"start_url={server.url}", "refresh=1")
        server.refreshed = article_requests(server, after, third_end)
        yield archive, server, before, after, first_end, second_end


def test_an_unchanged_portal_fetches_no_known_article(recrawled):
    archive, server, before, _, first_end, second_end = recrawled
    assert article_requests(server, before, first_end, second_end) == []
    second = server.requests[first_end:second_end]
    listings = [entry for entry in second if entry.path in before.listings or entry.path == "/"]
    assert listings and all(any(name == "If-None-Match" for name, _ in entry.headers) for entry in listings)
    assert len(second) < 0.2 * first_end  # paging stops at the first page with nothing new


def test_unchanged_pages_are_revisits_indexed_as_captures(recrawled):
    archive = recrawled[0]
    with index(archive).connect() as conn:
        second = conn.execute(select(crawls.c.id).order_by(crawls.c.id).offset(1).limit(1)).scalar_one()
        rows = conn.execute(select(captures).where(captures.c.crawl_id == second)).all()
    revisits = [row for row in rows if row.record_type == "revisit"]
    assert revisits and all(row.refers_to_id for row in revisits)
    assert {row.status for row in revisits} <= {200, 304}
    profiles = set()
    for path in warc_files(archive):
        with open(path, "rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type == "revisit":
                    headers = record.rec_headers
                    assert headers.get_header("WARC-Refers-To-Target-URI") == headers.get_header("WARC-Target-URI")
                    assert headers.get_header("WARC-Refers-To-Date")
                    profiles.add(headers.get_header("WARC-Profile").rsplit("/", 1)[-1])
    assert "server-not-modified" in profiles


def _articles_per_url(archive, crawls_upto: int | None = None) -> dict[str, list[str]]:
    """Article path -> titles of its rows (of the first ``crawls_upto`` crawls, or all)."""
    statement = select(articles.c.url, articles.c.title).join(captures, captures.c.id == articles.c.capture_id)
    if crawls_upto:
        statement = statement.where(captures.c.crawl_id.in_(
            select(crawls.c.id).order_by(crawls.c.id).limit(crawls_upto).scalar_subquery()))
    rows: dict[str, list[str]] = {}
    with index(archive).connect() as conn:
        for url, title in conn.execute(statement):
            rows.setdefault(urlsplit(url).path, []).append(title)
    return rows


def test_a_changed_listing_brings_exactly_the_new_articles(recrawled):
    archive, server, before, after, _, second_end = recrawled
    new = set(after.articles) - set(before.articles)
    assert len(new) == 2
    assert set(server.changed) == new
    # Every article of the portal, old and new: exactly one row, with the title the site has.
    assert _articles_per_url(archive, crawls_upto=3) == {path: [title] for path, title in after.articles.items()}


def test_refresh_fetches_known_articles_again_but_adds_no_unchanged_article(recrawled):
    archive, server, before, after = recrawled[:4]
    assert set(server.refreshed) == set(after.articles)
    # Re-extracted with the site's template fully learned, no article may look changed: still
    # one row per URL for every article, not only for the ones the previous crawl brought.
    assert _articles_per_url(archive) == {path: [title] for path, title in after.articles.items()}
    with index(archive).connect() as conn:
        per_url = conn.execute(select(articles.c.url, func.count()).group_by(articles.c.url)).all()
    assert len(per_url) == len(after.articles) and {count for _, count in per_url} == {1}


def test_the_archive_stays_valid(recrawled):
    archive = recrawled[0]
    warcio_check(warc_files(archive))
    result = verify(archive)
    assert result.returncode == 0, result.stdout


def test_show_at_picks_the_capture_of_that_time(recrawled):
    archive, server = recrawled[0], recrawled[1]
    with index(archive).connect() as conn:
        first = conn.execute(select(crawls).order_by(crawls.c.id).limit(1)).one()
    with Index(index(archive), archive / "warc") as archived:
        then = archived.capture(server.url, at=first.finished_at)
        latest = archived.capture(server.url)
    assert then["crawl_id"] == first.id and latest["crawl_id"] > first.id
    result = run([sys.executable, "-m", "archive.cli", "show", server.url, "--at",
                  first.finished_at.replace("-", "").replace(":", "").replace("T", "")[:14],
                  "--headers", *archive_args(archive)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0 and result.stdout.startswith("HTTP/1.1 200")


def test_summary_errors_are_failures_only(recrawled):
    """Known articles skipped and robots.txt exclusions are decisions, not errors (issue 10, 26)."""
    archive = recrawled[0]
    with index(archive).connect() as conn:
        first, second = [row.stats["summary"] for row in conn.execute(select(crawls).order_by(crawls.c.id).limit(2))]
    assert first["robots_excluded"] == 1  # /admin/secret.html, disallowed by the demo's robots.txt
    assert second["articles_unchanged"] > 0
    for summary in (first, second):
        assert "IgnoreRequest" not in summary["errors"]
        assert all(name.startswith("http_4") for name in summary["errors"]), summary["errors"]


def test_refresh_records_what_it_found_as_re_check_events(tmp_path):
    """Issue 25: a refresh re-fetches every known article, which is a re-check of each; an edit
    it found never appeared in `portal-archive changes`."""
    site = build_site(channels=1, articles_per_channel=6, extras=False)
    edited, deleted = sorted(site.articles)[:2]
    with DemoServer(site) as server:
        run_crawl(tmp_path, f"start_url={server.url}")
        paragraph = mutations.first_paragraph(site, edited)
        mutations.edit_text(site, edited, paragraph, paragraph + "（已更正）")
        mutations.delete(site, deleted)
        start = len(server.requests)
        run_crawl(tmp_path, f"start_url={server.url}", "refresh=1")
        fetched = article_requests(server, build_site(channels=1, articles_per_channel=6, extras=False), start)
    assert sorted(fetched) == sorted(site.articles)  # each known article once, the deleted one too
    with index(tmp_path).connect() as conn:
        events = {urlsplit(row.url).path: (row.kind, row.crawl_id) for row in conn.execute(select(article_events))}
        second = conn.execute(select(func.max(crawls.c.id))).scalar_one()
        versions = conn.execute(select(articles.c.body).where(articles.c.url.endswith(edited))
                                .order_by(articles.c.id)).scalars().all()
    assert events[edited] == ("edited", second) and events[deleted] == ("deleted", second)
    assert {kind for path, (kind, _) in events.items() if path not in (edited, deleted)} == {"unchanged"}
    assert len(events) == 6
    assert len(versions) == 2 and "（已更正）" in versions[1] and "（已更正）" not in versions[0]
    changes = run([sys.executable, "-m", "archive.cli", "changes", "--kind", "edited", "--format", "csv",
                   *archive_args(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert changes.returncode == 0 and edited in changes.stdout and deleted not in changes.stdout
