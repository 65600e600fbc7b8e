"""Every ``portal-archive`` command, on the archive a real crawl of a loopback portal made."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from functools import partial
from urllib.parse import urlsplit

import pytest
import support
from sqlalchemy import select
from support import index, index_url, warc_files

from archive.index import Index
from archive.models import articles, captures

pytestmark = [pytest.mark.slow, pytest.mark.index]


cli = partial(support.cli, at=1, text=False, check=True)  # portal-archive SUBCOMMAND --archive ... ARGS


@pytest.fixture(scope="module")
def sample(trs_portal):
    """An article and phrases of 2, 3 and 8 characters that occur in its body only."""
    with index(trs_portal.archive).connect() as conn:
        rows = conn.execute(select(articles.c.id, articles.c.url, articles.c.body)).all()
    bodies = [row.body for row in rows]
    for row in rows:
        for length in (8,):
            for start in range(0, len(row.body) - length):
                phrase = row.body[start:start + length]
                if "\n" in phrase or sum(phrase in body for body in bodies) != 1:
                    continue
                short = next((row.body[i:i + n] for n in (2, 3) for i in range(start, start + length - n)
                              if row.body[i:i + n].strip() == row.body[i:i + n]), None)
                return {"id": row.id, "url": row.url, "phrase8": phrase, "phrase3": phrase[:3], "phrase2": phrase[:2],
                        "short": short}
    pytest.fail("no unique phrase found")


@pytest.mark.parametrize("key", ["phrase2", "phrase3", "phrase8"])
def test_search_finds_an_article_by_a_phrase_of_its_body(trs_portal, sample, key):
    result = cli(trs_portal.archive, "search", sample[key], "--format", "jsonl", "--limit", "100")
    hits = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert sample["url"] in {hit["url"] for hit in hits}
    hit = next(hit for hit in hits if hit["url"] == sample["url"])
    assert sample[key] in hit["snippet"] and hit["title"] and hit["published_at"] and hit["site"]


def test_search_filters_and_table_output(trs_portal, sample):
    table = cli(trs_portal.archive, "search", sample["phrase8"]).stdout.decode()
    assert sample["url"][:40] in table
    nothing = cli(trs_portal.archive, "search", sample["phrase8"], "--since", "2030", check=False)
    assert nothing.returncode == 1


def test_show_raw_is_the_bytes_served(trs_portal, sample):
    path = urlsplit(sample["url"]).path
    assert cli(trs_portal.archive, "show", sample["url"], "--raw").stdout == trs_portal.server.sent_body(path)
    home = trs_portal.server.url
    assert cli(trs_portal.archive, "show", home, "--raw").stdout == trs_portal.server.sent_body("/")


def test_show_headers_html_and_fields(trs_portal, sample):
    headers = cli(trs_portal.archive, "show", sample["url"], "--headers").stdout.decode()
    assert headers.startswith("HTTP/1.1 200 OK") and "Content-Type:" in headers
    title = trs_portal.site.articles[urlsplit(sample["url"]).path]
    assert title in cli(trs_portal.archive, "show", sample["url"], "--html").stdout.decode("utf-8")
    shown = cli(trs_portal.archive, "show", str(sample["id"])).stdout.decode("utf-8")
    assert f"title: {title}" in shown and sample["phrase8"] in shown


def test_history_lists_every_capture(trs_portal, sample):
    out = cli(trs_portal.archive, "history", sample["url"]).stdout.decode()
    assert " 200 " in out and "response" in out


def test_export_row_counts_match(trs_portal, tmp_path):
    with index(trs_portal.archive).connect() as conn:
        total = len(conn.execute(select(articles.c.id)).all())
    jsonl = cli(trs_portal.archive, "export", "--format", "jsonl").stdout.decode("utf-8").splitlines()
    assert len(jsonl) == total and json.loads(jsonl[0])["body"]
    cli(trs_portal.archive, "export", "--format", "csv", "-o", str(tmp_path / "a.csv"))
    rows = list(csv.DictReader(io.StringIO((tmp_path / "a.csv").read_text(encoding="utf-8"))))
    assert len(rows) == total


def test_cdxj_matches_cdxj_indexer(trs_portal):
    ours = cli(trs_portal.archive, "cdxj").stdout.decode().splitlines()
    files = [str(path) for path in warc_files(trs_portal.archive)]
    theirs = subprocess.run([sys.executable, "-m", "cdxj_indexer.main", *files], capture_output=True, text=True,
                            check=True).stdout.splitlines()

    def keyed(lines):
        out = {}
        for line in lines:
            key, ts, data = line.split(" ", 2)
            fields = json.loads(data)
            out[(fields["filename"], fields["offset"])] = (key, ts, fields)
        return out

    assert keyed(ours) == keyed(theirs)


def test_wacz_validates(trs_portal, tmp_path):
    target = tmp_path / "demo.wacz"
    cli(trs_portal.archive, "wacz", "-o", str(target))
    result = subprocess.run([sys.executable, "-m", "wacz.main", "validate", "-f", str(target)],
                            capture_output=True, text=True)
    # The validator exits 0 on failure too: its verdict is in what it prints.
    assert "Validation succeeded, the passed WACZ is valid" in result.stdout, result.stdout + result.stderr


def test_stats(trs_portal):
    out = cli(trs_portal.archive, "stats").stdout.decode("utf-8")
    assert "articles by site" in out and "crawls:" in out and "finished" in out


def test_python_api_and_pandas(trs_portal, sample):
    import pandas

    with Index.open(index_url(trs_portal.archive), trs_portal.archive / "warc") as archive:
        article = archive.article(sample["url"])
        capture = archive.capture(article["capture_id"])
        assert archive.record(capture).rec_type == "response"
        assert archive.read_payload(capture) == trs_portal.server.sent_body(urlsplit(sample["url"]).path)
        assert archive.captures(sample["url"])[0]["status"] == 200
        for table in ("crawls", "captures", "articles", "article_captures", "articles_per_month", "latest_captures"):
            frame = pandas.read_sql(f"select * from {table}", archive.engine)
            assert len(frame) > 0, table
        with archive.engine.connect() as conn:
            assert conn.execute(select(captures.c.id)).first() is not None


def test_show_a_page_that_is_not_an_article(trs_portal):
    out = cli(trs_portal.archive, "show", trs_portal.server.url).stdout.decode()
    assert f"url: {trs_portal.server.url}" in out and "status: 200" in out and "warc: " in out
    missing = cli(trs_portal.archive, "show", trs_portal.server.url + "never-archived.html", check=False)
    assert missing.returncode == 1 and b"nothing archived" in missing.stderr
