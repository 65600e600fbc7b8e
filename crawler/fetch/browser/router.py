"""Per crawl: which requests go to the browser, the browser's pages as Scrapy responses, and
what the crawl says about it.

Three Scrapy components share one ``BrowserRouter`` (``browser_router(crawler)``):

- ``BrowserMiddleware`` (crawler/fetch/browser/middleware.py) asks ``on_request`` / ``on_response``:
  a challenge on a plain answer sends the page to the browser; handed-off hosts get the
  browser's cookies and user agent; browser hosts' pages are marked for the browser.
- ``BrowserDownloadHandler`` (crawler/fetch/browser/handler.py) calls ``render`` for a marked
  request: the page is opened in Chromium, every request it makes goes through the crawl's
  downloader (crawler/fetch/browser/network.py, archived by the capture hook as it arrives), and
  the answer is the rendered DOM (flags ``browser``, ``rendered``), which the capture hook
  stores as a ``conversion`` record and the spider extracts from.
- the spider calls ``page_processed`` with each parsed page: a script shell goes to the
  browser (or, without one, is reported), and what a shell rendered into is judged.

Marked requests wait in their own download slot (``BROWSER_SLOT``), at most
``BROWSER_MAX_PAGES`` at a time, so they hold none of a host's connections: the host's
connections are for the page's own requests, which keep DOWNLOAD_DELAY, the per-host limit
and robots.txt like any other.
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import HtmlResponse, Response
from scrapy.http.request import NO_CALLBACK

from archive.challenges import challenge_kind
from crawler.capture.requisites import SCRIPT, Requisite
from crawler.capture.workers import is_html
from crawler.discover.families import is_counter
from crawler.fetch.browser.chromium import INSTALL_HINT, BrowserStartError, find_chromium, playwright_installed
from crawler.fetch.browser.hosts import BROWSER, HANDOFF, HostRoutes
from crawler.fetch.browser.network import STATIC_KINDS, PageTraffic, StaticCache, SubRequest
from crawler.fetch.browser.session import BrowserGone, BrowserSession

logger = logging.getLogger(__name__)

BROWSER_SLOT = "<browser>"
# request.meta keys: a page for the browser; a request the browser made (its product/version).
PAGE, SUB = "browser", "browser_sub"
_DROPPED_HEADERS = {"host", "content-length", "connection"}
# Meta a shell's browser request keeps from the page it re-fetches.
_KEPT_META = ("site", "depth", "revisit")

_routers: weakref.WeakKeyDictionary[Crawler, BrowserRouter] = weakref.WeakKeyDictionary()


def browser_router(crawler: Crawler) -> BrowserRouter:
    """The crawl's router (made on first use: the middleware, the handler and the spider share it)."""
    router = _routers.get(crawler)
    if router is None:
        router = _routers[crawler] = BrowserRouter(crawler)
    return router


class BrowserUnavailable(RuntimeError):
    """No browser can be used in this crawl; the request goes out plain."""


class BrowserPageError(RuntimeError):
    """The browser could not load a page (its document did not arrive)."""


def _host(url: str) -> str:
    return urlsplit(url).netloc.lower()


