"""The spider's side of discovery: requests from what a page's discovery found, endpoint
paging, article continuation pages, and the record of families and channels.

Kept out of ``crawler/spiders/portal.py`` so the spider stays short: PortalSpider mixes
this in and calls ``discovered_requests`` / ``article_found`` from its callbacks.

Channels. A page where a listing mechanism fired (a script pager, embedded records, an
endpoint) is a *channel*; the requests it leads to carry its URL in ``meta["channel"]``,
and every article reached through them counts for it. A channel with no article, and a
page that loads its records from a script endpoint no family reads, are reported in the
crawl summary (``uncovered``) with their fingerprint: an archive must not miss a portal
in silence.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import asdict
from typing import Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy.http import Response, TextResponse

from archive.challenges import challenge_kind
from crawler.discover.coverage import ChannelCoverage
from crawler.discover.families import knowledge
from crawler.discover.links import in_scope
from crawler.discover.pagination import EndpointSpec, next_page, read_endpoint
from crawler.extract.items import ArticleItem
from crawler.schedule.incremental import archived_response

_ENDPOINT_HEADERS = {"X-Requested-With": "XMLHttpRequest",
                     "Accept": "application/json, text/xml, text/javascript, */*; q=0.01"}


def _text(response: Response) -> str:
    if isinstance(response, TextResponse):
        return response.text
    for encoding in ("utf-8", "gb18030"):
        try:
            return response.body.decode(encoding)
        except UnicodeDecodeError:
            continue
    return response.body.decode("utf-8", "replace")


class DiscoveryMixin:
    """Callbacks and bookkeeping for listing mechanisms; needs ``crawler``, ``site_state``
    (a response's portal: its profile and history), ``parse``, ``failed`` and ``page_request``
    from the spider. Every request it makes carries its page's ``meta["site"]``."""

    @staticmethod
    def _site_meta(response: Response) -> dict[str, Any]:
        """The portal a request belongs to (crawler/schedule/fleet.py), passed on from its page."""
        site = response.meta.get("site")
        return {"site": site} if site is not None else {}

    def _stat_dict(self, name: str) -> dict[str, Any]:
        """A dict kept in the crawl stats (so crawls.stats and the summary see it)."""
        stats = self.crawler.stats
        value = stats.get_value(name)
        if value is None:
            value = {}
            stats.set_value(name, value)
        return value

    def recognising(self, url: str) -> bool:
        """Should this page be matched against the family fingerprints? Until its site is
        recognised, for at most DISCOVER_RECOGNISE_PAGES pages (then it is "unknown")."""
        host = urlsplit(url).netloc
        stats = self.crawler.stats
        if stats.get_value(f"discover/family/{host}") is not None:
            return False
        tries = self._stat_dict("discover/recognise_tries")
        tries[host] = tries.get(host, 0) + 1
        limit = self.crawler.settings.getint("DISCOVER_RECOGNISE_PAGES")
        if tries[host] > limit:
            stats.set_value(f"discover/family/{host}", "unknown")
            self.logger.info("site %s: no CMS family recognised in its first %d pages; links only", host, limit)
            return False
        return True

    def note_family(self, url: str, family: str | None, fingerprint: str | None) -> None:
        """Log, once per site, which CMS family it was recognised as (and by what)."""
        if not family:
            return
        host = urlsplit(url).netloc
        stats = self.crawler.stats
        if stats.get_value(f"discover/family/{host}") is None:
            stats.set_value(f"discover/family/{host}", family)
            label = next((f.label for f in knowledge().families if f.name == family), family)
            self.logger.info("site %s recognised as %s (%s), by %r on %s", host, family, label, fingerprint, url)

    def discovered_requests(self, response: Response, result: Any, links: list[str]) -> Iterator[scrapy.Request]:
        """Requests for a processed page: ``links`` (its links and script pager pages, as the
        spider chose to follow them) and its endpoints; notes its family, its channel and
        any script endpoint no family reads."""
        found = result.found
        self.note_family(response.url, found.family, found.fingerprint)
        portal = self.site_state(response)
        if found.family and not portal.family:
            portal.family = found.family  # reported per portal (crawls.stats["sites"])
        channel = response.meta.get("channel") if response.meta.get("pager") else None
        mechanised = bool(found.pages or found.endpoints or found.records)
        if mechanised and not channel:
            channel = response.url
        if channel and not self._shared_frontier():
            state = self._stat_dict("discover/channels").setdefault(
                channel, {"fingerprint": found.mechanism or found.fingerprint or "", "articles": 0})
            if not state["articles"] and self.coverage.linked(channel, links):
                self.article_found_at(channel)
        if found.shells and result.kind != "article":
            # One report per endpoint (a footer widget on every page is named once).
            seen = self._stat_dict("discover/shell_endpoints")
            family = found.family or self.crawler.stats.get_value(
                f"discover/family/{urlsplit(response.url).netloc}") or "unknown"
            for shell in found.shells:
                if shell not in seen:
                    seen[shell] = response.url
                    self._stat_dict("discover/shells")[response.url] = f"{family}: script endpoint {shell}"
        meta = {"channel": channel, **self._site_meta(response)} if channel else self._site_meta(response)
        history = portal.history
        pages = set(found.pages)
        for url in links:
            if channel and history is not None and url in history.known_articles:
                self.article_found_at(channel)
            extra = {"pager": True} if url in pages else {}
            yield self.page_request(url, {**meta, **extra}, history)
        for spec in found.endpoints:
            spec.channel = channel or response.url
            yield self.endpoint_request(spec, self._site_meta(response))

    def _shared_frontier(self) -> bool:
        """With scrapy-redis, a channel's articles may be fetched by another worker: its
        channels are not tallied here (they would look empty)."""
        return "scrapy_redis" in str(self.crawler.settings.get("SCHEDULER"))

    @property
    def coverage(self) -> ChannelCoverage:
        """Which channels linked an article fetched through another page (crawler/discover/coverage.py)."""
        if getattr(self, "_coverage", None) is None:
            self._coverage = ChannelCoverage()
        return self._coverage

    def article_found(self, response: Response) -> None:
        """An article reached from a channel (or, on a re-crawl, a link to a known one) counts for
        it, and for every channel that linked it but found its request already made."""
        if channel := response.meta.get("channel"):
            self.article_found_at(channel)
        if not self._shared_frontier():
            for linked in self.coverage.found([response.url, *response.meta.get("redirect_urls", ())]):
                self.article_found_at(linked)

    def article_found_at(self, channel: str) -> None:
        if not self._shared_frontier():
            channels = self._stat_dict("discover/channels")
            channels.setdefault(channel, {"fingerprint": "", "articles": 0})["articles"] += 1
            self.coverage.covered(channel)

    def endpoint_request(self, spec: EndpointSpec, site: dict[str, Any]) -> scrapy.Request:
        endpoint = knowledge().endpoint(spec.key)
        meta = {"endpoint": asdict(spec), "channel": spec.channel, **site}
        if endpoint.method == "POST":
            return scrapy.FormRequest(spec.url, formdata=spec.form or {}, headers=_ENDPOINT_HEADERS, meta=meta,
                                      callback=self.parse_endpoint, errback=self.failed)
        return scrapy.Request(spec.url, headers=_ENDPOINT_HEADERS, meta=meta, callback=self.parse_endpoint,
                              errback=self.failed)

    async def parse_endpoint(self, response: Response) -> AsyncIterator[scrapy.Request]:
        """One page of a listing endpoint: its article links, then the next page, until a
        page holds no records, the stated page count is reached, or (re-crawl) a page
        holds nothing new."""
        stats = self.crawler.stats
        spec = EndpointSpec(**response.meta["endpoint"])
        known = knowledge()
        endpoint = known.endpoint(spec.key)
        state = self.site_state(response)
        history = state.history
        if response.status == 304 and history is not None:
            response = archived_response(history, response) or response
            stats.inc_value("incremental/not_modified")
        if response.meta.get("challenge") or challenge_kind(response.status, response.body):
            return
        page = read_endpoint(endpoint, _text(response), known.onclick)
        stats.inc_value("pages/endpoint")
        stats.inc_value("discover/endpoint_records", page.records)
        links = [link for link in dict.fromkeys(urljoin(response.url, raw) for raw in page.links)
                 if in_scope(link, state.profile.allowed_hosts)]
        meta = {"channel": spec.channel, **self._site_meta(response)}
        channels = self._stat_dict("discover/channels") if not self._shared_frontier() else {}
        if not channels.get(spec.channel, {}).get("articles") and self.coverage.linked(spec.channel, links):
            self.article_found_at(spec.channel)
        for url in links:
            if history is not None and url in history.known_articles:
                self.article_found_at(spec.channel)
            yield self.page_request(url, dict(meta), history)
        if history is not None and history.complete and links and not history.new_links(links) \
                and not getattr(self, "refresh", False):  # a refresh walks every listing to its end
            stats.inc_value("incremental/pagination_stopped")
            return
        limit = self.crawler.settings.getint("DISCOVER_MAX_ENDPOINT_PAGES")
        following = next_page(endpoint, spec, page, limit)
        if following is not None:
            yield self.endpoint_request(following, self._site_meta(response))

    def continue_article(self, item: ArticleItem, response: Response, pages: list[str]) -> scrapy.Request:
        """Fetch an article's continuation pages one by one; the item goes out after the last."""
        # dont_filter: were it dropped as a duplicate, the article would never be indexed.
        return scrapy.Request(pages[0], callback=self.parse_continuation, errback=self.continuation_failed,
                              dont_filter=True, meta={"article": self._item(item, response),
                                                      "continuations": pages[1:],
                                                      "channel": response.meta.get("channel"),
                                                      **self._site_meta(response)})

    async def parse_continuation(self, response: Response) -> AsyncIterator[Any]:
        """A continuation page (``t20200115_123_1.html``): its text joins the article's row."""
        item: ArticleItem = response.meta["article"]
        if isinstance(response, TextResponse) and not challenge_kind(response.status, response.body):
            result = await self.pages.run(response, self.site_state(response).profile, as_article=True)
            if result.item is not None and result.item.body:
                item.body = f"{item.body}\n{result.item.body}" if item.body else result.item.body
                self.crawler.stats.inc_value("discover/continuation_pages")
            for url in result.links:
                yield self.page_request(url, self._site_meta(response), self.site_state(response).history)
        rest = response.meta.get("continuations") or []
        if rest:
            yield scrapy.Request(rest[0], callback=self.parse_continuation, errback=self.continuation_failed,
                                 dont_filter=True, meta={"article": item, "continuations": rest[1:],
                                                         "channel": response.meta.get("channel"),
                                                         **self._site_meta(response)})
            return
        self.article_found(response)
        yield self._item(item, None)

    def continuation_failed(self, failure: Any) -> Iterator[Any]:
        """A lost continuation page must not lose the article: index what was read."""
        self.failed(failure)
        request = getattr(failure, "request", None)
        if request is not None and "article" in request.meta:
            self.crawler.stats.inc_value("discover/continuation_failed")
            yield self._item(request.meta["article"], None)

    def report_uncovered(self, reason: str) -> None:
        """At the end: one warning per channel or shell the crawl could not cover; a crawl that
        ended early (``reason``: max_pages, a signal) says so once instead: it has not asked
        every channel for its articles."""
        from crawler.schedule.report import discovery_summary

        if reason != "finished":
            channels = len(self.crawler.stats.get_value("discover/channels") or {})
            if channels:
                self.logger.info("channels not checked for coverage: the crawl ended early (%s) with %d channel(s) "
                                 "not walked to their end", reason, channels)
        for where, why in discovery_summary(self.crawler.stats.get_stats(), reason)["uncovered"].items():
            self.logger.warning("not covered: %s: %s", where, why)
