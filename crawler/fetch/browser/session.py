"""One Playwright-driven Chromium for the whole crawl, bounded in every way that can go wrong.

- One browser process and one browser context (cookies shared by all pages, as in a person's
  browser); at most ``max_pages`` pages open at once.
- A page is done when its main document has loaded and the network has been quiet for
  ``settle`` seconds, or at ``page_timeout`` (then the DOM is taken as it is), or after
  ``max_navigations`` navigations (a challenge that reloads itself forever).
- Every call into the browser has a deadline. A page that will not close (a renderer stuck in
  a script loop) or a browser that died or hangs is killed and started again on the next
  page; after ``MAX_RESTARTS`` restarts the browser is given up for the crawl.

Playwright is imported here only, when a page first needs the browser.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from crawler.fetch.browser.chromium import BrowserStartError, ChromiumProcess, tree_memory
from crawler.fetch.browser.network import Document, PageTraffic

logger = logging.getLogger(__name__)

OPERATION_TIMEOUT = 10.0  # opening, reading or closing a page; connecting to the browser
MAX_RESTARTS = 10
MEMORY_EVERY = 2.0  # seconds between two readings of the browser's memory (a /proc scan)


class BrowserGone(RuntimeError):
    """The browser cannot be used any more in this crawl (it would not start, or kept dying)."""


@dataclass
class Rendered:
    """What one page became in the browser."""

    url: str
    dom: str | None
    traffic: PageTraffic
    cookies: list[dict]
    navigations: int
    timed_out: bool = False
    error: str | None = None
    crashed: bool = False  # its renderer died (out of script heap, say)

    @property
    def document(self) -> Document | None:
        """The last main-frame document the page received (what the page is)."""
        return self.traffic.documents[-1] if self.traffic.documents else None


class _Tab:
    """One page of the browser, reused from render to render; its route handler and navigation
    counter serve whichever render holds it (``traffic``), and refuse everything in between."""

    def __init__(self, page: Any, generation: int) -> None:
        self.page, self.generation = page, generation
        self.traffic: PageTraffic | None = None
        self.navigations = 0
        self.crashed = False

    def crash(self, _page: Any) -> None:
        self.crashed = True

    async def handle(self, route: Any) -> None:
        traffic = self.traffic
        if traffic is None:
            try:
                await route.abort("blockedbyclient")
            except Exception:  # noqa: BLE001 - the page is going away
                pass
            return
        await traffic.handle(route)

    def navigated(self, frame: Any) -> None:
        if frame == self.page.main_frame and self.traffic is not None:
            self.navigations += 1
            self.traffic.last_activity = time.monotonic()


def _close_popup(page: Any) -> None:
    """A window a page opens is no page of the crawl's (and its requests would not be routed)."""
    asyncio.ensure_future(page.close())


