"""Attachment text: what a portal's PDF, OFD, DOC/DOCX/WPS, XLS/XLSX/ET, ZIP or RAR says.

Like ``crawler.extract``, this package imports nothing of the crawl machinery, so it runs
in the attachment workers, in a shell and on a file::

    >>> from crawler.extract.documents import extract_document
    >>> extract_document(open("方案.pdf", "rb").read())        # kind, status, text, pages, error

Modules: ``sniff`` (type from the bytes), ``pdf``, ``office``, ``ofd``, ``archives`` (one
reader each), ``text`` (wrapped lines joined for search), ``extract`` (the dispatcher),
``capped`` (a child process under time and memory caps), ``result`` (statuses, limits).
The readers need the ``attachments`` extra (pip install 'portal-archiver[attachments]').
"""

from functools import cache

from crawler.extract.documents import sniff as kinds
from crawler.extract.documents.extract import extract_document
from crawler.extract.documents.result import STATUSES, DocumentText, Limits

# The predefined CMaps of Chinese PDFs whose fonts carry no ToUnicode map (STSong-Light and
# the like): pdfminer.six loads each from disk on first use, ~70 ms.
CHINESE_CMAPS = ("UniGB-UCS2-H", "UniGB-UTF16-H", "GBK-EUC-H", "GB-EUC-H", "GBK2K-H", "UniCNS-UCS2-H")


def warm_up(kind: str | None = None) -> None:
    """Import the readers a file of ``kind`` needs (and, for PDF, load the Chinese CMaps),
    once, in a process that forks a reader per document (crawler/capture/attachment_worker.py):
    every child then starts with them in memory, and none imports a library under its memory
    cap. ``None``, or an archive, which may hold any kind: every reader. Kinds no reader
    reads (images, HTML) need nothing."""
    for warm in _ALL_READERS if kind is None else _WARM_UPS.get(kind, ()):
        warm()


@cache
def _pdf() -> None:
    import pdfminer.converter  # noqa: F401 - with layout and image: half a second of imports
    import pdfminer.pdfinterp  # noqa: F401
    import pdfminer.pdfpage  # noqa: F401
    from pdfminer.cmapdb import CMapDB

    import crawler.extract.documents.pdf  # noqa: F401 - the readers' own modules, imported lazily otherwise

    for name in CHINESE_CMAPS:
        try:
            CMapDB.get_cmap(name)
        except CMapDB.CMapNotFound:
            pass
    for collection in ("Adobe-GB1", "Adobe-CNS1"):
        for vertical in (False, True):
            CMapDB.get_unicode_map(collection, vertical)


@cache
def _ole() -> None:  # DOC, XLS and their WPS/ET kin
    import olefile  # noqa: F401
    import xlrd  # noqa: F401

    import crawler.extract.documents.office  # noqa: F401


@cache
def _ooxml() -> None:  # DOCX, XLSX
    import docx  # noqa: F401
    import openpyxl  # noqa: F401 - numpy and Pillow with it, when installed

    import crawler.extract.documents.office  # noqa: F401


@cache
def _ofd() -> None:
    from lxml import etree  # noqa: F401

    import crawler.extract.documents.ofd  # noqa: F401


@cache
def _archives() -> None:
    import crawler.extract.documents.archives  # noqa: F401


_ALL_READERS = (_pdf, _ole, _ooxml, _ofd, _archives)
_WARM_UPS = {kinds.PDF: (_pdf,), kinds.DOC: (_ole,), kinds.XLS: (_ole,), kinds.OLE: (_ole,), kinds.DOCX: (_ooxml,),
             kinds.XLSX: (_ooxml,), kinds.OFD: (_ofd,), kinds.ZIP: _ALL_READERS, kinds.RAR: _ALL_READERS}


__all__ = ["STATUSES", "DocumentText", "Limits", "extract_document", "warm_up"]