class BrowserRouter:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.routes = HostRoutes(handoff_min_pages=settings.getint("BROWSER_HANDOFF_MIN_PAGES"),
                                 shell_trials=settings.getint("BROWSER_SHELL_TRIALS"),
                                 forced=tuple(pattern.lower() for pattern in settings.getlist("BROWSER_HOSTS")))
        self.executable = find_chromium(settings.get("BROWSER_EXECUTABLE"))
        self.unavailable = self._why_unavailable(settings)
        self.cache = StaticCache()
        self.session: BrowserSession | None = None
        self._logged: set[tuple[str, str]] = set()
        self._published: set[str] = set()
        self._closed = False

    @property
    def stats(self) -> Any:
        """The crawl's stats (read when used: the spider makes its router before Scrapy makes them)."""
        return self.crawler.stats

    # --- is there a browser? ---------------------------------------------------------------

    def _why_unavailable(self, settings: Any) -> str | None:
        if not settings.getbool("BROWSER_ENABLED"):
            return "BROWSER_ENABLED is off"
        if not playwright_installed():
            return "Playwright for Python is not installed"
        if self.executable is None:
            configured = settings.get("BROWSER_EXECUTABLE")
            return f"no {configured!r} found" if configured else "no Chromium found on PATH"
        return None

    @property
    def usable(self) -> bool:
        return self.unavailable is None

    def install_command(self) -> str:
        if self.unavailable == "BROWSER_ENABLED is off":
            return "-s BROWSER_ENABLED=1"
        parts = [] if playwright_installed() else ["pip install 'playwright>=1.40'"]
        if self.executable is None:
            parts.append(INSTALL_HINT)
        return " && ".join(parts) or "check BROWSER_EXECUTABLE"

    def _session(self) -> BrowserSession:
        if self.session is None:
            settings = self.crawler.settings
            assert self.executable is not None
            self.session = BrowserSession(
                self.executable, settings.getint("BROWSER_MAX_PAGES"), settings.getfloat("BROWSER_PAGE_TIMEOUT"),
                settings.getfloat("BROWSER_SETTLE"), settings.getint("BROWSER_MAX_NAVIGATIONS"))
        return self.session

    def _give_up(self, why: str) -> None:
        if self.unavailable is None:
            self.unavailable = why
            logger.error("browser unavailable for the rest of this crawl: %s", why)

    # --- decisions for the downloader middleware -----------------------------------------------

    def on_request(self, request: Request) -> None:
        """Mark a browser host's page for the browser; give a handed-off host's request its cookies."""
        if request.meta.get(SUB):
            return
        if request.meta.get(PAGE):
            if not self.usable:  # the browser went away since: a plain request, in its host's slot
                for key in (PAGE, "download_slot", "autothrottle_dont_adjust_delay"):
                    request.meta.pop(key, None)
            return
        host = _host(request.url)
        route = self.routes.route(host)
        if route.mode == BROWSER:
            self._note_need(host, route.why or "browser")
            if self.usable and _page_request(request):
                _mark(request.meta)
                return
        if route.cookies:
            parts = urlsplit(request.url)
            header = self.routes.cookie_header(host, parts.path or "/", parts.scheme == "https")
            if header:
                request.headers["Cookie"] = header
            if route.user_agent:
                request.headers["User-Agent"] = route.user_agent

    def on_response(self, request: Request, response: Response) -> Response | Request:
        """A plain answer that is a challenge: the same request again, for the browser."""
        if request.meta.get(PAGE) or request.meta.get(SUB) or "browser" in response.flags:
            return response
        host = _host(request.url)
        kind = challenge_kind(response.status, response.body, response.headers.getlist(b"Set-Cookie"))
        if kind is None:
            self.routes.plain_answer(host)
            return response
        if request.method != "GET" or request.meta.get("requisite") or "endpoint" in request.meta:
            return response
        if not self.usable:
            self._note_need(host, f"{kind} challenge")
            return response
        before = self.routes.route(host).mode
        if not self.routes.challenged(host, kind):
            return response
        self._publish_needs()
        route = self.routes.route(host)
        if before == HANDOFF and route.mode == BROWSER:
            self._say(host, "single-use", logging.INFO, "%s: its %s gate came back after %d plain pages: its tokens "
                      "are single-use, so every page of it goes through the browser", host, kind, route.handoff_pages)
        self.stats.inc_value("browser/escalated/challenge")
        meta = {**request.meta, "browser_gate": kind}
        _mark(meta)
        return request.replace(meta=meta, dont_filter=True)

    # --- the spider's side ----------------------------------------------------------------------

    def page_processed(self, response: Response, shell: bool) -> dict[str, Any] | None:
        """Meta for a browser request of ``response``'s URL when the page is a script shell that
        the browser should render (None otherwise); judges what a rendered shell became."""
        host = _host(response.url)
        if "rendered" in response.flags:
            if response.meta.get("browser_shell") and not self.routes.shell_rendered(host, not shell):
                self._say(host, "shell-plain", logging.INFO, "%s: its script shells render into nothing to follow; "
                          "back to plain requests", host)
            return None
        if not shell or response.status != 200 or "browser" in response.flags:
            return None
        self.stats.inc_value("browser/shells")
        if "scrapy_redis" not in str(self.crawler.settings.get("SCHEDULER")):
            channels = self.stats.get_value("discover/channels")
            if channels is None:
                channels = {}
                self.stats.set_value("discover/channels", channels)
            # Reported as uncovered unless an article is reached from it (through the browser).
            channels.setdefault(response.url, {"fingerprint": "script shell", "articles": 0})
        if not self.usable:
            self._note_need(host, "script shell")
            return None
        if not self.routes.shell(host):
            return None
        self._publish_needs()
        self.stats.inc_value("browser/escalated/shell")
        meta = {key: response.meta[key] for key in _KEPT_META if key in response.meta}
        meta.update({"channel": response.url, "pager": True, "browser_shell": True})
        _mark(meta)
        return meta

    # --- rendering --------------------------------------------------------------------------------

    async def render(self, request: Request) -> Response:
        """The page of ``request`` as the browser sees it (or its document, when the DOM is not
        the page: a challenge not passed, a non-HTML answer, a redirect the browser could not follow)."""
        if not self.usable:
            raise BrowserUnavailable(self.unavailable)
        session = self._session()
        self._own_slot()
        for attempt in (1, 2):
            traffic = PageTraffic(fetch=lambda sub: self._fetch(sub, request),
                                  allow=lambda sub: self._allow(sub, request), cache=self.cache, is_html=is_html)
            try:
                rendered = await session.render(request.url, traffic)
            except (BrowserGone, BrowserStartError) as exc:
                self._give_up(str(exc))
                raise BrowserUnavailable(str(exc)) from exc
            # The browser failed, not the page's server (a crash, a restart under it): once more.
            if not (rendered.error and traffic.failure is None and attempt == 1):
                break
            self.stats.inc_value("browser/retried")
            logger.info("browser: %s failed in the browser (%s); trying it once more", request.url, rendered.error)
        stats = self.stats
        stats.inc_value("browser/pages")
        stats.inc_value("browser/requests", traffic.requests)
        stats.inc_value("browser/cached", traffic.cached)
        for why, count in traffic.refused.items():
            stats.inc_value(f"browser/refused/{why}", count)
        stats.set_value("browser/version", session.version)
        stats.set_value("browser/restarts", session.restarts)
        stats.set_value("browser/peak_pss_mib", round(session.peak_pss / 2**20, 1))
        stats.set_value("browser/peak_rss_mib", round(session.peak_rss / 2**20, 1))
        host = _host(request.url)
        if rendered.timed_out:
            stats.inc_value("browser/timeouts")
            logger.warning("browser: %s did not settle within BROWSER_PAGE_TIMEOUT; %s", request.url,
                           "its DOM is taken as it was" if rendered.dom is not None
                           else "no DOM could be read (a script loop?): its document as served stands for it")
        if rendered.crashed:
            stats.inc_value("browser/crashed_pages")
            logger.warning("browser: %s crashed its renderer (out of memory?); its document as served stands for it",
                           request.url)
        document = rendered.document
        if document is None:
            stats.inc_value("browser/errors")
            raise BrowserPageError(f"the browser could not load {request.url}: "
                                   f"{rendered.error or traffic.failure or 'no document arrived'}")
        raw = document.response
        request.meta["warc_record_id"] = document.record_id
        request.meta["browser_version"] = session.version
        kind = challenge_kind(raw.status, raw.body, raw.headers.getlist(b"Set-Cookie"))
        if kind is not None:
            stats.inc_value("browser/not_passed")
            if self.routes.not_passed(host):
                self._say(host, "not-passed", logging.WARNING, "%s: a plain browser does not get past its %s gate "
                          "either (reported as behind_challenge; nothing here solves CAPTCHAs or evades a block)",
                          host, kind)
            return raw.replace(request=None, flags=[*raw.flags, "browser"])
        gate = request.meta.get("browser_gate")
        before = self.routes.route(host).mode
        self.routes.passed(host, rendered.cookies, session.user_agent or "", gated=bool(gate))
        if gate and before != HANDOFF and self.routes.route(host).mode == HANDOFF:
            stats.inc_value("browser/handoffs")
            self._say(host, "handoff", logging.INFO, "%s: the browser got past its %s gate; plain requests go on "
                      "with the browser's cookies and user agent", host, gate)
        robots = bool(request.meta.get("dont_obey_robotstxt"))
        if rendered.dom is None or not document.html or 300 <= raw.status < 400 or robots:
            return raw.replace(request=None, flags=[*raw.flags, "browser"])
        stats.inc_value("browser/rendered")
        return HtmlResponse(raw.url, status=raw.status, headers={"Content-Type": "text/html; charset=utf-8"},
                            body=rendered.dom.encode("utf-8"), flags=["browser", "rendered"])

    def _own_slot(self) -> None:
        """The browser's download slot queues pages only: as many at once as it opens, no delay
        of its own (the pages' requests keep their hosts' delays)."""
        downloader = getattr(self.crawler.engine, "downloader", None)
        slot = downloader.slots.get(BROWSER_SLOT) if downloader is not None else None
        if slot is not None:
            slot.concurrency = self._session().max_pages
            slot.delay = 0.0

    async def _fetch(self, sub: SubRequest, page: Request) -> Response:
        """One request of the browser's, made by the crawl's downloader."""
        meta: dict[str, Any] = {SUB: (self.session.version if self.session else None) or "Chromium",
                                "resource_type": sub.resource_type, "incremental_checked": True,
                                "dont_redirect": sub.main_frame}
        if page.meta.get("site") is not None:
            meta["site"] = page.meta["site"]
        if page.meta.get("dont_obey_robotstxt"):  # the page is robots.txt behind a gate
            meta["dont_obey_robotstxt"] = True
        headers = [(name, value) for name, value in sub.headers if name.lower() not in _DROPPED_HEADERS]
        request = Request(sub.url, method=sub.method, headers=headers, body=sub.body or None, meta=meta,
                          callback=NO_CALLBACK, dont_filter=True)
        engine = self.crawler.engine
        assert engine is not None
        return await engine.download_async(request)

    def _allow(self, sub: SubRequest, page: Request) -> str | None:
        """Why the browser may not make this request (None: it may); see crawler/fetch/browser/network.py."""
        parts = urlsplit(sub.url)
        if parts.scheme not in ("http", "https"):
            return "scheme"
        if is_counter(sub.url):
            return "hit_counter"
        spider = self.crawler.spider
        fleet = getattr(spider, "fleet", None)
        state = fleet.site_of_host(page) if fleet is not None else None
        if state is None or state.scope.why_not(sub.url) is None:
            return None
        kind = STATIC_KINDS.get(sub.resource_type)
        policy = getattr(spider, "requisites", None)
        if kind is not None and policy is not None:
            if kind == SCRIPT:  # the page needs its scripts, whatever REQUISITES_SCRIPTS says
                policy = replace(policy, enabled=True, kinds=policy.kinds | {SCRIPT})
            if policy.wants(Requisite(sub.url, kind), state.profile.allowed_hosts):
                return None
        return "offsite"

    # --- what the crawl says ----------------------------------------------------------------------

    def _note_need(self, host: str, why: str) -> None:
        route = self.routes.route(host)
        if not route.why:
            route.why = why
        if host not in self._published:
            self._publish_needs()

    def _publish_needs(self) -> None:
        """``browser/needs_browser`` (host -> why), kept current: the crawl summary is taken from it."""
        needs = self.routes.report()
        self._published = set(needs)
        self.stats.set_value("browser/needs_browser", needs)

    def _say(self, host: str, what: str, level: int, message: str, *args: Any) -> None:
        if (host, what) not in self._logged:
            self._logged.add((host, what))
            logger.log(level, message, *args)

    def report(self) -> None:
        """At the end of the crawl: one line naming the hosts that needed a browser they did not get."""
        needs = self.routes.report()
        if needs and not self.usable:
            shown = ", ".join(f"{host} ({why})" for host, why in sorted(needs.items())[:20])
            more = f" and {len(needs) - 20} more" if len(needs) > 20 else ""
            logger.warning("%d host(s) need a browser, and none is available (%s): %s%s; install one with: %s",
                           len(needs), self.unavailable, shown, more, self.install_command())

    async def close(self) -> None:
        if self.session is not None and not self._closed:
            self._closed = True
            session = self.session
            await session.close()
            if session.version:
                logger.info("browser: %d pages, %d requests through the downloader, %d restarts; peak memory of "
                            "its processes %.0f MiB (PSS; RSS summed %.0f MiB)",
                            self.stats.get_value("browser/pages", 0), self.stats.get_value("browser/requests", 0),
                            session.restarts, session.peak_pss / 2**20, session.peak_rss / 2**20)


def _page_request(request: Request) -> bool:
    """A page the browser should open: a GET that is not robots.txt, a requisite or a listing endpoint."""
    return (request.method == "GET" and not request.meta.get("requisite") and "endpoint" not in request.meta
            and not request.meta.get("dont_obey_robotstxt"))


def _mark(meta: dict[str, Any]) -> None:
    meta[PAGE] = True
    meta["download_slot"] = BROWSER_SLOT
    meta["autothrottle_dont_adjust_delay"] = True
