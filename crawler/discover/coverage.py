"""Which channels led to articles: a channel is covered when an article it links to was
archived, whichever page's request fetched that article first.

Scrapy requests a URL once: the first page to link an article gets the request, and a
later page's link to it is dropped as a duplicate. A channel whose articles were all
linked earlier by other pages (the home page's latest news, another channel's sidebar)
never saw one come back through its own requests, and which page links first depends on
timing: such channels were reported "not covered" at random (issue 25). So coverage goes
by links: a channel not yet covered keeps the keys of the URLs it links, and every article
found is checked against them (and remembered, for channels that link it later).

Keys are ``hash(url)`` (in-process only), a few dozen bytes per article: less than what
Scrapy's duplicate filter keeps for the same URLs.
"""

from __future__ import annotations

from collections.abc import Iterable


class ChannelCoverage:
    def __init__(self) -> None:
        self.articles: set[int] = set()  # every article URL found in this crawl
        self.pending: dict[str, set[int]] = {}  # channel not covered yet -> the URLs it links

    def linked(self, channel: str, urls: Iterable[str]) -> bool:
        """``channel`` links ``urls``: is one of them an article found already? Else they are
        kept until one is (``found``)."""
        keys = {hash(url) for url in urls}
        if keys & self.articles:
            self.pending.pop(channel, None)
            return True
        self.pending.setdefault(channel, set()).update(keys)
        return False

    def found(self, urls: Iterable[str]) -> list[str]:
        """An article was archived at ``urls`` (its URL, and where a redirect to it began): the
        channels this covers now."""
        keys = {hash(url) for url in urls}
        self.articles |= keys
        covered = [channel for channel, linked in self.pending.items() if keys & linked]
        for channel in covered:
            del self.pending[channel]
        return covered

    def covered(self, channel: str) -> None:
        """The channel got an article through its own requests: nothing to keep for it."""
        self.pending.pop(channel, None)
