from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from support import run_crawl

from demo.server import DemoServer
from demo.site import Site, build_site

# CI's promises (no quiet skips; every index-touching test marked `index`): tests/ci_guard.py.
pytest_plugins = ["ci_guard", "pytester"]


@cache
def scoped_fixtures(path: Path) -> frozenset[str]:
    """Names of the fixtures ``path`` defines with module or session scope (read from its source)."""
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call) and ast.unparse(decorator.func) == "pytest.fixture" and any(
                        keyword.arg == "scope" and ast.unparse(keyword.value) in ("'module'", "'session'")
                        for keyword in decorator.keywords):
                    names.add(node.name)
    return frozenset(names)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`--dist loadgroup`, scripts/test), every worker has a session of its
    own, so a module- or session-scoped fixture would crawl once per worker that needs it.
    Tests that share one (here: conftest's portals; a module's own) run on one worker; the
    others go wherever a worker is free. A test may name its group itself (xdist_group)."""
    shared = scoped_fixtures(Path(__file__))
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue
        names = set(getattr(item, "fixturenames", ()))
        if names & shared:
            group = "conftest-portals"
        elif names & scoped_fixtures(Path(item.fspath)):
            group = Path(item.fspath).stem
        else:
            continue
        item.add_marker(pytest.mark.xdist_group(group))


@dataclass
class CrawledPortal:
    """A demo portal served on loopback and the archive one generic crawl made of it."""

    site: Site
    server: DemoServer
    archive: Path
    log: str

    def requested(self) -> list[str]:
        return [entry.path for entry in self.server.requests]


def _crawl(tmp_path_factory: pytest.TempPathFactory, style: str) -> Iterator[CrawledPortal]:
    site = build_site(style=style)
    archive = tmp_path_factory.mktemp(f"archive-{style}")
    with DemoServer(site) as server:
        result = run_crawl(archive, f"start_url={server.url}")
        yield CrawledPortal(site, server, archive, result.stderr)


@pytest.fixture(scope="session")
def trs_portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrawledPortal]:
    """The TRS-style demo portal, crawled without a site profile (a portal never seen)."""
    yield from _crawl(tmp_path_factory, "trs")


@pytest.fixture(scope="session")
def art_portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrawledPortal]:
    """The other CMS style, to show nothing depends on one template."""
    yield from _crawl(tmp_path_factory, "art")
