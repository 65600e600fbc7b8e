"""Tests that share a module- or session-scoped fixture (a crawl, mostly) run on one
pytest-xdist worker, one after another, so the crawl is made once (`--dist loadgroup`,
scripts/test). Checked by tests/test_ci_guard.py: with a pytest whose node ids xdist cannot
tag (9.2, pytest-xdist#1386) the groups silently vanish and every test crawls again.
Modules with slow tests are handed out first, so no long crawl is left for the end of a pass."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest


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


@pytest.hookimpl(tryfirst=True)  # before xdist's worker reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`--dist loadgroup`, scripts/test), every worker has a session of its
    own, so a module- or session-scoped fixture would crawl once per worker that needs it.
    Tests that share one (here: conftest's portals; a module's own) run on one worker; the
    others go wherever a worker is free. A test may name its group itself (xdist_group)."""
    shared = scoped_fixtures(Path(__file__).with_name("conftest.py"))
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
    # Modules with a slow test first (stable: each module's tests stay together, in their
    # order): xdist hands work out in this order, so the long crawls start early and the quick
    # tests fill the end of the pass, instead of one worker running a 45 s test alone at the end.
    has_slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in has_slow)
