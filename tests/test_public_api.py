"""warcio is used through its public API only (issue 10, item 29).

``RecordBuilder._make_warc_id`` and swapping ``WARCWriter.out`` between records worked
until warcio changed them; a private name can change in any release.
"""

from __future__ import annotations

import ast
from pathlib import Path

import warcio
from support import ROOT

CODE_DIRS = ("archive", "crawler", "pipelines")


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def warcio_private_names() -> set[str]:
    """Every private name warcio defines or uses as an attribute: its private methods, functions,
    classes and instance attributes (``record._something()``, ``writer._write_warc_record``)."""
    names: set[str] = set()
    for path in Path(warcio.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and _private(node.name):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and _private(node.attr):
                names.add(node.attr)
    return names


WARCIO_PRIVATE = warcio_private_names()


def warcio_private_uses(source: str) -> list[str]:
    """Private warcio names a module imports or reads (on a module or class, or on any object:
    a record, a writer), and writes to a writer's ``out``."""
    tree = ast.parse(source)
    warcio_names: set[str] = set()
    # The module's own private names (self._x of its classes): not warcio's, even if warcio has one too.
    own = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}
    own |= {target.attr for node in ast.walk(tree) if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign)
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self"}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "warcio":
            if any(_private(part) for part in (node.module or "").split(".")):
                found.append(f"line {node.lineno}: from {node.module}")
            for alias in node.names:
                warcio_names.add(alias.asname or alias.name)
                if _private(alias.name):
                    found.append(f"line {node.lineno}: imports {alias.name}")
        elif isinstance(node, ast.Import):
            warcio_names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names
                             if alias.name.split(".")[0] == "warcio"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            receiver = node.value.id if isinstance(node.value, ast.Name) else None
            if receiver in warcio_names:
                found.append(f"line {node.lineno}: {receiver}.{node.attr}")
            elif node.attr in WARCIO_PRIVATE and not (receiver in ("self", "cls") and node.attr in own):
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
        if isinstance(node, ast.Assign) and warcio_names:
            # swapping another object's output stream (a WARCWriter's), not setting one's own
            found += [f"line {node.lineno}: assigns .out" for target in node.targets
                      if isinstance(target, ast.Attribute) and target.attr == "out"
                      and not (isinstance(target.value, ast.Name) and target.value.id == "self")]
    return found


def test_the_check_sees_what_item_29_found():
    old = ("from warcio.recordbuilder import RecordBuilder\nfrom warcio.warcwriter import WARCWriter\n"
           "ID = RecordBuilder._make_warc_id\nclass W:\n    def f(self, b):\n        self._builder.out = b\n")
    assert warcio_private_uses(old) == ["line 3: RecordBuilder._make_warc_id", "line 6: assigns .out"]


def test_the_check_sees_private_calls_on_warcio_objects():
    """``obj._private()`` on a record, a writer or an iterator, whatever the variable is called;
    the module's own private methods are not warcio's."""
    calls = ("from warcio.archiveiterator import ArchiveIterator\n"
             "def first(stream):\n    records = ArchiveIterator(stream)\n    return records._next_record(None)\n"
             "def write(writer, record):\n    writer._write_warc_record(writer.out, record)\n"
             "class Own:\n    def _update(self):\n        pass\n    def go(self):\n        self._update()\n")
    assert warcio_private_uses(calls) == ["line 4: records._next_record", "line 6: writer._write_warc_record"]


def test_no_private_warcio_api_in_the_code():
    found = []
    for directory in CODE_DIRS:
        for path in sorted((ROOT / directory).rglob("*.py")):
            found += [f"{path.relative_to(ROOT)} {use}" for use in warcio_private_uses(path.read_text("utf-8"))]
    assert found == []
