"""Re-checking known articles: which ones a daily crawl fetches again, and what it found.

An incremental crawl never fetches a known article (crawler/schedule/incremental.py), so without
this an article edited or taken down after its first capture would never be seen changing.
When the crawl's own work is done (the ``spider_idle`` signal), the articles that are due
go out as conditional GETs, up to the budget:

- **Schedule** (``REVISIT_SCHEDULE``): young articles often, old ones rarely, e.g.
  ``7:1 90:7 *:30`` = every day while under 7 days old, weekly to 90 days, then monthly.
  Age counts from the published date (or the first capture when the page gives none); the
  interval from the last capture that reached the server (a challenge or 5xx is no check).
  A check is due 2 hours early (at most half the interval), so a daily cron that starts a
  little earlier each day still re-checks daily. Articles found gone are checked at the
  slowest rate.
- **Everything comes from the index** (captures, articles, article_events), computed when
  the re-checks are released: a restart, a SIGKILL or another worker changes nothing but
  what has been captured already, which is no longer due. Crawlers sharing an index
  (scale-out workers) claim each re-check in ``revisit_claims`` before sending it; a claim
  holds while its crawl is running (at most 6 hours), so no article is checked twice.
- **Listings**: an article that a changed listing page listed before and that no listing
  page of this crawl lists any more is re-checked now, whatever the schedule. A link that
  dropped off listing pages of several directories at once was chrome (a rotating "hot"
  or "random" sidebar on every page), not a listing entry, and does not count. Articles
  still listed are evidence of existence: among due articles they go last.
- **Budget**: at most ``REVISIT_SHARE`` of the crawl's requests are re-checks, and at most
  ``REVISIT_MAX_PER_CRAWL`` of them; the most overdue go first, the rest wait for the next
  crawl. A re-check is exactly one request (no redirect followed, no retry), so the
  count of re-checks is the count of extra requests.

Each re-check's outcome is an ``article_events`` row (archive/events.py); an edit is also a
new ``articles`` row, so old and new text both stay, each on its own WARC record.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.http import HtmlResponse, Response, TextResponse
from sqlalchemy import Connection, Engine, and_, case, delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from twisted.python.failure import Failure

from archive.events import (
    BLOCKED,
    EDITED,
    GONE,
    UNCHANGED,
    EventRow,
    changed_fields,
    classify_page,
    classify_response,
    last_status,
    latest_version,
    still_gone,
)
from archive.models import article_events, articles, captures, crawls, revisit_claims, site_templates, utc_iso
from crawler.capture.hook import archive_writer
from crawler.capture.workers import is_html
from crawler.extract.items import ArticleItem
from crawler.extract.site_fields import SiteFacts, earlier_facts

if TYPE_CHECKING:
    from archive.history import History

logger = logging.getLogger(__name__)

EARLY = timedelta(hours=2)
CLAIM_HOLDS = timedelta(hours=6)


@dataclass(frozen=True)
class Tier:
    """Articles up to ``max_age`` days old (None: any age) are checked every ``every`` days."""

    max_age: float | None
    every: float


def parse_schedule(text: str) -> list[Tier]:
    """``"7:1 90:7 *:30"`` -> tiers, youngest first; a clear error for a malformed setting."""
    tiers = []
    for part in re.split(r"[\s,;]+", text.strip()):
        age, sep, every = part.partition(":")
        try:
            tiers.append(Tier(None if age.strip() == "*" else float(age), float(every)))
        except ValueError:
            raise ValueError(f"REVISIT_SCHEDULE: {part!r} is not AGE_DAYS:EVERY_DAYS (e.g. 7:1 90:7 *:30)") from None
        if not sep or tiers[-1].every <= 0:
            raise ValueError(f"REVISIT_SCHEDULE: {part!r} is not AGE_DAYS:EVERY_DAYS with EVERY_DAYS > 0")
    if not tiers or tiers[-1].max_age is not None:
        raise ValueError("REVISIT_SCHEDULE must end with *:EVERY_DAYS (the interval for all older articles)")
    return tiers


def interval(tiers: list[Tier], age_days: float) -> timedelta:
    for tier in tiers:
        if tier.max_age is None or age_days <= tier.max_age:
            return timedelta(days=tier.every)
    return timedelta(days=tiers[-1].every)


def parse_time(value: str | None) -> datetime | None:
    """An index time or a published date (any ISO 8601 form, zone or not) as aware UTC."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


