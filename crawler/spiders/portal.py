"""The ``portal`` spider: breadth-first over one portal, yielding an item per article.

    scrapy crawl portal -a start_url=http://www.example.gov.cn/
    scrapy crawl portal -a site=demo -a start_url=http://127.0.0.1:8000/
    scrapy crawl portal -a sites=seeds/example.toml   # many portals, one crawl
    scrapy crawl portal -a site=all                                  # every profile in crawler/spiders/sites/

Arguments (all optional but one of start_url / site / sites): ``refresh=1`` fetches known articles
again (on a crawl of one portal, each is a re-check: crawler/schedule/revisit.py); ``max_pages=N`` and
``max_articles=N`` stop the crawl early (pages are counted as they are sent: crawler/scope/limits.py).
Every response is archived by the capture hook whatever happens here; the spider only decides
what to follow and which pages are articles.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from archive.events import EDITED, UNCHANGED
from archive.history import History
from crawler.capture.attachments import AttachmentReader, attachment_requests
from crawler.capture.hook import archive_writer, existing_index, index_location
from crawler.capture.page_visits import PageVisits
from crawler.capture.requisites import stylesheet_requisites
from crawler.capture.workers import PageProcessor, PageResult, is_html
from crawler.discover.spider import DiscoveryMixin
from crawler.extract import extract_article
from crawler.extract.items import ArticleItem
from crawler.extract.pagekind import LISTING
from crawler.fetch.browser.router import browser_router
from crawler.fetch.hosts import BEST_EFFORT, HostHealth
from crawler.fetch.retry import RetryLater
from crawler.schedule.fleet import Fleet, SiteState, build_sites, close_histories, load_histories, seeds_from_args
from crawler.schedule.incremental import archived_response, next_in_sequence, pagination_key
from crawler.schedule.revisit import Revisits
from crawler.schedule.seeds import Seed
from crawler.schedule.stopping import stop
from crawler.scope.limits import capped_links, decoded_too_large, too_large
from crawler.spiders.profiles import SiteProfile

_TRUE = {"1", "true", "yes", "on"}


class PortalSpider(DiscoveryMixin, scrapy.Spider):
    name = "portal"

    def __init__(self, start_url: str | None = None, site: str | None = None, refresh: str = "0",
                 max_pages: str = "0", max_articles: str = "0", sites: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Every portal of the crawl (crawler/schedule/fleet.py); its scope replaces allowed_domains.
        self.seeds: list[Seed] = seeds_from_args(start_url, site, sites)
        self.fleet = Fleet({})
        self.refresh = str(refresh).lower() in _TRUE
        self.max_pages, self.max_articles = int(max_pages), int(max_articles)
        self.history: History | None = None
        self.revisits: Revisits | None = None
        self._articles_seen = 0
        self.attachments: AttachmentReader | None = None
        # Files of re-checked articles asked for this crawl (one request each, not one per article).
        self._rechecked_files: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> PortalSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.fleet = Fleet(build_sites(spider.seeds, settings), settings.getfloat("SITE_GIVE_UP_AFTER"),
                             HostHealth(settings.getint("HOST_BREAKER_AFTER")))
        first = next(iter(spider.fleet.sites.values()))
        spider.profile: SiteProfile = first.profile
        # crawls.site names the portal of a one-site crawl; a crawl of many keeps them in stats.
        spider.site_name = first.name if len(spider.fleet) == 1 else None
        spider.start_urls = [url for state in spider.fleet.sites.values() for url in state.profile.start_urls]
        spider.pages = PageProcessor(settings.getint("PAGE_WORKERS"), settings.getint("DISCOVER_MAX_PAGER_PAGES"))
        spider.page_maxsize = settings.getint("PAGE_MAXSIZE")
        spider.page_max_links = settings.getint("PAGE_MAX_LINKS")
        spider.visits = PageVisits(settings, crawler)
        spider.browser = browser_router(crawler)
        spider.attachments = AttachmentReader.from_crawler(crawler)
        engine = existing_index(settings) if settings.getbool("INCREMENTAL") else None
        if engine is not None:
            archive_dir, _, _ = index_location(settings)
            load_histories(engine, archive_dir / "warc", spider.fleet.sites)
            history = spider.history = first.history
            if history and len(spider.fleet) == 1:
                # Re-checks of known articles, per crawl of one portal (crawler/schedule/revisit.py):
                # scheduled ones, and every known article a refresh=1 fetches again.
                spider.revisits = Revisits.from_crawler(crawler, spider, history)
            if history:
                spider.logger.info(
                    "incremental crawl: %d pages and %d articles already archived%s", len(history.captured),
                    len(history.known_articles), "" if history.complete else " (last crawl did not finish)",
                )
            else:
                engine.dispose()
        if len(spider.fleet) > 1:
            spider.logger.info("crawling %d portals in one crawl", len(spider.fleet))
        return spider

    def history_for(self, request: scrapy.Request) -> History | None:
        """The incremental history of the site ``request`` belongs to."""
        state = self.fleet.site_for(request)
        return state.history if state is not None else None

    def site_state(self, response: Response) -> SiteState:
        return self.fleet.site_for(response.request) or next(iter(self.fleet.sites.values()))

    def _request(self, url: str, state: SiteState) -> scrapy.Request:
        return scrapy.Request(url, callback=self.parse, errback=self.failed, meta={"site": state.name})

    def page_request(self, url: str, meta: dict[str, Any], history: History | None) -> scrapy.Request:
        """A request for a link: parsed as any page, except a known article fetched again by
        ``refresh=1``, which is a re-check (its answer becomes an article event)."""
        if self.refresh and self.revisits is not None and history is not None and url in history.known_articles:
            return self.revisits.request(url, meta)
        return scrapy.Request(url, callback=self.parse, errback=self.failed, meta=meta)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for state in self.fleet.sites.values():
            for url in state.profile.start_urls:
                yield self._request(url, state)

    async def parse(self, response: Response) -> AsyncIterator[ArticleItem | scrapy.Request]:
        """Any page: its links, then an item if it is an article.

        Non-HTML responses (attachments) are archived by the capture hook and end here;
        challenge pages are archived and flagged, never followed or extracted.
        """
        stats = self.crawler.stats
        state = self.site_state(response)
        changed = response.status != 304
        if response.status == 304 and state.history is not None:
            response = archived_response(state.history, response) or response
            stats.inc_value("incremental/not_modified")
        if not isinstance(response, TextResponse) or not is_html(response):
            await self.read_attachment(response)
            return
        if too_large(response, self.page_maxsize, stats):
            return
        try:
            result = await self.pages.run(response, state.profile, recognise=self.recognising(response.url))
        except Exception:  # noqa: BLE001 - one odd page must not stop the crawl; it is archived anyway
            self.logger.exception("could not process %s (page archived, its links not followed)", response.url)
            stats.inc_value("extract/errors")
            return
        stats.inc_value(f"pages/{result.kind}")
        if result.shell or "rendered" in response.flags:
            # A script shell goes to the browser (crawler/fetch/browser/); without one it is reported.
            meta = self.browser.page_processed(response, result.shell)
            if meta is not None:
                yield scrapy.Request(response.url, callback=self.parse, errback=self.failed, meta=meta,
                                     dont_filter=True)
                return
        follow = self._links_to_follow(response.url, result, state)
        files = result.item.attachments if result.item is not None and self.attachments is not None else []
        if files:  # requested as the article's attachments (any host, conditional on a re-crawl)
            file_set = set(files)
            follow = [link for link in follow if link not in file_set]
        if self.revisits is not None and result.kind == LISTING:
            key = pagination_key(response.url)
            last = not any(pagination_key(link) == key for link in follow if link != response.url)
            await self.revisits.on_listing(response.url, result.links, changed, last)
        links = capped_links(follow, response.url, self.page_max_links, stats)
        for request in self.discovered_requests(response, result, links):
            yield request
        if "browser" not in response.flags:  # the browser fetched what its page uses
            for request in self._requisite_requests(result.requisites[:self.page_max_links or None], state):
                yield request
        for request in attachment_requests(files[:self.page_max_links or None], response.meta.get("site"),
                                           self.parse_attachment, self.failed, state.history):
            yield request
        if result.item is not None:
            if {"dataloss", "download_stopped", "partial"} & set(response.flags):
                stats.inc_value("pages/truncated_article")
                stats.inc_value("articles/dropped/truncated")
                return
            self._articles_seen += 1
            if self.max_articles and self._articles_seen > self.max_articles:
                if self._articles_seen == self.max_articles + 1:
                    self.logger.info("max_articles=%d reached: stopping", self.max_articles)
                    stop(self.crawler, "max_articles")
                return
            # Continuation pages the scope gate would refuse are left out: a request refused
            # there has no errback, and would take the article with it.
            continuations = [url for url in result.continuations if state.scope.why_not(url) is None]
            if continuations:
                yield self.continue_article(result.item, response, continuations)
                return
            self.article_found(response)
            yield self._item(result.item, response, state)

    async def recheck(self, response: Response) -> AsyncIterator[ArticleItem]:
        """A known article checked again (crawler/schedule/revisit.py): an event; the new version if edited.

        With a shared frontier another worker may have sent it; one without re-checks only archives it."""
        if self.revisits is None:
            return
        item = await self.revisits.recheck(response)
        for request in self._recheck_attachments(response, item):
            yield request
        if item is not None:
            yield self._item(item, response, self.site_state(response))

    def _recheck_attachments(self, response: Response, item: ArticleItem | None) -> Iterator[scrapy.Request]:
        """A re-checked article still there (unchanged or edited): its files, asked again
        conditionally (an unchanged one is not downloaded; a changed one is a new version)."""
        if self.attachments is None or response.meta.get("revisit_kind") not in (UNCHANGED, EDITED):
            return
        state = self.site_state(response)
        urls = item.attachments if item is not None else (
            state.history.attachments_of(response.url) if state.history is not None else [])
        urls = [url for url in urls if url not in self._rechecked_files]
        self._rechecked_files.update(urls)
        yield from attachment_requests(urls, response.meta.get("site"), self.parse_attachment, self.failed,
                                       state.history, recheck=True)

    async def parse_attachment(self, response: Response) -> None:
        """An article's file: read (off the reactor) unless unchanged (a 304)."""
        if response.status == 304:
            self.crawler.stats.inc_value("attachments/not_modified")
            return
        await self.read_attachment(response)

    async def read_attachment(self, response: Response) -> None:
        """Any non-HTML response: its text, if it is a document, to the index (crawler/capture/attachments.py)."""
        if self.attachments is None:
            return
        try:
            await self.attachments.read(response, archive_writer(self.crawler))
        except RuntimeError:
            pass  # the writer died: the capture hook is stopping the crawl

    def recheck_failed(self, failure: Failure) -> None:
        if self.revisits is not None:
            self.revisits.failed(failure)

    def parse_requisite(self, response: Response) -> Iterator[scrapy.Request]:
        """A fetched requisite (archived by the capture hook); a stylesheet's own requisites follow."""
        self.crawler.stats.inc_value(f"requisites/{response.meta.get('requisite')}")
        state = self.site_state(response)
        yield from self._requisite_requests(stylesheet_requisites(response, state.history), state)

    def _requisite_requests(self, requisites: list, state: SiteState) -> Iterator[scrapy.Request]:
        """Requests for a page's requisites not requested yet, not blocked, within the caps, in
        their host's requisite slot (crawler/capture/page_visits.py), counted with the page's site."""
        yield from self.visits.requests(requisites, state.profile.allowed_hosts, state.name,
                                        self.parse_requisite, self.failed)

    def failed(self, failure: Failure) -> None:
        """One log line per request given up on (Scrapy would log a traceback)."""
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        if failure.check(RetryLater):
            return  # the retry, scheduled later, carries on (crawler/fetch/retry.py)
        # Skipped on purpose (known article, robots.txt, out of scope, dead host): not an error.
        skipped = bool(failure.check(IgnoreRequest)) and not failure.check(HttpError)
        state = self.fleet.site_for(request) if request is not None else None
        best_effort = request is not None and request.meta.get(BEST_EFFORT)
        if state is not None and not skipped:
            if best_effort:
                state.requisites_failed += 1
            else:
                state.errors += 1
        self.fleet.settle(request)
        if skipped:
            decoded_too_large(failure, url, self.crawler.stats)
            return
        kind = failure.type.__name__ if failure.type else "Error"
        if best_effort:
            # A requisite is best effort: counted, and its dead host has its own log line.
            self.crawler.stats.inc_value(f"requisites/failed/{kind}")
            self.logger.debug("requisite not archived: %s: %s: %s", url, kind, failure.getErrorMessage())
            return
        if failure.check(HttpError):
            self.logger.info("not followed: %s answered HTTP %d (archived)", url, failure.value.response.status)
            return
        self.crawler.stats.inc_value(f"failed/{kind}")
        self.logger.warning("gave up on %s: %s: %s", url, kind, failure.getErrorMessage())

    def _links_to_follow(self, url: str, result: PageResult, state: SiteState) -> list[str]:
        """All links and script pager pages, except that an incremental crawl stops paging
        through a listing once a page of it links to nothing that was never archived.

        A script pager names every page of its listing on each of them. A first crawl
        follows them all from the first page that names them, not again from every other (a
        TRS channel of 1,250 pages would build and filter 1.5 million duplicate requests). An
        incremental crawl walks them one page at a time, so that the stop rule ends the walk
        at the first page with nothing new, instead of fetching all 1,250 every day."""
        own = set(result.links)
        history = state.history
        incremental = history is not None and history.complete and result.kind == LISTING
        signature = None
        if incremental:
            pager = [page for page in next_in_sequence(url, result.found.pages) if page not in own]
        else:
            pager = [page for page in result.found.pages if page not in own]
            signature = (pager[0], pager[-1], len(pager)) if pager else None
            if signature in state.expanded_pagers:
                pager = []
            elif pager and result.found.pager_claimed > self.pages.max_pager_pages:
                self.crawler.stats.inc_value("discover/pager_truncated")
                self.logger.warning("%s: its pager claims %d pages; following the first %d "
                                    "(DISCOVER_MAX_PAGER_PAGES)", url, result.found.pager_claimed,
                                    self.pages.max_pager_pages)
        links = [*result.links, *pager]
        # A refresh wants every known article again: it walks every listing to its end.
        if incremental and not self.refresh and history is not None and not history.new_links(links):
            key = pagination_key(url)
            kept = [link for link in links if pagination_key(link) != key]
            if len(kept) < len(links):
                self.crawler.stats.inc_value("incremental/pagination_stopped")
            links = kept
        if signature is not None and pager and pager[0] in links:  # followed, not stopped
            state.expanded_pagers.add(signature)
        return links

    def parse_article(self, response: Response) -> Iterator[ArticleItem]:
        """Extract one page as an article, whatever its kind (for ``scrapy parse -c``)."""
        if isinstance(response, TextResponse):
            yield self._item(extract_article(response), response, self.site_state(response))

    def closed(self, reason: str) -> None:
        self.report_uncovered(reason)
        self.browser.report()
        self.pages.close()
        if self.attachments is not None:
            self.attachments.close(finished=reason == "finished")
        if isinstance(getattr(self, "state", None), dict):  # JOBDIR: saved for a resumed run
            self.state["fleet"] = self.fleet.snapshot()
        sites = self.fleet.close(reason)
        self.crawler.stats.set_value("sites", sites)
        self.crawler.stats.set_value("hosts", self.fleet.hosts.report())
        if len(sites) > 1:
            for name, site in sites.items():
                self.logger.info("site %s: %d pages, %d new articles, %d errors, stopped: %s", name, site["pages"],
                                 site["articles_new"], site["errors"], site["stopped"])
        close_histories(self.fleet.sites)

    def _item(self, item: ArticleItem, response: Response | None, state: SiteState | None = None) -> ArticleItem:
        """The item with its portal and capture; a continuation's item (no response) keeps both."""
        if state is None and response is not None:
            state = self.site_state(response)
        if state is not None:
            item.site = state.name
        if response is not None:
            item.warc_record_id = response.meta.get("warc_record_id")
        return item
