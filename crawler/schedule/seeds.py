"""Seed lists: the portals one crawl covers (``scrapy crawl portal -a sites=FILE``).

Two formats, told apart by the file name:

- ``*.toml``: one ``[[site]]`` table per portal::

      [[site]]
      start_url = "http://www.example.gov.cn/"   # required unless a profile gives it
      profile = "demo"            # optional: crawler/spiders/sites/NAME.toml (patterns, hosts, start URLs)
      hosts = ["cdn.example.gov.cn"]   # optional: more hosts of the same portal
      label = "示例消防网"          # optional: a human name, shown in the summary
      name = "example"            # optional: the site key in the index (default: profile or host)

- anything else: plain text, one start URL per line; blank lines and ``#`` comments ignored.

``seeds/example.toml`` is a documented example. A bad entry is one clear
error naming the file and entry, never a traceback.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


class SeedError(ValueError):
    """A seed list that cannot be used, with a message fit for the user."""


@dataclass(frozen=True)
class Seed:
    start_url: str
    profile: str | None = None
    hosts: list[str] = field(default_factory=list)
    label: str | None = None
    name: str | None = None


def checked_url(url: object, where: str) -> str:
    if not isinstance(url, str) or not url.strip():
        raise SeedError(f"{where}: start_url must be a non-empty string")
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise SeedError(f"{where}: start_url must be an http(s) URL with a host, not {url!r}")
    return url


def portal_key(url: str) -> tuple[str, int | None]:
    """What makes two start URLs the same portal: the host and the port (default ports
    alike). Scope is per host, so a second seed on the same host would only ever find its
    pages already requested by the first, and archive nothing of its own."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return (parts.hostname or "").lower().rstrip("."), None if port == default else port


def refuse_duplicates(seeds: list[Seed], wheres: list[str]) -> None:
    """One clear error naming both entries when a seed list names a portal twice."""
    first: dict[tuple[str, int | None], int] = {}
    for number, seed in enumerate(seeds):
        if not seed.start_url:
            continue
        key = portal_key(seed.start_url)
        if key in first:
            earlier = first[key]
            raise SeedError(f"{wheres[number]} names the same portal as {wheres[earlier]} "
                            f"({seeds[earlier].start_url} and {seed.start_url}): list it once")
        first[key] = number


def parse_text(text: str, source: str = "<seeds>") -> list[Seed]:
    seeds, wheres = [], []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line and not line.startswith("#"):
            wheres.append(f"{source} line {number}")
            seeds.append(Seed(checked_url(line, wheres[-1])))
    refuse_duplicates(seeds, wheres)
    return seeds


def parse_toml(text: str, source: str = "<seeds>") -> list[Seed]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SeedError(f"{source}: not valid TOML: {error}") from None
    entries = data.get("site")
    if not isinstance(entries, list):
        raise SeedError(f"{source}: no [[site]] entries")
    seeds, wheres = [], []
    known = {"start_url", "profile", "hosts", "label", "name"}
    for number, entry in enumerate(entries, 1):
        where = f"{source} [[site]] #{number}"
        wheres.append(where)
        unknown = set(entry) - known
        if unknown:
            raise SeedError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
        hosts = entry.get("hosts", [])
        if not isinstance(hosts, list) or not all(isinstance(host, str) for host in hosts):
            raise SeedError(f"{where}: hosts must be a list of host names")
        profile = entry.get("profile") or None
        if profile is not None and not isinstance(profile, str):
            raise SeedError(f"{where}: profile must be a name from crawler/spiders/sites/")
        url = entry.get("start_url")
        seeds.append(Seed(
            # A profile alone brings its own start URLs.
            start_url=checked_url(url, where) if url is not None or profile is None else "",
            profile=profile,
            hosts=hosts,
            label=entry.get("label") or None,
            name=entry.get("name") or None,
        ))
    refuse_duplicates(seeds, wheres)
    return seeds


def load_seeds(path: str | Path) -> list[Seed]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise SeedError(f"cannot read seed list {path}: {error}") from None
    seeds = parse_toml(text, str(path)) if path.suffix.lower() == ".toml" else parse_text(text, str(path))
    if not seeds:
        raise SeedError(f"seed list {path} names no portal")
    return seeds
