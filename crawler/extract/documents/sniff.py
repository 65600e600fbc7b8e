"""What a file is, from its bytes: a portal's ``.pdf`` may be a DOCX, a 404 page or a zip.

The name and the Content-Type header are what the server claims; extraction goes by the
magic numbers and, for the zip and OLE containers every office format uses, by what is
inside (``word/document.xml``, ``OFD.xml``, a ``WordDocument`` stream ...).
"""

from __future__ import annotations

import io
import re
import zipfile

PDF, DOCX, XLSX, PPTX, OFD, ZIP = "pdf", "docx", "xlsx", "pptx", "ofd", "zip"
DOC, XLS, PPT, OLE, OOXML_ENCRYPTED = "doc", "xls", "ppt", "ole", "ooxml-encrypted"
RAR, SEVEN_ZIP, RTF, HTML, XML, TEXT, BINARY = "rar", "7z", "rtf", "html", "xml", "txt", "binary"
ODT, ODS, ODP = "odt", "ods", "odp"

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_IMAGES = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"), (b"GIF87a", "gif"), (b"GIF89a", "gif"),
           (b"II*\x00", "tiff"), (b"MM\x00*", "tiff"), (b"BM", "bmp"))
_MARKUP = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(!doctype\s+html|html|head|body|script|meta|title)\b", re.I | re.S)
# Member names in the first local headers tell a cut-off OOXML/OFD zip (no central directory).
_LOCAL_NAMES = ((b"word/", DOCX), (b"xl/", XLSX), (b"ppt/", PPTX), (b"OFD.xml", OFD))
_ODF = {b"application/vnd.oasis.opendocument.text": ODT, b"application/vnd.oasis.opendocument.spreadsheet": ODS,
        b"application/vnd.oasis.opendocument.presentation": ODP}


def sniff(data: bytes) -> str:
    """The file's type: pdf, docx, xlsx, pptx, ofd, odt/ods/odp, zip, doc, xls, ppt, ole,
    ooxml-encrypted, rar, 7z, rtf, an image type, html, xml, txt, or binary."""
    head = data[:1024]
    if b"%PDF-" in head:
        return PDF
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_kind(data)
    if data.startswith(OLE_MAGIC):
        return _ole_kind(data)
    if data.startswith(b"Rar!\x1a\x07"):
        return RAR
    if data.startswith(b"7z\xbc\xaf\x27\x1c"):
        return SEVEN_ZIP
    if data.startswith(b"{\\rtf"):
        return RTF
    for magic, kind in _IMAGES:
        if data.startswith(magic):
            return kind
    text = head.lstrip(b"\xef\xbb\xbf")
    if _MARKUP.match(text):
        return HTML
    if text.lstrip().startswith(b"<?xml"):
        return HTML if re.search(rb"<html\b", data[:4096], re.I) else XML
    if b"\x00" not in head and _decodes(head):
        return TEXT
    return BINARY


def _decodes(sample: bytes) -> bool:
    for encoding in ("utf-8", "gb18030"):
        try:
            sample.decode(encoding)
            return True
        except UnicodeDecodeError as exc:
            if exc.start > len(sample) - 4:  # cut mid-character at the sample's end
                return True
    return False


def _zip_kind(data: bytes) -> str:
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        head = data[:65536]
        return next((kind for marker, kind in _LOCAL_NAMES if marker in head), ZIP)
    lower = {name.lower() for name in names}
    if "word/document.xml" in lower:
        return DOCX
    if "xl/workbook.xml" in lower:
        return XLSX
    if "ppt/presentation.xml" in lower:
        return PPTX
    if "ofd.xml" in lower:
        return OFD
    if "mimetype" in lower:
        first = data[30:30 + 100]
        for mimetype, kind in _ODF.items():
            if mimetype in first:
                return kind
    return ZIP


def _ole_kind(data: bytes) -> str:
    try:
        import olefile
    except ImportError:
        return OLE
    try:
        ole = olefile.OleFileIO(data)
    except Exception:  # noqa: BLE001 - olefile raises many kinds on damaged containers
        return OLE
    try:
        streams = {"/".join(entry) for entry in ole.listdir()}
    except Exception:  # noqa: BLE001
        return OLE
    finally:
        ole.close()
    if "EncryptedPackage" in streams:
        return OOXML_ENCRYPTED  # an encrypted DOCX/XLSX wraps its package in OLE
    if "WordDocument" in streams:
        return DOC  # Word 97-2003, and WPS 文字 files saved in that format
    if "Workbook" in streams or "Book" in streams:
        return XLS  # Excel 97-2003, and WPS 表格 (.et) files saved in that format
    if "PowerPoint Document" in streams:
        return PPT
    return OLE
