"""What a crawl did, in a few numbers, and whether a scheduler should call it a failure.

The summary goes into ``crawls.stats["summary"]`` and the log; the verdict decides the
exit status of ``scrapy crawl portal`` (see crawler/commands/crawl.py), so cron and scrapyd
see a crawl that archived nothing or mostly failed as failed.
"""

from __future__ import annotations

from typing import Any

from crawler.capture.requisites import ARTICLE_IMAGE, KINDS

# The stats the spider counts per requisite fetched (``requisites/KIND``); the other
# ``requisites/*`` counters (scheduled, blocked, capped, failed) are decisions, not responses.
FETCHED_REQUISITES = (*KINDS, ARTICLE_IMAGE)


def _prefixed(stats: dict[str, Any], prefix: str) -> dict[str, int]:
    return {key[len(prefix):]: value for key, value in stats.items() if key.startswith(prefix)}


# Exceptions that are decisions, not failures: a known article skipped by an incremental
# crawl, a URL robots.txt excludes, a request for a dead host (crawler/fetch/hosts.py), a request
# left unsent by a crawl that was stopping (crawler/schedule/stopping.py). They have their own lines
# in the summary.
NOT_FAILURES = {"IgnoreRequest", "HostSkipped", "StopRequested"}
# Host verdicts that mean "dead for the rest of the run" (crawler/fetch/hosts.py; kept as text here,
# since the summary is read back from crawls.stats without the crawler).
DEAD = ("unresolvable", "unreachable")


def summary(stats: dict[str, Any], reason: str | None = None) -> dict[str, Any]:
    """The crawl in a few numbers; ``errors`` counts failures only (network errors, HTTP 4xx/5xx)."""
    errors = _prefixed(stats, "downloader/exception_type_count/")
    errors = {name.rsplit(".", 1)[-1]: count for name, count in errors.items()}
    errors = {name: count for name, count in errors.items() if name not in NOT_FAILURES}
    for status, count in _prefixed(stats, "downloader/response_status_count/").items():
        # A re-check answered 404/410 found a take-down (an article event), not a failure.
        count -= stats.get(f"revisit/gone_http_{status}", 0)
        if status.startswith(("4", "5")) and count > 0:
            errors[f"http_{status}"] = count
    return {
        # Every response, robots.txt and requisites included; ``requisites`` and ``robots``
        # say how many of them those are.
        "pages": stats.get("response_received_count", 0),
        "requisites": sum(stats.get(f"requisites/{kind}", 0) for kind in FETCHED_REQUISITES),
        "robots": stats.get("robotstxt/response_count", 0),
        "articles_new": stats.get("warc/articles", 0),
        "articles_unchanged": stats.get("incremental/skipped_known", 0) + stats.get("articles/unchanged", 0),
        "revisits": stats.get("warc/revisits", 0),
        "not_modified": stats.get("incremental/not_modified", 0),
        "robots_excluded": stats.get("robotstxt/forbidden", 0),
        "bytes": stats.get("warc/bytes", 0),
        "errors": errors,
        "gave_up": stats.get("retry/max_reached", 0),
        "challenges": stats.get("warc/challenges", 0),
        "truncated": stats.get("warc/truncated", 0),
        "chrome_removed": _prefixed(stats, "chrome/"),
        # Re-checks of known articles (crawler/schedule/revisit.py): due, requests, and one count per kind found.
        "rechecks": _prefixed(stats, "revisit/"),
        "out_of_scope": _prefixed(stats, "scope/"),
        "sites": sites_summary(stats.get("sites") or {}),
        "dead_hosts": dead_hosts(stats.get("hosts") or {}),
        **discovery_summary(stats, reason),
        # Hosts a browser was needed for, and why (crawler/fetch/browser/), whether or not one ran;
        # what the browser did: pages, requests it made through the downloader, restarts ...
        "needs_browser": dict(stats.get("browser/needs_browser") or {}),
        "browser": {key: value for key, value in _prefixed(stats, "browser/").items() if key != "needs_browser"},
    }


def empty_sites(sites: dict[str, Any]) -> list[str]:
    """Sites of the crawl that archived no page (crawls.stats["sites"], crawler/schedule/fleet.py)."""
    return [name for name, site in sites.items() if isinstance(site, dict) and not site.get("pages")]


def sites_summary(sites: dict[str, Any]) -> dict[str, Any]:
    """How many portals the crawl covered and which ones ended badly (details: stats["sites"])."""
    stopped = {name: site.get("stopped") for name, site in sites.items() if isinstance(site, dict)}
    return {
        "total": len(sites),
        "finished": sum(1 for reason in stopped.values() if reason == "finished"),
        "gave_up": sorted(name for name, reason in stopped.items() if str(reason).startswith("gave up")),
        "archived_nothing": sorted(empty_sites(sites)),
    }


def dead_hosts(hosts: dict[str, Any]) -> dict[str, Any]:
    """Each host dead at the end of the crawl (crawler/fetch/hosts.py), with why, its first error and
    the requests skipped for it (crawls.stats["hosts"] also lists hosts that recovered)."""
    return {name: {key: host.get(key) for key in ("verdict", "reason", "first_error", "skipped")}
            for name, host in hosts.items() if isinstance(host, dict) and host.get("verdict") in DEAD}


