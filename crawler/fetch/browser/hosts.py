"""Which route each host's requests take: plain Scrapy, plain with the browser's cookies, or the browser.

One small state machine per host (``HostRoute``), no I/O, so that it reads in one sitting and
is tested without a browser:

- ``plain``: every host starts here; everything stays on plain Scrapy requests.
- a challenge (a gate of ``archive/challenges.toml``) on a plain answer sends that page to the
  browser. When the browser gets past the gate, the host is handed off (``handoff``): plain
  requests go on with the browser's cookies and user agent, the fast path.
- a challenge on a handed-off request means the gate came back: the page goes to the browser
  again (fresh cookies). When it comes back after fewer than ``handoff_min_pages`` good plain
  answers, the cookies are single-use tokens and every page of the host goes through the
  browser (``browser``).
- a script shell (crawler/fetch/browser/shell.py), or a host named in ``BROWSER_HOSTS``: every page
  through the browser. A host whose shells render into nothing followable ``shell_trials``
  times is put back to plain requests.
- a gate the browser does not pass: the host is ``blocked`` and never sent to the browser again
  this crawl; its challenges are reported (``behind_challenge``) as before.
"""

from __future__ import annotations

import fnmatch
import time
from dataclasses import dataclass, field

PLAIN, HANDOFF, BROWSER, BLOCKED = "plain", "handoff", "browser", "blocked"


@dataclass
class HostRoute:
    host: str
    mode: str = PLAIN
    # Why the host needed a browser: "jsl challenge", "script shell", "BROWSER_HOSTS" ...
    why: str | None = None
    # The browser's cookies for this host (Playwright's cookie dicts) and its user agent.
    cookies: list[dict] = field(default_factory=list)
    user_agent: str | None = None
    # Good plain answers since the last hand-off.
    handoff_pages: int = 0
    handoffs: int = 0
    # Pages the browser got (a gate passed, a shell rendered).
    passed_pages: int = 0
    shell_failures: int = 0
    shell_successes: int = 0


@dataclass
class HostRoutes:
    """Every host's route for one crawl, and the rules that move a host from one to another."""

    handoff_min_pages: int = 3
    shell_trials: int = 3
    forced: tuple[str, ...] = ()
    hosts: dict[str, HostRoute] = field(default_factory=dict)

    def route(self, host: str) -> HostRoute:
        route = self.hosts.get(host)
        if route is None:
            route = self.hosts[host] = HostRoute(host)
            name = host.rsplit(":", 1)[0] if not host.startswith("[") else host
            if any(fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(host, pattern) for pattern in self.forced):
                route.mode, route.why = BROWSER, "BROWSER_HOSTS"
        return route

    def needs_browser(self, host: str) -> bool:
        return self.route(host).mode == BROWSER

    def challenged(self, host: str, kind: str) -> bool:
        """A plain answer was a challenge: should this page go to the browser?"""
        route = self.route(host)
        if route.mode == BLOCKED:
            return False
        route.why = route.why or f"{kind} challenge"
        if route.mode == HANDOFF and route.handoff_pages < self.handoff_min_pages:
            route.mode, route.why = BROWSER, f"{kind} challenge (single-use tokens)"
        return True

    def plain_answer(self, host: str) -> None:
        """A good plain answer on a handed-off host."""
        route = self.hosts.get(host)
        if route is not None and route.mode == HANDOFF:
            route.handoff_pages += 1

    def passed(self, host: str, cookies: list[dict], user_agent: str, gated: bool) -> None:
        """The browser got a page of the host; with its cookies a gated host goes on plain."""
        route = self.route(host)
        route.passed_pages += 1
        if gated and route.mode in (PLAIN, HANDOFF):
            route.mode = HANDOFF
            route.handoffs += 1
            route.handoff_pages = 0
        route.cookies, route.user_agent = cookies, user_agent

    def not_passed(self, host: str) -> bool:
        """A gate the browser did not pass. On a host where it never got a page, the gate is one
        a plain browser does not pass: the host is not tried again (True). Elsewhere it was
        this page's bad luck (a token another page used first)."""
        route = self.route(host)
        if route.passed_pages or route.mode == BLOCKED:
            return False
        route.mode = BLOCKED
        return True

    def shell(self, host: str) -> bool:
        """A script shell on the host: should it (and the host's later pages) go to the browser?"""
        route = self.route(host)
        if route.mode == BLOCKED or (route.shell_failures >= self.shell_trials and not route.shell_successes):
            return False
        route.why = route.why or "script shell"
        if route.mode == PLAIN:
            route.mode = BROWSER
        return True

    def shell_rendered(self, host: str, filled: bool) -> bool:
        """What a shell rendered into; False when the host goes back to plain requests."""
        route = self.route(host)
        if filled:
            route.shell_successes += 1
            return True
        route.shell_failures += 1
        if route.shell_failures >= self.shell_trials and not route.shell_successes and route.mode == BROWSER \
                and route.why == "script shell":
            route.mode = PLAIN
            return False
        return True

    def cookie_header(self, host: str, url_path: str, secure: bool) -> str | None:
        """The Cookie header a handed-off request carries (the browser's cookies that match)."""
        route = self.hosts.get(host)
        if route is None or not route.cookies:
            return None
        name = host.rsplit(":", 1)[0].lower()
        now = time.time()
        pairs = []
        for cookie in route.cookies:
            domain = str(cookie.get("domain", "")).lstrip(".").lower()
            if domain and name != domain and not name.endswith("." + domain):
                continue
            path = cookie.get("path") or "/"
            if not (url_path == path or url_path.startswith(path.rstrip("/") + "/") or path == "/"):
                continue
            if cookie.get("secure") and not secure:
                continue
            expires = cookie.get("expires", -1)
            if expires not in (None, -1) and expires < now:
                continue
            pairs.append(f"{cookie['name']}={cookie['value']}")
        return "; ".join(pairs) or None

    def report(self) -> dict[str, str]:
        """Host -> why it needed a browser (the ``needs_browser`` stat)."""
        return {host: route.why for host, route in self.hosts.items() if route.why}
