"""warcio is used through its public API only (issue 10, item 29).

``RecordBuilder._make_warc_id`` and swapping ``WARCWriter.out`` between records worked
until warcio changed them; a private name can change in any release.
"""

from __future__ import annotations

import ast

from support import ROOT

CODE_DIRS = ("archive", "crawler", "pipelines")


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def warcio_private_uses(source: str) -> list[str]:
    """Private warcio names a module imports or reads, and writes to a writer's ``out``."""
    tree = ast.parse(source)
    warcio_names: set[str] = set()
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
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in warcio_names \
                and _private(node.attr):
            found.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
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


def test_no_private_warcio_api_in_the_code():
    found = []
    for directory in CODE_DIRS:
        for path in sorted((ROOT / directory).rglob("*.py")):
            found += [f"{path.relative_to(ROOT)} {use}" for use in warcio_private_uses(path.read_text("utf-8"))]
    assert found == []
