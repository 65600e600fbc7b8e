"""Where ``-o`` may write: never over the archive's own files, never over an existing file
without ``--force``, never through a symbolic link.

``export -o DIR/index.sqlite`` once replaced the index with CSV, and ``cdxj -o`` onto a WARC
replaced the WARC with text: an output path is checked before anything is opened.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import IO


class OutputRefused(Exception):
    """The output path would destroy something; the message says what and how to proceed."""


def archive_files(index_url: str | None, warc_dir: Path) -> tuple[set[Path], set[Path]]:
    """(files, directories) that belong to the archive: the SQLite index and its companions,
    and the WARC directory."""
    files: set[Path] = set()
    if index_url and index_url.startswith("sqlite:///"):
        database = Path(index_url[len("sqlite:///"):].split("?", 1)[0])
        files = {database.with_name(database.name + suffix) for suffix in ("", "-wal", "-shm", "-journal",
                                                                         ".migrate-lock")}
    return {path.resolve() for path in files}, {warc_dir.resolve()}


def check_output(path: str | Path, protected: tuple[set[Path], set[Path]], force: bool) -> Path:
    """Refuse an output path that is a directory, one of the archive's files, or a file that
    exists (without ``force``); the path to write otherwise."""
    target = Path(path)
    if target.is_dir():
        raise OutputRefused(f"{target} is a directory: -o needs a file name")
    resolved = target.resolve()  # where a write would land, symbolic links followed
    files, directories = protected
    if resolved in files or any(resolved.is_relative_to(directory) for directory in directories):
        raise OutputRefused(f"{target} is one of the archive's own files: choose another output")
    if target.is_symlink():
        raise OutputRefused(f"{target} is a symbolic link: not followed; name the file itself")
    if target.exists() and not force:
        raise OutputRefused(f"{target} exists: add --force to overwrite it")
    return target


def open_output(path: str | Path, protected: tuple[set[Path], set[Path]], force: bool,
                binary: bool = False) -> IO:
    """``check_output``, then open without following a symbolic link (O_NOFOLLOW) and, without
    ``force``, without replacing a file created meanwhile (O_EXCL)."""
    target = check_output(path, protected, force)
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(target, flags, 0o644)
    except FileExistsError:
        raise OutputRefused(f"{target} exists: add --force to overwrite it") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OutputRefused(f"{target} is a symbolic link: not followed; name the file itself") from None
        raise
    if binary:
        return os.fdopen(fd, "wb")
    return os.fdopen(fd, "w", encoding="utf-8", newline="")


def output_directory(path: str | Path, protected: tuple[set[Path], set[Path]]) -> Path:
    """A directory to write files into (each then opened with ``open_output``): made when
    missing; refused when it is a symbolic link, a file, or inside the archive's own files."""
    target = Path(path)
    if target.is_symlink():
        raise OutputRefused(f"{target} is a symbolic link: not followed; name the directory itself")
    if target.exists() and not target.is_dir():
        raise OutputRefused(f"{target} is not a directory")
    resolved = target.resolve()
    files, directories = protected
    if resolved in files or any(resolved.is_relative_to(directory) for directory in directories):
        raise OutputRefused(f"{target} is inside the archive's own files: choose another directory")
    target.mkdir(parents=True, exist_ok=True)
    return target
