"""``portal-archive reindex``: today's extraction run again over the archive's own captures.

Extraction keeps improving; an article archived last month keeps what last month's
extraction made of it. Reindexing reads each article row's capture from its WARC record
again (no network), extracts it the way the crawl and ``import`` do (archive/reextract.py,
the site's known template lines stripped, its learned title endings and non-authors
applied), and updates the row in place, with its search entry.

What it never does is write an ``article_events`` row: the portal's page did not change,
only our reading of it, so a field that changes here is not an ``edited`` article. The
report says how many articles changed and in which fields, and names each changed one.
A row whose capture no longer extracts as an article keeps its old fields (the page is
the same; an extraction that lost it is a regression to look at, not data to write), and
so does a row whose new text equals another version of the same URL (one row per URL and
text: the two versions would merge, which reindexing leaves to a person).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, and_, select, update
from sqlalchemy.orm import aliased

from archive.articles import EXTRACTED_COLUMNS, body_digest, item_fields
from archive.locations import WarcLocator
from archive.models import articles, captures
from archive.reextract import Page, PageResult, extract_pages, worker_pool
from archive.site_templates import known_templates, template_key
from archive.warc_reader import WarcReadError, read_record

logger = logging.getLogger(__name__)

# Filled by the crawl (the listing's channel), not by extraction: kept when extraction has none.
_KEPT_WHEN_EMPTY = ("channel",)


@dataclass
class ReindexReport:
    read: int = 0
    changed: int = 0
    fields: Counter[str] = field(default_factory=Counter)
    unreadable: int = 0  # the capture's record could not be read
    not_article: int = 0  # today's extraction finds no article on the page: row kept
    merges: int = 0  # the new text is another version's of the same URL: row kept

    def lines(self) -> list[str]:
        fields = ", ".join(f"{name} {count}" for name, count in self.fields.most_common()) or "none"
        return [f"reindexed {self.read} article(s): {self.changed} changed (fields: {fields}), "
                f"{self.read - self.changed - self.unreadable - self.not_article - self.merges} unchanged, "
                f"{self.not_article} no longer read as articles (kept), {self.merges} now equal to another "
                f"version of their URL (kept), {self.unreadable} unreadable; no article event written "
                f"(re-extraction is not an edit)"]


@dataclass
class Changed:
    """One article whose row reindexing changed: its id, URL and the fields that changed."""

    id: int
    url: str
    fields: list[str]


def _rows(engine: Engine, site: str | None, since: str | None, batch: int) -> Iterator[list[Any]]:
    """Article rows with where their page's bytes are (a revisit's: its original's), by id."""
    original = aliased(captures)
    source = select(articles, captures.c.fetched_at, captures.c.content_type,
                    captures.c.warc_file.label("own_file"),
                    captures.c.warc_offset.label("own_offset"), original.c.warc_file.label("original_file"),
                    original.c.warc_offset.label("original_offset")) \
        .join(captures, captures.c.id == articles.c.capture_id) \
        .outerjoin(original, and_(captures.c.record_type == "revisit", original.c.id == captures.c.refers_to_id))
    if site:
        source = source.where(articles.c.site == site)
    if since:
        source = source.where(captures.c.fetched_at >= since)
    last = 0
    while True:
        with engine.connect() as conn:
            rows = conn.execute(source.where(articles.c.id > last).order_by(articles.c.id).limit(batch)).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id


def _pages(rows: list[Any], locate: WarcLocator) -> tuple[list[tuple[Any, Page]], int]:
    """(row, page) for each row whose record reads; how many did not."""
    pages, unreadable = [], 0
    for row in rows:
        name, offset = (row.original_file, row.original_offset) if row.original_file else (row.own_file,
                                                                                          row.own_offset)
        try:
            location = locate(name)
            _, payload = read_record(location.path, location.base + offset)
        except (WarcReadError, OSError, KeyError) as exc:
            logger.warning("article %s (%s): capture not read: %s", row.id, row.url, exc)
            unreadable += 1
            continue
        pages.append((row, (row.url, payload, row.content_type, [])))
    return pages, unreadable


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, float) and isinstance(new, float):
        return abs(old - new) < 1e-9
    return old == new


