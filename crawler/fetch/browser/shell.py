"""Is this HTML page a script shell: a page whose scripts, not its markup, hold the content?

A script-rendered portal serves the same near-empty page for every URL (``<div id="app">加载中…
</div><script src="/static/app.js">``); its lists and articles arrive as JSON that the script
asks for. Plain requests archive the shell and find nothing to follow, so the portal would be
missed in silence. A page is a shell when all three hold:

- little visible text (under ``MAX_TEXT`` characters: a title, "loading", a footer line);
- nothing to follow: no link, script pager, endpoint or embedded record in scope;
- scripts that can load data: an external ``<script src>``, or an inline script that calls
  ``fetch``, ``XMLHttpRequest``, jQuery's ajax helpers, axios, or mounts a Vue/React app.

Runs in the page worker on the parsed page (no browser needed), so a crawl without a browser
still reports the page (crawler/fetch/browser/escalation.py puts it in ``uncovered``).
"""

from __future__ import annotations

from lxml.html import HtmlElement

# A real listing or article page has hundreds of characters of text; a shell, a few dozen.
MAX_TEXT = 200
DATA_CALLS = ("fetch(", "XMLHttpRequest", "$.ajax", "$.get", "$.post", "$.getJSON", ".ajax(", "axios",
              "new Vue", "createApp(", "ReactDOM", ".load(")


def loads_data(root: HtmlElement) -> bool:
    """Does the page have a script that can fetch its content?"""
    for script in root.iter("script"):
        kind = (script.get("type") or "text/javascript").lower()
        if "json" in kind or "template" in kind:
            continue
        if script.get("src"):
            return True
        text = script.text or ""
        if any(call in text for call in DATA_CALLS):
            return True
    return False


def is_script_shell(text: str, root: HtmlElement, followable: int) -> bool:
    """``text``: the page's visible text; ``followable``: links and listing mechanisms found."""
    return followable == 0 and len("".join(text.split())) < MAX_TEXT and loads_data(root)
