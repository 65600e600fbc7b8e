"""Attachment text: what a portal's PDF, OFD, DOC/DOCX/WPS, XLS/XLSX/ET, ZIP or RAR says.

Like ``crawler.extract``, this package imports nothing of the crawl machinery, so it runs
in the attachment workers, in a shell and on a file::

    >>> from crawler.documents import extract_document
    >>> extract_document(open("方案.pdf", "rb").read())        # kind, status, text, pages, error

Modules: ``sniff`` (type from the bytes), ``pdf``, ``office``, ``ofd``, ``archives`` (one
reader each), ``text`` (wrapped lines joined for search), ``extract`` (the dispatcher),
``capped`` (a child process under time and memory caps), ``result`` (statuses, limits).
The readers need the ``attachments`` extra (pip install 'portal-archiver[attachments]').
"""

from crawler.documents.extract import extract_document
from crawler.documents.result import STATUSES, DocumentText, Limits

__all__ = ["STATUSES", "DocumentText", "Limits", "extract_document"]
