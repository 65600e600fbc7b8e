"""The house rules a newcomer relies on (issue 23): imports point one way, with no cycle
between the project's modules (function-level and TYPE_CHECKING imports count too), and
``crawler/`` stays a few rooms named for the data flow."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from support import ROOT

PACKAGES = ("crawler", "pipelines", "archive")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Each project module -> the project modules it imports, anywhere in its text."""
    paths = {module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    targets.add(full if full in paths else node.module)
            elif isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
        graph[name] = {target for target in targets if target in paths and target != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_the_projects_modules():
    assert cycles(import_graph()) == []


def test_archive_never_imports_scrapy():
    """archive/ is usable without a crawl (researchers' machines, notebooks): no Scrapy, no Twisted."""
    found = []
    for path in (ROOT / "archive").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom)
                     else [alias.name for alias in node.names] if isinstance(node, ast.Import) else [])
            found += [(module_name(path), name) for name in names if name.split(".")[0] in ("scrapy", "twisted")]
    assert found == []


def test_crawler_is_a_few_rooms_each_on_the_architecture_map():
    entries = sorted(path.name for path in (ROOT / "crawler").iterdir()
                     if path.name != "__pycache__" and not path.name.endswith(".egg-info"))
    assert len(entries) <= 10, entries
    architecture = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    unnamed = [name for name in entries if name != "__init__.py"
               and f"`crawler/{name}{'/' if (ROOT / 'crawler' / name).is_dir() else ''}`" not in architecture]
    assert unnamed == []


def test_every_benchmark_module_imports():
    """A benchmark is run rarely, so a rename elsewhere breaks it unseen until someone needs its
    figures (bench/attachments.py imported a helper bench/crawl.py no longer had)."""
    names = sorted(f"bench.{path.stem}" for path in (ROOT / "bench").glob("*.py") if path.stem != "__init__")
    code = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    result = subprocess.run([sys.executable, "-c", code, *names], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(names) >= 10