class Reindexer:
    """One ``portal-archive reindex`` run over one archive's index and WARC files."""

    def __init__(self, engine: Engine, warc_dir: Path, *, jobs: int = 1, batch_size: int = 200) -> None:
        from crawler.extract.site_fields import earlier_facts

        self.engine, self.warc_dir, self.jobs, self.batch_size = engine, Path(warc_dir), max(1, jobs), batch_size
        with engine.connect() as conn:
            self.templates = known_templates(conn)
        self.facts = earlier_facts(engine)
        self.report = ReindexReport()
        self._pool: ProcessPoolExecutor | None = None

    def run(self, site: str | None = None, since: str | None = None) -> Iterator[Changed]:
        """Reindex; yields each changed article as its batch is written."""
        locate = WarcLocator(self.engine, self.warc_dir)
        try:
            batches = _rows(self.engine, site, since, self.batch_size)
            pending = None  # one batch extracts in the workers while the one before is written
            for rows in batches:
                pages, unreadable = _pages(rows, locate)
                self.report.read += len(rows)
                self.report.unreadable += unreadable
                job = self._extract([page for _, page in pages])
                if pending is not None:
                    yield from self._write(*pending)
                pending = (pages, job)
            if pending is not None:
                yield from self._write(*pending)
        finally:
            if self._pool is not None:
                self._pool.shutdown(cancel_futures=True)

    def _extract(self, pages: list[Page]):
        if self.jobs <= 1 or not pages:
            return extract_pages(pages)
        if self._pool is None:
            self._pool = worker_pool(self.jobs)
        return self._pool.submit(extract_pages, pages)

    def _new_fields(self, row: Any, result: PageResult) -> dict[str, Any]:
        """The row today's extraction makes, as the crawl's pipelines finish it."""
        item = result.item
        item.body_digest = body_digest(item.body)
        known = self.templates.get(row.site, set())
        if known and item.body:
            item.body = "\n".join(line for line in item.body.split("\n")
                                  if (key := template_key(line)) is None or key not in known)
        if facts := self.facts.get(row.site):
            revision = facts.revise(item.title, item.author, item.site_name, item.confidence,
                                    list(item.extraction_warnings or []))
            for name, value in revision.items():
                setattr(item, name, value)
        return item_fields(item, row.site)

    def _write(self, pages: list[tuple[Any, Page]], job) -> Iterator[Changed]:
        from archive.search import grams, sort_key

        results = job if isinstance(job, list) else job.result()
        changed: list[tuple[Any, dict[str, Any], list[str]]] = []
        for (row, _), result in zip(pages, results, strict=True):
            if result.error or result.item is None:
                if result.error:
                    logger.warning("article %s (%s): %s", row.id, row.url, result.error)
                self.report.not_article += 1
                continue
            new = self._new_fields(row, result)
            for name in _KEPT_WHEN_EMPTY:
                if new.get(name) is None:
                    new[name] = getattr(row, name)
            differ = [name for name in EXTRACTED_COLUMNS if not _same(getattr(row, name), new.get(name))]
            if differ:
                changed.append((row, new, differ))
        if not changed:
            return
        written: list[Changed] = []
        with self.engine.begin() as conn:
            for row, new, differ in changed:
                taken = conn.execute(select(articles.c.id).where(
                    articles.c.url == row.url, articles.c.body_digest == new["body_digest"],
                    articles.c.id != row.id)).first()
                if taken is not None:
                    self.report.merges += 1
                    continue
                values = {name: new.get(name) for name in (*EXTRACTED_COLUMNS, "body_digest")}
                conn.execute(update(articles).where(articles.c.id == row.id).values(**values))
                if conn.dialect.name == "sqlite" and {"title", "body", "published_at"} & set(differ):
                    # The contentless search table forgets a row given what it indexed.
                    conn.exec_driver_sql(
                        "INSERT INTO articles_search(articles_search, rowid, grams) VALUES ('delete', ?, ?)",
                        (sort_key(row.published_at, row.id), grams(row.title, row.body)))
                    conn.exec_driver_sql("INSERT INTO articles_search(rowid, grams) VALUES (?, ?)",
                                         (sort_key(new["published_at"], row.id), grams(new["title"], new["body"])))
                written.append(Changed(row.id, row.url, differ))
        self.report.changed += len(written)
        for one in written:
            self.report.fields.update(one.fields)
        yield from written
