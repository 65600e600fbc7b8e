"""PDF text with pdfminer.six, the library that read every Chinese test PDF right.

Measured on the fixtures (BENCHMARKS.md, "Attachment text"): pdfminer.six, pypdf and
pdfplumber all decode embedded subset fonts through their ToUnicode maps and the old
predefined Adobe-GB1 CMaps (STSong-Light, UniGB-UCS2-H, no map); but only pdfminer.six
keeps reading order when a page's content stream is written out of order (pypdf follows
the stream) and keeps a two-column page's columns apart (pdfplumber interleaves them).
pypdf is about 1.6x faster; order matters more for search and for reading.

An empty user password is tried (many government PDFs are "restricted": no copying or
printing, but no password to open), then the file counts as ``encrypted``.
"""

from __future__ import annotations

import io
import logging

from crawler.extract.documents.result import CORRUPT, ENCRYPTED, NO_TEXT, OK, DocumentError, DocumentText, Limits
from crawler.extract.documents.text import join_wrapped

_EOF_TAIL = 2048


def pdf_text(data: bytes, limits: Limits) -> DocumentText:
    from pdfminer.converter import TextConverter
    from pdfminer.layout import LAParams
    from pdfminer.pdfdocument import PDFDocument, PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdfparser import PDFParser

    logging.getLogger("pdfminer").setLevel(logging.ERROR)  # a warning per odd object otherwise
    try:
        document = PDFDocument(PDFParser(io.BytesIO(data)), password="")
    except PDFPasswordIncorrect:
        raise DocumentError(ENCRYPTED, "the PDF needs a password to open") from None
    except PDFEncryptionError as exc:
        raise DocumentError(ENCRYPTED, f"encrypted PDF: {exc}") from None
    out = io.StringIO()
    resources = PDFResourceManager(caching=True)
    converter = TextConverter(resources, out, laparams=LAParams())
    interpreter = PDFPageInterpreter(resources, converter)
    pages = 0
    cut = None
    for page in PDFPage.create_pages(document):
        pages += 1
        interpreter.process_page(page)
        out.write("\x0c")
        if out.tell() > limits.max_chars * 4:  # StringIO.tell counts characters
            cut = f"text cut after page {pages}"
            break
    converter.close()
    text = join_wrapped(out.getvalue())
    if len(text) > limits.max_chars:
        text, cut = text[: limits.max_chars], f"text cut at {limits.max_chars} characters"
    if b"%%EOF" not in data[-_EOF_TAIL:]:
        return DocumentText("pdf", CORRUPT, text, pages or None, "the file is cut off (no %%EOF at its end); "
                            f"{'text read up to the cut' if text else 'no text read'}")
    if not pages:
        raise DocumentError(CORRUPT, "no pages found")
    if not text:
        return DocumentText("pdf", NO_TEXT, "", pages, "no text layer (scanned pages?)")
    return DocumentText("pdf", OK, text, pages, cut)