class BrowserSession:
    def __init__(self, executable: str, max_pages: int, page_timeout: float, settle: float,
                 max_navigations: int) -> None:
        self.executable = executable
        self.page_timeout, self.settle, self.max_navigations = page_timeout, settle, max_navigations
        self.max_pages = max_pages
        self.restarts = 0
        self.version: str | None = None
        self.user_agent: str | None = None
        self.peak_rss = self.peak_pss = 0
        self._pages = asyncio.Semaphore(max_pages)
        self._lock = asyncio.Lock()
        self._playwright: Any = None
        self._chromium: ChromiumProcess | None = None
        self._browser: Any = None
        self._context: Any = None
        self._closed = False
        self._idle: list[_Tab] = []
        self._generation = 0
        self._sampled = 0.0

    @property
    def pid(self) -> int | None:
        return self._chromium.pid if self._chromium is not None else None

    async def _ensure(self) -> Any:
        """The live browser context, starting (or restarting) the browser when needed."""
        async with self._lock:
            if self._closed:
                raise BrowserGone("the crawl is closing")
            if self._context is not None and self._chromium is not None and self._chromium.alive() \
                    and self._browser.is_connected():
                return self._context
            if self._chromium is not None:
                await self._stop_browser()
                self.restarts += 1
                if self.restarts > MAX_RESTARTS:
                    raise BrowserGone(f"the browser died {self.restarts} times")
                logger.warning("browser gone; starting it again (restart %d)", self.restarts)
            try:
                await self._start()
            except Exception as exc:
                if self._chromium is not None:
                    self._chromium.kill()
                self._browser = self._context = None
                if isinstance(exc, BrowserStartError):
                    raise
                raise BrowserStartError(f"{type(exc).__name__}: {exc}") from exc
            return self._context

    async def _start(self) -> None:
        """Chromium, Playwright connected to it, and the crawl's browser context."""
        from playwright.async_api import async_playwright

        # Playwright's driver and the browser start side by side (each takes a second or two).
        # As many renderer processes as pages (Chromium would keep spares and old ones).
        chromium = ChromiumProcess.start(self.executable, [f"--renderer-process-limit={self.max_pages}"])
        if self._playwright is None:
            driver, started = await asyncio.gather(asyncio.wait_for(async_playwright().start(), 60), chromium,
                                                   return_exceptions=True)
            if not isinstance(driver, BaseException):
                self._playwright = driver  # stopped by close(), whatever happened to the browser
            if isinstance(started, ChromiumProcess):
                self._chromium = started  # killed by _ensure if the rest fails
            for outcome in (driver, started):
                if isinstance(outcome, BaseException):
                    raise outcome
        else:
            self._chromium = await chromium
        self._generation += 1
        self._idle.clear()
        self._browser = await asyncio.wait_for(
            self._playwright.chromium.connect_over_cdp(self._chromium.endpoint), OPERATION_TIMEOUT * 3)
        for default in self._browser.contexts:  # the blank tab Chromium opens: a renderer for nothing
            for page in default.pages:
                await asyncio.wait_for(page.close(), OPERATION_TIMEOUT)
        self._context = await asyncio.wait_for(self._browser.new_context(
            service_workers="block", accept_downloads=False, locale="zh-CN"), OPERATION_TIMEOUT)
        if self.version is None:
            cdp = await self._browser.new_browser_cdp_session()
            info = await asyncio.wait_for(cdp.send("Browser.getVersion"), OPERATION_TIMEOUT)
            self.version, self.user_agent = info.get("product"), info.get("userAgent")
            await cdp.detach()
            logger.info("browser started: %s (pid %d), at most %d pages at once",
                        self.version, self._chromium.pid, self.max_pages)

    async def render(self, url: str, traffic: PageTraffic) -> Rendered:
        """Open ``url`` in a page, let it settle, read its DOM and the context's cookies."""
        async with self._pages:
            context = await self._ensure()
            tab = None
            moments = [time.monotonic()]
            timed_out = reuse = False
            try:
                tab = await self._tab(context)
                tab.traffic, tab.navigations = traffic, 0
                moments.append(time.monotonic())
                try:
                    await asyncio.wait_for(self._settle(tab, url), self.page_timeout)
                except TimeoutError:
                    timed_out = True
                moments.append(time.monotonic())
                dom = None
                if not traffic.final and traffic.documents:
                    try:
                        dom = await asyncio.wait_for(tab.page.content(), OPERATION_TIMEOUT)
                    except Exception as exc:  # noqa: BLE001 - a stuck or navigating page: no DOM
                        logger.debug("no DOM from %s: %s", url, exc)
                cookies = await asyncio.wait_for(context.cookies(), OPERATION_TIMEOUT)
                # A page that timed out, whose DOM could not be read or whose renderer crashed is
                # closed, not reused.
                reuse = not (timed_out or tab.crashed or (dom is None and not traffic.final))
                return Rendered(tab.page.url, dom, traffic, cookies, tab.navigations, timed_out,
                                crashed=tab.crashed)
            except Exception as exc:  # noqa: BLE001 - the browser failed this page; said by the caller
                return Rendered(url, None, traffic, [], tab.navigations if tab else 0,
                                error=f"{type(exc).__name__}: {exc}")
            finally:
                moments.append(time.monotonic())
                if tab is not None:
                    await self._release(tab, reuse)
                self._sample_memory()
                moments.append(time.monotonic())
                logger.debug("rendered %s in %.2f s (%s)", url, moments[-1] - moments[0],
                             " ".join(f"{b - a:.2f}" for a, b in zip(moments, moments[1:], strict=False)))

    async def _tab(self, context: Any) -> _Tab:
        """An idle page of the running browser, or a new one: pages are reused, as a person
        reuses a tab (a new page costs a renderer's start)."""
        while self._idle:
            tab = self._idle.pop()
            if tab.generation == self._generation and not tab.page.is_closed():
                return tab
        page = await asyncio.wait_for(context.new_page(), OPERATION_TIMEOUT)
        tab = _Tab(page, self._generation)
        page.on("framenavigated", tab.navigated)
        page.on("crash", tab.crash)
        page.on("popup", _close_popup)
        await asyncio.wait_for(page.route("**/*", tab.handle), OPERATION_TIMEOUT)
        return tab

    async def _release(self, tab: _Tab, reuse: bool) -> None:
        """Back to the idle pages, or closed when it misbehaved; a page that will not close (a
        renderer stuck in a script loop) costs a restart of the browser. An idle page stays on
        its document (a navigation elsewhere would start another renderer); whatever its
        scripts still ask for is refused (``_Tab.handle``)."""
        tab.traffic = None
        if reuse and tab.generation == self._generation:
            self._idle.append(tab)
            return
        try:
            await asyncio.wait_for(tab.page.close(run_before_unload=False), OPERATION_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - a renderer that will not close: restart the browser
            if tab.generation == self._generation:
                logger.warning("a browser page would not close (%s); restarting the browser", type(exc).__name__)
                async with self._lock:
                    await self._stop_browser()

    async def _settle(self, tab: _Tab, url: str) -> None:
        traffic = tab.traffic
        assert traffic is not None
        try:
            await tab.page.goto(url, wait_until="commit", timeout=self.page_timeout * 1000)
        except Exception:
            # Aborted on purpose (a non-HTML document) or cut short by the page's own
            # navigation (a challenge that reloads): fine once a document arrived.
            if not traffic.documents:
                raise
        while not traffic.final and not tab.crashed and tab.navigations <= self.max_navigations:
            if traffic.quiet_for(self.settle) and await _ready(tab.page) and traffic.quiet_for(self.settle):
                return
            await asyncio.sleep(0.1)

    def _sample_memory(self) -> None:
        """The browser's memory, read from /proc at most every ``MEMORY_EVERY`` seconds."""
        if time.monotonic() - self._sampled < MEMORY_EVERY:
            return
        self._sampled = time.monotonic()
        if self._chromium is not None and self._chromium.alive():
            rss, pss = tree_memory(self._chromium.pid)
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)

    async def _stop_browser(self) -> None:
        """Kill the browser process (its whole session) and forget the Playwright objects."""
        browser, chromium = self._browser, self._chromium
        self._browser = self._context = None
        if chromium is not None:
            chromium.kill()
        if browser is not None:
            try:
                await asyncio.wait_for(browser.close(), OPERATION_TIMEOUT)
            except Exception:  # noqa: BLE001 - the connection died with the process
                pass

    async def close(self) -> None:
        async with self._lock:
            self._closed = True
            await self._stop_browser()
            self._chromium = None
            if self._playwright is not None:
                try:
                    await asyncio.wait_for(self._playwright.stop(), OPERATION_TIMEOUT)
                except Exception as exc:  # noqa: BLE001 - its driver exits with the crawl anyway
                    logger.debug("playwright did not stop cleanly: %s", exc)
                self._playwright = None


async def _ready(page: Any) -> bool:
    """Has the page's current document finished loading? (False while it navigates or hangs.)"""
    try:
        return await asyncio.wait_for(page.evaluate("document.readyState"), 2.0) == "complete"
    except Exception:  # noqa: BLE001 - navigating, or a renderer busy in a script loop
        return False
