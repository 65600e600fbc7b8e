"""Portals only a browser can read: Chromium, driven by Playwright, inside the Scrapy crawl.

Escalation is per host and automatic (crawler/fetch/browser/hosts.py): a challenge page or a script
shell sends a host's pages to the browser; a gate the browser passes hands the host back to
plain requests with the browser's cookies. The browser's own requests go through the crawl's
downloader (crawler/fetch/browser/network.py), so they are archived as received and polite like any
other; the rendered DOM is what the spider extracts from, and is archived as a ``conversion``
record. One bounded Chromium per crawl (crawler/fetch/browser/session.py, chromium.py).
"""