@dataclass
class Candidate:
    """A known article as the schedule sees it."""

    url: str
    first_seen: datetime
    last_checked: datetime | None
    published: datetime | None = None
    gone: bool = False
    # The capture on which it was found gone (a soft-deleted page; None for a 404 or redirect).
    gone_capture: int | None = None

    def overdue(self, tiers: list[Tier], now: datetime) -> float:
        """Elapsed time since the last check over the interval due; >= 1 means due."""
        born = self.published if self.published and self.published <= now else self.first_seen
        every = interval(tiers, (now - born).total_seconds() / 86400)
        if self.gone:
            every = timedelta(days=tiers[-1].every)
        early = min(EARLY, every / 2)
        elapsed = now - (self.last_checked or self.first_seen)
        return (elapsed + early) / every


def due(candidates: list[Candidate], tiers: list[Tier], now: datetime, lost: set[str] = frozenset(),
        listed: set[str] = frozenset()) -> list[Candidate]:
    """The articles to re-check, in order: lost from their listing, then due and not seen in any
    listing, then due and still listed; most overdue first within each group."""
    scored = [(candidate.url not in lost, candidate.url in listed, -candidate.overdue(tiers, now), candidate.url,
               candidate) for candidate in candidates]
    return [entry[-1] for entry in sorted(scored) if entry[0] is False or entry[2] <= -1]


def pushed_down(before: list[str], now: list[str], dropped: set[str]) -> set[str]:
    """The dropped articles that newer ones pushed off the end of a listing page.

    A push-down by k keeps the page's length and its order: the last k entries leave, and the
    page now ends with the entry that stood just before them. A deleted last entry shrinks
    the page instead, and a republished list fills the gap from below: both stay evidence.
    """
    tail: list[str] = []
    for link in reversed(before):
        if link not in dropped:
            break
        tail.append(link)
    rest = before[:len(before) - len(tail)]
    if tail and rest and now and now[-1] == rest[-1] and len(now) >= len(before):
        return set(tail)
    return set()


def load_candidates(conn: Connection, site: str | None) -> list[Candidate]:
    """Every article URL of ``site`` with its first capture, last real check and fate so far."""
    urls = select(articles.c.url, func.max(articles.c.published_at).label("published_at")).group_by(articles.c.url)
    events = select(func.max(article_events.c.id)).where(article_events.c.kind != BLOCKED)
    if site is not None:
        urls, events = urls.where(articles.c.site == site), events.where(article_events.c.site == site)
    urls = urls.subquery()
    reached_server = and_(captures.c.status < 500, captures.c.status.notin_((403, 412, 429)),
                          or_(captures.c.flags.is_(None), ~captures.c.flags.like("%challenge:%")))
    rows = conn.execute(
        select(urls.c.url, urls.c.published_at, func.min(captures.c.fetched_at),
               func.max(case((reached_server, captures.c.fetched_at))))
        .join(captures, captures.c.url == urls.c.url)
        .group_by(urls.c.url, urls.c.published_at)
    ).all()
    gone = {url: capture_id for url, kind, capture_id in conn.execute(
        select(article_events.c.url, article_events.c.kind, article_events.c.capture_id).where(
            article_events.c.id.in_(events.group_by(article_events.c.url)))) if kind in GONE}
    out = []
    for url, published, first, last in rows:
        first_seen = parse_time(first)
        if first_seen is not None:
            out.append(Candidate(url, first_seen, parse_time(last), parse_time(published), url in gone,
                                 gone.get(url)))
    return out