def discovery_summary(stats: dict[str, Any], reason: str | None = None) -> dict[str, Any]:
    """Which CMS family each site is, what the crawl could not cover, what sits behind a
    challenge, and how many hit-counter requests were never sent (crawler/discover/).

    ``reason``: why the crawl ended, when the stats may not say it yet (Scrapy sets
    ``finish_reason`` in its own spider_closed handler, which may run after ours)."""
    # A crawl stopped early (max_pages, a signal) has not asked every channel for its articles.
    finished = (reason or stats.get("finish_reason")) in (None, "finished")
    uncovered = {channel: f"no articles from this channel (fingerprint {state.get('fingerprint') or 'none'!r})"
                 for channel, state in (stats.get("discover/channels") or {}).items()
                 if finished and not state.get("articles")}
    uncovered.update(stats.get("discover/shells") or {})
    return {
        "families": _prefixed(stats, "discover/family/"),
        "uncovered": uncovered,
        "behind_challenge": dict(stats.get("discover/behind_challenge") or {}),
        "counters_not_requested": stats.get("discover/counter_dropped", 0),
    }


def failure(stats: dict[str, Any], max_error_rate: float, shared_frontier: bool = False) -> str | None:
    """Why the crawl failed, or None.

    With a shared frontier (scrapy-redis), a worker that found nothing left to fetch has
    not failed: the others did the work.
    """
    reason = stats.get("finish_reason")
    if reason == "archive_failed" or stats.get("archive/error"):
        return f"archive failed: {stats.get('archive/error', 'the archive writer failed')}"
    robots = stats.get("robotstxt/response_count", 0)
    if stats.get("warc/captures", 0) <= robots and not shared_frontier:
        return "archived nothing"
    empty = empty_sites(stats.get("sites") or {})
    if empty and not shared_frontier:
        shown = ", ".join(sorted(empty)[:20]) + (" ..." if len(empty) > 20 else "")
        return f"archived nothing from {len(empty)} of {len(stats['sites'])} sites: {shown}"
    # Pages only: best-effort requests (requisites; crawler/fetch/hosts.py) never count, either way.
    requests = stats.get("downloader/request_count", 0) - stats.get("best_effort/request_count", 0)
    failed = stats.get("retry/max_reached", 0)
    if requests and failed / requests > max_error_rate:
        return f"{failed} of {requests} requests failed for good (CRAWL_MAX_ERROR_RATE={max_error_rate})"
    return None


def _size(count: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:,.0f} {unit}" if unit == "bytes" else f"{count:,.1f} {unit}"
        count /= 1000
    return str(count)


def _names(value: Any) -> list[str]:
    """Host or site names from a list, or a dict keyed by them."""
    if isinstance(value, dict):
        return sorted(str(name) for name in value)
    return sorted(str(name) for name in value or ())


def human_summary(stats: dict[str, Any]) -> list[str]:
    """The end of a crawl in a few lines, for people (the log at INFO, and the terminal when
    the log does not show it: crawler/commands/crawl.py). Every number is in ``crawls.stats``."""
    numbers = stats.get("summary") or summary(stats)
    reason = stats.get("finish_reason") or "finished"
    state = "failed" if stats.get("crawl/failed") else ("finished" if reason == "finished" else "stopped early")
    minutes, seconds = divmod(int(stats.get("crawl/elapsed") or 0), 60)
    where = f", archive {stats['crawl/archive']}" if stats.get("crawl/archive") else ""
    lines = [f"crawl {stats.get('crawl/id', '?')} {state} in {minutes // 60}:{minutes % 60:02d}:{seconds:02d}{where}"]
    if reason != "finished":
        lines.append(f"  stopped: {reason}" + (" (interrupted)" if reason == "shutdown" else ""))
    other = numbers.get("requisites", 0) + numbers.get("robots", 0)
    lines.append(f"  pages: {max(0, numbers.get('pages', 0) - other)} (and {numbers.get('requisites', 0)} page "
                 f"requisites, {numbers.get('robots', 0)} robots.txt); {stats.get('warc/captures', 0)} captures, "
                 f"{_size(numbers.get('bytes', 0))}")
    rechecks = numbers.get("rechecks") or {}
    edited = int(rechecks.get("edited", 0))
    parts = [f"{max(0, numbers.get('articles_new', 0) - edited)} new", f"{edited} changed"]
    parts += [f"{rechecks[kind]} {kind}" for kind in ("deleted", "soft-deleted", "redirected-away", "moved", "blocked")
              if rechecks.get(kind)]
    if unchanged := int(rechecks.get("unchanged", 0)) + stats.get("articles/unchanged", 0):
        parts.append(f"{unchanged} unchanged")
    lines.append(f"  articles: {', '.join(parts)}")
    errors = numbers.get("errors") or {}
    total = sum(errors.values())
    shown = ", ".join(f"{kind}: {count}" for kind, count in sorted(errors.items(), key=lambda item: -item[1]))
    lines.append(f"  errors: {total} ({shown})" if total else "  errors: none")
    if dead := _names(numbers.get("dead_hosts")):
        lines.append(f"  dead hosts: {', '.join(dead[:10])}" + (f" … ({len(dead)} in all)" if len(dead) > 10 else ""))
    sites = numbers.get("sites") or {}
    if gave_up := sites.get("gave_up"):
        lines.append(f"  sites given up: {', '.join(gave_up[:10])}" + (" …" if len(gave_up) > 10 else ""))
    if sites.get("total", 0) > 1:
        lines.append(f"  sites: {sites.get('finished', 0)} of {sites['total']} finished")
    if uncovered := numbers.get("uncovered"):
        lines.append(f"  uncovered: {len(uncovered)} channel(s) or page(s), each named in the log and in "
                     "crawls.stats (summary.uncovered)")
    if failed := stats.get("crawl/failed"):
        lines.append(f"  failed: {failed}")
    return lines
