"""Archives: ZIP (zipfile) and RAR (rarfile, when installed): members listed, documents read.

Every member's bytes count against one budget of unpacked bytes for the whole attachment
(``Limits.max_unpacked``), read in chunks so a member that lies about its size stops at
the budget; archives inside archives are read to ``Limits.max_depth``. Chinese member
names written by Windows tools are GBK bytes without zip's UTF-8 flag: they are decoded
as GBK when they are not valid UTF-8.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from crawler.extract.documents.result import (
    CORRUPT,
    ENCRYPTED,
    NO_TEXT,
    OK,
    TOO_LARGE,
    UNSUPPORTED,
    Budget,
    DocumentError,
    DocumentText,
    Limits,
)

_UTF8_FLAG = 0x800
_CHUNK = 1 << 20
# Members too plain to be worth a line of their own: directories, OS litter.
_SKIP = ("__MACOSX/", ".DS_Store", "Thumbs.db")

Reader = Callable[[bytes, Limits, Budget, int], DocumentText]


def member_name(info: zipfile.ZipInfo) -> str:
    """The member's name as its writer meant it: UTF-8, else GBK (Chinese Windows), else as read."""
    if info.flag_bits & _UTF8_FLAG:
        return info.filename
    raw = info.filename.encode("cp437", "replace")
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename


@dataclass
class _Member:
    name: str
    size: int
    encrypted: bool
    # The member's bytes, counted against the budget; raises DocumentError.
    read: Callable[[], bytes]


def _read_bounded(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: Budget, name: str) -> bytes:
    """The member's bytes; its declared size is checked first, and what it really inflates to
    is counted as it comes (a member may lie about its size)."""
    if info.file_size > budget.left:
        budget.take(info.file_size, name)  # raises: over the budget without reading a byte
    chunks = []
    try:
        with archive.open(info) as member:
            while chunk := member.read(_CHUNK):
                budget.take(len(chunk), name)
                chunks.append(chunk)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError) as exc:
        raise DocumentError(CORRUPT, f"{name}: {exc}") from None
    return b"".join(chunks)


def zip_text(data: bytes, limits: Limits, budget: Budget, depth: int, read: Reader) -> DocumentText:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise DocumentError(CORRUPT, f"not a readable zip archive: {exc}") from None

    def members() -> Iterator[_Member]:
        for info in infos:
            name = member_name(info)
            if not info.is_dir() and not any(part in name for part in _SKIP):
                yield _Member(name, info.file_size, bool(info.flag_bits & 0x1),
                              lambda info=info, name=name: _read_bounded(archive, info, budget, name))

    return _read_members("zip", members(), limits, budget, depth, read)


def rar_text(data: bytes, limits: Limits, budget: Budget, depth: int, read: Reader) -> DocumentText:
    try:
        import rarfile
    except ImportError:
        return DocumentText("rar", UNSUPPORTED, error="RAR needs rarfile (pip install 'portal-archiver[attachments]')")
    try:
        archive = rarfile.RarFile(io.BytesIO(data))
        infos = archive.infolist()
    except rarfile.PasswordRequired:
        raise DocumentError(ENCRYPTED, "the RAR archive is encrypted") from None
    except (rarfile.Error, OSError, ValueError, EOFError) as exc:
        raise DocumentError(CORRUPT, f"not a readable RAR archive: {exc}") from None

    def unpack(info) -> bytes:
        budget.take(info.file_size, info.filename)  # the declared size: bounded before unpacking
        try:
            return archive.read(info)
        except rarfile.RarCannotExec:
            raise DocumentError(UNSUPPORTED, "unpacking RAR needs unrar, unar, 7z or bsdtar") from None
        except (rarfile.Error, OSError, ValueError, EOFError) as exc:
            raise DocumentError(CORRUPT, f"{info.filename}: {exc}") from None

    members = (_Member(info.filename, info.file_size, info.needs_password(), lambda info=info: unpack(info))
               for info in infos if not info.is_dir())
    return _read_members("rar", members, limits, budget, depth, read)


def _read_members(kind: str, members: Iterator[_Member], limits: Limits, budget: Budget, depth: int,
                  read: Reader) -> DocumentText:
    """Each member listed; a document member read (depth + 1), its text under a ``== name ==`` line."""
    listed: list[dict] = []
    parts: list[str] = []
    stopped = None
    for member in members:
        if len(listed) >= limits.max_members:
            stopped = f"more than {limits.max_members} members; the rest not read"
            break
        entry = {"name": member.name, "size": member.size, "kind": None, "status": ENCRYPTED}
        listed.append(entry)
        if member.encrypted:
            continue
        try:
            body = member.read()
        except DocumentError as exc:
            entry["status"] = exc.status
            if exc.status in (TOO_LARGE, UNSUPPORTED):
                stopped = str(exc)
            if exc.status == TOO_LARGE:
                break
            continue
        result = read(body, limits, budget, depth + 1)
        entry["kind"], entry["status"] = result.kind, result.status
        if result.text:
            parts.append(f"== {member.name} ==\n{result.text}")
        if result.status == TOO_LARGE:
            stopped = f"{member.name}: {result.error}"
            break
    return _archive_result(kind, listed, parts, stopped, limits)


def _archive_result(kind: str, members: list[dict], parts: list[str], stopped: str | None,
                    limits: Limits) -> DocumentText:
    """ok when any member gave text; else what stopped the reading, or what all members were."""
    text = "\n".join(parts)
    if len(text) > limits.max_chars:
        text, stopped = text[: limits.max_chars], stopped or f"text cut at {limits.max_chars} characters"
    if text:
        return DocumentText(kind, OK, text, None, stopped, members)
    statuses = {member["status"] for member in members}
    if stopped:
        status = TOO_LARGE if TOO_LARGE in statuses or "bytes unpacked" in stopped else UNSUPPORTED
        return DocumentText(kind, status, "", None, stopped, members)
    if statuses == {ENCRYPTED}:
        return DocumentText(kind, ENCRYPTED, "", None, "every member needs a password", members)
    return DocumentText(kind, NO_TEXT, "", None, "no member with text", members)