def claim(engine: Engine, urls: list[str], crawl_id: int | None, want: int) -> list[str]:
    """Up to ``want`` of ``urls``, in order, that no other running crawl has claimed; claimed
    now for ``crawl_id``. Claims of crawls no longer running, or older than CLAIM_HOLDS, are void."""
    if crawl_id is None:
        return urls[:want]
    now = datetime.now(UTC)
    upsert = sqlite_insert if engine.dialect.name == "sqlite" else postgresql_insert
    taken: list[str] = []
    with engine.begin() as conn:
        running = select(crawls.c.id).where(crawls.c.status == "running")
        conn.execute(delete(revisit_claims).where(or_(revisit_claims.c.crawl_id.notin_(running),
                                                      revisit_claims.c.claimed_at < utc_iso(now - CLAIM_HOLDS))))
        for url in urls:
            if len(taken) >= want:
                break
            inserted = conn.execute(upsert(revisit_claims).values(url=url, crawl_id=crawl_id, claimed_at=utc_iso(now))
                                    .on_conflict_do_nothing(index_elements=["url"]).returning(revisit_claims.c.id))
            if inserted.first() is not None:
                taken.append(url)
    return taken


def budget(share: float, most: int, other_requests: int) -> int:
    """How many re-checks keep them within ``share`` of all the crawl's requests, and ``most``."""
    if share >= 1:
        return most
    if share <= 0:
        return 0
    return max(0, min(most, int(share * other_requests / (1 - share))))


