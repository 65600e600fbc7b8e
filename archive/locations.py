"""Where the bytes of a WARC file the index names are: its own directory, or where ``import`` found them.

``captures.warc_file`` holds a file's name. A crawl's files (and files imported with
``--copy``) are in the archive's WARC directory under that name. A file another tool wrote
and ``portal-archive import`` indexed in place has a ``warc_files`` row (migration 0013):
its absolute path, or, for a WARC inside a WACZ, the zip's path and where that entry's
bytes start. Offsets in ``captures`` always count from the start of the WARC itself (as
the CDXJ lines of a WACZ do), so a record is read at ``base + warc_offset`` of ``path``.

Every reader (``Index``, the history a crawl consults, replay exports, ``verify``) asks a
``WarcLocator`` instead of joining the directory and the name itself.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import Connection, Engine, inspect, select

from archive.models import warc_files


@dataclass(frozen=True)
class WarcLocation:
    """A WARC file's bytes: ``size`` bytes of ``path`` from ``base`` (None: to the end)."""

    name: str
    path: Path
    base: int = 0
    size: int | None = None
    imported: bool = False  # a warc_files row says where it is (not the archive's own directory)
    member: str | None = None  # the entry inside a WACZ

    def __str__(self) -> str:
        """How messages name it: the path, and the entry of a WACZ."""
        return f"{self.path}!{self.member}" if self.member else str(self.path)

    @property
    def whole_file(self) -> bool:
        """Is the WARC the whole of ``path`` (not an entry inside a WACZ)?"""
        return self.base == 0 and self.size is None

    def exists(self) -> bool:
        return self.path.exists()

    def length(self) -> int:
        """The WARC's size in bytes (raises OSError when its file is gone)."""
        return self.size if self.size is not None else self.path.stat().st_size

    def open(self) -> BinaryIO:
        """The WARC's bytes as a seekable binary file (offset 0 = the WARC's first byte)."""
        if self.whole_file:
            return open(self.path, "rb")
        return io.BufferedReader(_Window(self.path, self.base, self.length()), 1 << 16)


class _Window(io.RawIOBase):
    """``size`` bytes of a file from ``base``, read as a file of their own."""

    def __init__(self, path: Path, base: int, size: int) -> None:
        self._file = open(path, "rb")  # noqa: SIM115 - closed with the window
        self._base, self._size, self._at = base, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        wanted = min(len(buffer), self._size - self._at)
        if wanted <= 0:
            return 0
        self._file.seek(self._base + self._at)
        count = self._file.readinto(memoryview(buffer)[:wanted])
        self._at += count
        return count

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        start = {os.SEEK_SET: 0, os.SEEK_CUR: self._at, os.SEEK_END: self._size}[whence]
        self._at = max(0, start + offset)
        return self._at

    def tell(self) -> int:
        return self._at

    def close(self) -> None:
        self._file.close()
        super().close()


def imported_locations(conn: Connection) -> dict[str, WarcLocation]:
    """Every file ``import`` left where it was, by name (none on an index older than 0013)."""
    if not inspect(conn).has_table("warc_files"):
        return {}
    rows = conn.execute(select(warc_files.c.name, warc_files.c.path, warc_files.c.base_offset, warc_files.c.size,
                               warc_files.c.member).where(warc_files.c.path.isnot(None)))
    return {row.name: WarcLocation(row.name, Path(row.path), row.base_offset or 0,
                                   row.size if row.member is not None else None, True, row.member)
            for row in rows}


class WarcLocator:
    """``locate(name)``: where a file named in ``captures.warc_file`` is (read once, kept)."""

    def __init__(self, source: Engine | Connection, warc_dir: Path) -> None:
        self.source, self.warc_dir = source, Path(warc_dir)
        self._imported: dict[str, WarcLocation] | None = None

    def imported(self) -> dict[str, WarcLocation]:
        if self._imported is None:
            if isinstance(self.source, Connection):
                self._imported = imported_locations(self.source)
            else:
                with self.source.connect() as conn:
                    self._imported = imported_locations(conn)
        return self._imported

    def __call__(self, name: str) -> WarcLocation:
        found = self.imported().get(name)
        return found if found is not None else WarcLocation(name, self.warc_dir / name)
