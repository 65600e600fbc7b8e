"""Discovery: how the crawler finds every page of a portal.

- ``links``: ``<a href>``/iframe links, onclick URLs, links inside script-embedded records;
- ``families``: CMS family recognition and each family's listing mechanisms, read from
  ``cms/*.toml`` (data: fingerprints, where records are, how to ask for page N, when to stop);
- ``pagination``: the few generic mechanisms those files configure (script pager sequences,
  paged endpoints answering XML, JSON or HTML fragments);
- ``guard``: requests never to send (hit counters) and anti-bot challenges seen on the way;
- ``traps``: limits against endless URL spaces.
"""