class Revisits:
    """One crawl's re-checks: listing evidence, release at idle, classification of answers."""

    def __init__(self, crawler: Crawler, spider: Any, history: History) -> None:
        settings = crawler.settings
        self.crawler, self.spider, self.history = crawler, spider, history
        self.tiers = parse_schedule(settings.get("REVISIT_SCHEDULE"))
        self.share = settings.getfloat("REVISIT_SHARE")
        self.most = settings.getint("REVISIT_MAX_PER_CRAWL")
        self.listed: set[str] = set()
        # known article -> directories of the changed listing pages that dropped it
        self.dropped: dict[str, set[str]] = {}
        self.sent: set[str] = set()
        self.started = datetime.now(UTC)  # articles first captured since are new: no re-check yet
        # Off (REVISIT_ENABLED=0, with refresh=1): only the refresh's re-checks, none scheduled.
        self.released = not settings.getbool("REVISIT_ENABLED")
        with history.engine.connect() as conn:
            self.template_keys = {line for (line,) in conn.execute(
                select(site_templates.c.line).where(site_templates.c.site == spider.site_name))}
        # Each site's learned title ending: stored rows lost it when the crawl that learned it
        # ended, a fresh extraction has it (crawler/extract/site_fields.py).
        self.site_facts = earlier_facts(history.engine)
        crawler.signals.connect(self.idle, signal=signals.spider_idle)

    @property
    def stats(self) -> Any:
        return self.crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler, spider: Any, history: History) -> Revisits | None:
        """Re-checks for this crawl: scheduled ones (``REVISIT_ENABLED``), and with ``refresh=1``
        every known article the crawl fetches again, which is a re-check too."""
        refresh = getattr(spider, "refresh", False)
        if not (crawler.settings.getbool("REVISIT_ENABLED") or refresh) or not history.known_articles:
            return None
        try:
            return cls(crawler, spider, history)
        except ValueError as exc:
            logger.error("no re-checks of known articles in this crawl: %s", exc)
            return None

    # --- listing evidence ---------------------------------------------------------------------

    async def on_listing(self, url: str, links: list[str], changed: bool, last: bool = False) -> None:
        """Note which known articles a listing page lists; if the page changed, which it dropped.

        ``last``: the crawl pages no further through this listing (its walk stopped here, or
        it is the listing's last page). Articles pushed off the end of such a page by newer
        ones sit on the next page, unfetched: that is not evidence (``pushed_down``)."""
        known = self.history.known_articles
        now = {link for link in links if link in known}
        self.listed |= now
        if not changed or url not in self.history.captured:
            return
        payload = self.history.payload(url, before_crawl=getattr(self.spider, "crawl_id", None))
        if payload is None:
            return
        headers = {"Content-Type": payload.content_type} if payload.content_type else None
        try:
            old_page = HtmlResponse(url, body=payload.body, headers=headers)
            before = await self.spider.pages.run(old_page, self.spider.profile)
        except Exception:  # noqa: BLE001 - evidence only; the crawl goes on without it
            logger.warning("could not read the archived copy of listing %s", url)
            return
        directory = url.split("?", 1)[0].rsplit("/", 1)[0]
        listed_before = [link for link in dict.fromkeys(before.links) if link in known]
        dropped = set(listed_before) - now
        if last:
            dropped -= pushed_down(listed_before, [link for link in dict.fromkeys(links) if link in known], dropped)
        for link in dropped:
            self.dropped.setdefault(link, set()).add(directory)

    def lost(self) -> set[str]:
        """Articles that dropped off one listing and are listed nowhere this crawl."""
        return {link for link, directories in self.dropped.items() if len(directories) == 1} - self.listed

    # --- release ------------------------------------------------------------------------------

    def idle(self, spider: Any) -> None:
        """The crawl's own work is done: send the due re-checks, once, within the budget."""
        if self.released:
            return
        self.released = True
        other = (self.stats.get_value("downloader/request_count") or 0)
        allowed = budget(self.share, self.most, other)
        lost = self.lost()
        with self.history.engine.connect() as conn:
            candidates = load_candidates(conn, self.spider.site_name)
        # Articles this crawl re-checked already (refresh=1) are not due again, whether or not
        # the writer has indexed their new captures yet.
        candidates = [candidate for candidate in candidates
                      if candidate.url not in self.sent and candidate.first_seen < self.started]
        chosen = due(candidates, self.tiers, datetime.now(UTC), lost, self.listed)
        self.stats.set_value("revisit/due", len(chosen))
        self.stats.set_value("revisit/lost_from_listing", len(lost))
        self.stats.set_value("revisit/listed", len(self.listed))
        urls = claim(self.history.engine, [candidate.url for candidate in chosen],
                     getattr(self.spider, "crawl_id", None), allowed)
        logger.info("re-checking %d known articles (%d due, budget %d of %d other requests, %d lost from listings)",
                    len(urls), len(chosen), allowed, other, len(lost))
        by_url = {candidate.url: candidate for candidate in chosen}
        for url in urls:
            meta = None if self.validators_fit(by_url[url]) else {"unconditional": True}
            self.crawler.engine.crawl(self.request(url, meta, dont_filter=True))
        if urls:
            raise DontCloseSpider

    def validators_fit(self, candidate: Candidate) -> bool:
        """May the re-check be conditional? Not for an article found gone by a 404 or a
        redirect: the validators are those of its last live copy, and a 304 to them would
        say that copy is back. Asked in full, the server's answer decides; a soft-deleted
        page was captured, so a 304 to its validators says it is still that page."""
        if not candidate.gone:
            return True
        good = self.history.lookup.last_good(candidate.url)
        return good is not None and good.id is not None and good.id == candidate.gone_capture

    def request(self, url: str, meta: dict[str, Any] | None = None, dont_filter: bool = False) -> Request:
        """A re-check of the known article at ``url``: exactly one request (no redirect followed,
        no retry), answered to ``spider.recheck``, which records what it found."""
        self.sent.add(url)
        self.stats.set_value("revisit/requests", len(self.sent))
        return Request(url, callback=self.spider.recheck, errback=self.spider.recheck_failed, dont_filter=dont_filter,
                       meta={**(meta or {}), "revisit": True, "dont_redirect": True, "handle_httpstatus_all": True,
                             "dont_retry": True})

    # --- classification -----------------------------------------------------------------------

    async def recheck(self, response: Response) -> ArticleItem | None:
        """Classify one re-check's answer and record it; the item when the article was edited."""
        with self.history.engine.connect() as conn:
            before = latest_version(conn, response.url)
            status = last_status(conn, response.url) if response.status == 304 else None
        location = response.headers.get("Location")
        verdict = classify_response(response.url, response.status, response.body,
                                    location.decode("latin-1") if location else None)
        if verdict is not None:
            verdict = still_gone(status, verdict)
        if verdict is None and {"dataloss", "download_stopped", "partial"} & set(response.flags):
            verdict = BLOCKED, "truncated response"
        if verdict is None and (not isinstance(response, TextResponse) or not is_html(response)):
            verdict = classify_page(None, None, is_article=False)
        maxsize = getattr(self.spider, "page_maxsize", 0)
        if verdict is None and maxsize and len(response.body) > maxsize:
            verdict = BLOCKED, f"page over PAGE_MAXSIZE={maxsize}, not read"
        item = None
        if verdict is None:
            try:
                result = await self.spider.pages.run(response, self.spider.profile)
            except Exception as exc:  # noqa: BLE001 - one odd page must not stop the crawl; it is archived anyway
                logger.error("could not read the re-check of %s (archived): %s: %s", response.url,
                             type(exc).__name__, exc)
                result = None
            if result is None:
                self.record(response.url, BLOCKED, "unreadable page", response.meta.get("warc_record_id"), before)
                return None
            item = result.item
            text = "" if item else " ".join(response.xpath(
                "//body//text()[not(ancestor::script)][not(ancestor::style)]").getall())
            title = item.title if item else " ".join(response.xpath("//title//text()").getall())
            verdict = classify_page(title, item.body if item else None, item is not None, text)
        if verdict is None and item is not None:
            facts = self.site_facts.get(before["site"] or "", SiteFacts()) if before else SiteFacts()
            changed = changed_fields(before, {"title": facts.title(item.title)[0], "body": item.body,
                                              "published_at": item.published_at}, self.template_keys) if before else [
                "no earlier version"]
            verdict = (EDITED, "changed: " + ", ".join(changed)) if changed else (UNCHANGED, "same text")
        kind, detail = verdict
        if kind in GONE and response.status in (404, 410):  # a finding, not a failed request (schedule/report.py)
            self.stats.inc_value(f"revisit/gone_http_{response.status}")
        self.record(response.url, kind, detail, response.meta.get("warc_record_id"), before)
        response.meta["revisit_kind"] = kind  # the spider re-checks the files of an article still there
        return item if kind == EDITED else None

    def failed(self, failure: Failure) -> None:
        """No answer (timeout, refused): ``blocked``, never evidence of deletion."""
        request = getattr(failure, "request", None)
        if request is None or failure.check(IgnoreRequest):
            return
        with self.history.engine.connect() as conn:
            before = latest_version(conn, request.url)
        kind = failure.type.__name__ if failure.type else "Error"
        self.record(request.url, BLOCKED, f"{kind}: {failure.getErrorMessage()}"[:500],
                    request.meta.get("warc_record_id"), before)

    def record(self, url: str, kind: str, detail: str, record_id: str | None, before: dict | None) -> None:
        self.stats.inc_value(f"revisit/{kind}")
        writer = archive_writer(self.crawler)
        if writer is None:
            return
        writer.add_event(EventRow(record_id, {
            "url": url, "site": self.spider.site_name, "kind": kind, "detected_at": utc_iso(),
            "crawl_id": getattr(self.spider, "crawl_id", None), "article_id": before["id"] if before else None,
            "previous_capture_id": before["capture_id"] if before else None, "detail": detail,
        }))
        if kind != UNCHANGED:
            logger.info("re-check of %s: %s (%s)", url, kind, detail)
