"""One document's bytes to its text: sniff the type, hand it to that type's reader.

``extract_document`` runs in the calling process with no time or memory bound of its own:
the crawl calls it through ``crawler.extract.documents.capped.extract_capped``, which runs it in a
child process under the caps. Every way a reader can fail ends as a status here.
"""

from __future__ import annotations

import zipfile

from crawler.extract.documents import sniff as kinds
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
from crawler.extract.documents.text import tidy_lines

_MISSING = "needs {module} (pip install 'portal-archiver[attachments]')"


def extract_document(data: bytes, limits: Limits | None = None) -> DocumentText:
    """The text of one document (any type this package reads), never raising."""
    limits = limits or Limits()
    return _read(data, limits, Budget(limits.max_unpacked), 0)


def _read(data: bytes, limits: Limits, budget: Budget, depth: int) -> DocumentText:
    kind = kinds.sniff(data)
    if depth > limits.max_depth and kind in (kinds.ZIP, kinds.RAR):
        return DocumentText(kind, TOO_LARGE, error=f"archives nested deeper than {limits.max_depth}")
    try:
        return _by_kind(kind, data, limits, budget, depth)
    except DocumentError as exc:
        return DocumentText(kind, exc.status, error=str(exc))
    except ModuleNotFoundError as exc:
        return DocumentText(kind, UNSUPPORTED, error=_MISSING.format(module=exc.name))
    except MemoryError:
        return DocumentText(kind, TOO_LARGE, error="out of memory while reading")
    except RecursionError:
        return DocumentText(kind, CORRUPT, error="the document refers to itself without end (a reference loop)")
    except (zipfile.BadZipFile, EOFError) as exc:
        return DocumentText(kind, CORRUPT, error=f"{type(exc).__name__}: {exc}"[:500])
    except Exception as exc:  # noqa: BLE001 - a library's error on a damaged file is the file's status
        status = ENCRYPTED if "encrypt" in str(exc).lower() or "password" in str(exc).lower() else CORRUPT
        return DocumentText(kind, status, error=f"{type(exc).__module__}.{type(exc).__name__}: {exc}"[:500])


def _by_kind(kind: str, data: bytes, limits: Limits, budget: Budget, depth: int) -> DocumentText:
    from crawler.extract.documents import archives, office

    if kind == kinds.PDF:
        from crawler.extract.documents.pdf import pdf_text

        return pdf_text(data, limits)
    if kind == kinds.DOCX:
        return office.docx_text(data, limits, budget)
    if kind == kinds.XLSX:
        return office.xlsx_text(data, limits, budget)
    if kind == kinds.XLS:
        return office.xls_text(data, limits)
    if kind == kinds.DOC:
        return office.doc_text(data, limits)
    if kind == kinds.OFD:
        from crawler.extract.documents.ofd import ofd_text

        return ofd_text(data, limits, budget)
    if kind == kinds.ZIP:
        return archives.zip_text(data, limits, budget, depth, _read)
    if kind == kinds.RAR:
        return archives.rar_text(data, limits, budget, depth, _read)
    if kind == kinds.OOXML_ENCRYPTED:
        return DocumentText(kind, ENCRYPTED, error="an encrypted Office document (password protected)")
    if kind == kinds.TEXT:
        return _plain_text(data, limits)
    if kind == kinds.HTML:
        return DocumentText(kind, UNSUPPORTED, error="an HTML page, not a document (an error page under the name?)")
    return DocumentText(kind, UNSUPPORTED, error=f"no text reader for {kind} files")


def _plain_text(data: bytes, limits: Limits) -> DocumentText:
    """A .txt or .csv attachment: UTF-8 (BOM or not), else GB18030."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        text = data.decode("utf-8", "replace")
    text = tidy_lines(text.splitlines())
    if not text:
        return DocumentText(kinds.TEXT, NO_TEXT, error="an empty text file")
    error = None
    if len(text) > limits.max_chars:
        text, error = text[: limits.max_chars], f"text cut at {limits.max_chars} characters"
    return DocumentText(kinds.TEXT, OK, text, None, error)


