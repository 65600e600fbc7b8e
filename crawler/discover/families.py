"""CMS families as data: ``cms/*.toml`` loaded into the dataclasses the mechanisms read.

Each file names one family (TRS, Hanweb, JPaaS, gkmlpt, DedeCMS ...): its fingerprints,
where its records are, how to ask for page N and when to stop, and its hit counters.
``common.toml`` holds what belongs to no family (onclick calls, script endpoints that
mark a shell). Adding a family is adding a file; see docs/architecture.md.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from archive.resources import package_path

CMS_DIR = package_path("crawler.discover", "cms")  # a real directory, even inside an egg
# Case-sensitive on purpose: a literal prefix lets the regex engine skip ahead (re.I would
# make every fingerprint scan the page char by char; patterns use (?i) where they must).
_FLAGS = re.S


@dataclass(frozen=True)
class Sequence:
    """A script states the page count; pages are built from a template (TRS pagers)."""

    pattern: re.Pattern[str]
    first: int
    last_offset: int
    page: str
    page_one: str | None
    precedence: int


@dataclass(frozen=True)
class Endpoint:
    """A paged endpoint a page names (dataproxy.jsp, gkmlpt API, JPaaS unit, IGS)."""

    key: str
    find: re.Pattern[str]
    url: str
    within: re.Pattern[str] | None = None
    context: dict[str, re.Pattern[str]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    json_vars: str | None = None
    method: str = "GET"
    form: str | None = None
    page_param: str | None = None
    param_json: tuple[str, str] | None = None
    window: tuple[str, str, str] | None = None
    window_size: str | None = None
    window_groups: int = 1
    first_page: int | None = None
    response: str = "json"
    items: str | None = None
    url_keys: tuple[str, ...] = ("url",)
    html_key: str | None = None
    total_pages: str | None = None
    total: str | None = None
    per_page: int | None = None


@dataclass(frozen=True)
class Family:
    name: str
    label: str
    priority: int
    fingerprints: tuple[re.Pattern[str], ...]
    markers: tuple[str, ...]
    sequences: tuple[Sequence, ...]
    endpoints: tuple[Endpoint, ...]
    records: tuple[re.Pattern[str], ...]
    counters: tuple[re.Pattern[str], ...]

    def fingerprint(self, text: str) -> str | None:
        """The first fingerprint found in ``text`` (what the log quotes), or None."""
        for pattern in self.fingerprints:
            if match := pattern.search(text):
                return match.group(0)[:80]
        return None

    def active(self, text: str) -> bool:
        """Could this family's mechanisms apply to the page? (a substring test)"""
        return bool(self.sequences or self.endpoints or self.records) and any(m in text for m in self.markers)


@dataclass(frozen=True)
class Knowledge:
    families: tuple[Family, ...]
    onclick: tuple[re.Pattern[str], ...]
    shell_calls: tuple[re.Pattern[str], ...]
    counters: re.Pattern[str] | None

    def endpoint(self, key: str) -> Endpoint:
        name, _, number = key.partition(":")
        return next(family for family in self.families if family.name == name).endpoints[int(number)]


def _endpoint(key: str, data: dict[str, Any]) -> Endpoint:
    def pair(name: str) -> tuple[str, ...] | None:
        return tuple(data[name]) if name in data else None

    return Endpoint(
        key=key, find=re.compile(data["find"], _FLAGS), url=data["url"],
        within=re.compile(data["within"], _FLAGS) if "within" in data else None,
        context={name: re.compile(pattern, _FLAGS) for name, pattern in data.get("context", {}).items()},
        defaults=dict(data.get("defaults", {})), json_vars=data.get("json_vars"),
        method=data.get("method", "GET").upper(), form=data.get("form"), page_param=data.get("page_param"),
        param_json=pair("param_json"), window=pair("window"), window_size=data.get("window_size"),
        window_groups=int(data.get("window_groups", 1)), first_page=data.get("first_page"),
        response=data.get("response", "json"), items=data.get("items"),
        url_keys=tuple(data.get("url_keys", ["url"])), html_key=data.get("html_key"),
        total_pages=data.get("total_pages"), total=data.get("total"), per_page=data.get("per_page"),
    )


def load_family(path: Path) -> Family:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    name = data["name"]
    return Family(
        name=name, label=data.get("label", name), priority=int(data.get("priority", 0)),
        fingerprints=tuple(re.compile(p) for p in data.get("fingerprints", [])),
        markers=tuple(data.get("markers", [])),
        sequences=tuple(
            Sequence(re.compile(s["pattern"], _FLAGS), int(s.get("first", 1)), int(s.get("last_offset", -1)),
                     s["page"], s.get("page_one"), int(s.get("precedence", 1)))
            for s in data.get("sequence", [])),
        endpoints=tuple(_endpoint(f"{name}:{number}", e) for number, e in enumerate(data.get("endpoint", []))),
        records=tuple(re.compile(r["region"], _FLAGS) for r in data.get("records", [])),
        counters=tuple(re.compile(p, re.I) for p in data.get("counters", [])),
    )


@cache
def knowledge(directory: Path = CMS_DIR) -> Knowledge:
    """Every family in ``directory`` (highest priority first) and the common rules."""
    families = sorted((load_family(path) for path in directory.glob("*.toml") if path.stem != "common"),
                      key=lambda family: (-family.priority, family.name))
    common = tomllib.loads((directory / "common.toml").read_text(encoding="utf-8"))
    counters = [pattern.pattern for family in families for pattern in family.counters]
    return Knowledge(
        families=tuple(families),
        onclick=tuple(re.compile(p, _FLAGS) for p in common.get("onclick", [])),
        shell_calls=tuple(re.compile(p, _FLAGS) for p in common.get("shell_calls", [])),
        counters=re.compile("|".join(f"(?:{p})" for p in counters), re.I) if counters else None,
    )


def recognise(text: str, known: Knowledge | None = None) -> tuple[str, str] | None:
    """(family name, the fingerprint found) for a page, or None."""
    for family in (known or knowledge()).families:
        if found := family.fingerprint(text):
            return family.name, found
    return None


def is_counter(url: str, known: Knowledge | None = None) -> bool:
    """Is ``url`` a hit counter (never to be requested: archiving must not change view counts)?"""
    pattern = (known or knowledge()).counters
    return bool(pattern and pattern.search(url))
