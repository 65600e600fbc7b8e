"""Data files shipped inside the packages, as real paths, even when the code runs from a zip.

scrapyd runs a deployed project from its egg, a zip file: ``Path(__file__).parent / name``
then names nothing on disk, and Alembic (which reads its migrations directory by path)
cannot start. ``package_path`` returns the real path when the package is on disk, and
otherwise extracts the files once into a per-user cache directory, named by their content,
so several crawl processes share one copy and a new egg gets a new one.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import os
import shutil
import tempfile
from importlib.resources.abc import Traversable
from pathlib import Path


def _files(node: Traversable, prefix: str = "") -> list[tuple[str, bytes]]:
    if node.is_file():
        return [(prefix or node.name, node.read_bytes())]
    out = []
    for child in sorted(node.iterdir(), key=lambda item: item.name):
        if child.name == "__pycache__":
            continue
        out.extend(_files(child, f"{prefix}/{child.name}" if prefix else child.name))
    return out


def package_path(package: str, *parts: str) -> Path:
    """The file or directory ``parts`` inside ``package``, on disk."""
    node = importlib.resources.files(package).joinpath(*parts)
    if isinstance(node, Path):
        return node
    files = _files(node, "" if node.is_dir() else node.name)
    digest = hashlib.sha256()
    for name, data in files:
        digest.update(name.encode() + b"\0" + data + b"\0")
    cache = Path(tempfile.gettempdir()) / f"portal-archiver-{os.getuid()}" / digest.hexdigest()[:16]
    target = cache / parts[-1]
    if not cache.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=cache.parent))
        base = staging / parts[-1] if node.is_dir() else staging
        for name, data in files:
            path = base / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        try:
            staging.rename(cache)
        except OSError:  # another process extracted the same files first
            shutil.rmtree(staging, ignore_errors=True)
    return target
