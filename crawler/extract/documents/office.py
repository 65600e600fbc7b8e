"""Office documents: DOCX (python-docx), XLSX (openpyxl), XLS (xlrd), DOC and WPS (olefile).

Legacy Word files (and WPS 文字 files, which WPS Office saves in the same binary format)
are read with olefile and the piece table of [MS-DOC] 2.8.35 (Clx): the text sits in the
WordDocument stream in runs of UTF-16 or cp1252, listed by the table stream. That is a
few dozen lines over a well-kept OLE reader, with no LibreOffice needed at crawl time
(starting soffice costs ~1 s a file and ~200 MiB).
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
from datetime import date, datetime

from crawler.extract.documents.result import (
    CORRUPT,
    ENCRYPTED,
    NO_TEXT,
    OK,
    Budget,
    DocumentError,
    DocumentText,
    Limits,
)
from crawler.extract.documents.text import tidy_lines

_APP_PAGES = re.compile(rb"<(?:\w+:)?Pages>(\d+)</(?:\w+:)?Pages>")


def ooxml_package(data: bytes, budget: Budget, kind: str) -> zipfile.ZipFile:
    """The zip of an OOXML/OFD file, its members' sizes checked against the budget first."""
    try:
        package = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise DocumentError(CORRUPT, f"not a readable {kind} package: {exc}") from None
    budget.take(sum(item.file_size for item in package.infolist()), kind)
    return package


def _done(kind: str, lines: list[str], pages: int | None, limits: Limits) -> DocumentText:
    text = tidy_lines(lines)
    error = None
    if len(text) > limits.max_chars:
        text, error = text[: limits.max_chars], f"text cut at {limits.max_chars} characters"
    if not text:
        return DocumentText(kind, NO_TEXT, "", pages, "no text in the document")
    return DocumentText(kind, OK, text, pages, error)


def docx_text(data: bytes, limits: Limits, budget: Budget) -> DocumentText:
    import docx
    from docx.table import Table

    package = ooxml_package(data, budget, "DOCX")
    pages = None
    try:
        match = _APP_PAGES.search(package.read("docProps/app.xml"))
        pages = int(match.group(1)) if match else None
    except KeyError:
        pass
    document = docx.Document(io.BytesIO(data))
    lines: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            lines.extend(_table_lines(block))
        else:
            lines.append(block.text)
    return _done("docx", lines, pages, limits)


def _table_lines(table) -> list[str]:
    lines = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = cell.text.replace("\n", " ").strip()
            if not cells or cells[-1] != text:  # a merged cell repeats itself across its span
                cells.append(text)
        lines.append("\t".join(cells))
    return lines


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds").removesuffix(" 00:00:00")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _row(values) -> str:
    return "\t".join(_cell(value) for value in values).rstrip("\t")


def xlsx_text(data: bytes, limits: Limits, budget: Budget) -> DocumentText:
    import openpyxl

    ooxml_package(data, budget, "XLSX")
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    lines: list[str] = []
    chars = 0
    try:
        for sheet in book.worksheets:
            lines.append(sheet.title)
            for values in sheet.iter_rows(values_only=True):
                lines.append(_row(values))
                chars += len(lines[-1])
                if chars > limits.max_chars:
                    break
        sheets = len(book.worksheets)
    finally:
        book.close()
    return _done("xlsx", lines, sheets, limits)


def xls_text(data: bytes, limits: Limits) -> DocumentText:
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True)
    except xlrd.XLRDError as exc:
        if "encrypt" in str(exc).lower():
            raise DocumentError(ENCRYPTED, "the workbook is encrypted") from None
        raise DocumentError(CORRUPT, f"not a readable XLS workbook: {exc}") from None
    lines: list[str] = []
    try:
        for index in range(book.nsheets):
            sheet = book.sheet_by_index(index)
            lines.append(sheet.name)
            lines.extend(_row(_xls_values(sheet, row, book.datemode)) for row in range(sheet.nrows))
            book.unload_sheet(index)
        sheets = book.nsheets
    finally:
        book.release_resources()
    return _done("xls", lines, sheets, limits)


def _xls_values(sheet, row: int, datemode: int) -> list:
    import xlrd

    values = []
    for cell in sheet.row(row):
        if cell.ctype == xlrd.XL_CELL_DATE:
            try:
                values.append(xlrd.xldate.xldate_as_datetime(cell.value, datemode))
                continue
            except (ValueError, OverflowError):
                pass
        values.append(cell.value)
    return values


# [MS-DOC] FIB offsets: FibBase is 32 bytes; flags at 0x0A; then csw, fibRgW, cslw, fibRgLw
# (ccpText is its 4th field), cbRgFcLcb and FibRgFcLcb97, whose 34th pair is (fcClx, lcbClx).
_F_WHICH_TABLE, _F_ENCRYPTED = 0x0200, 0x0100
_CLX_PAIR = 33
# Field codes: \x13 instruction \x14 result \x15; objects and pictures are \x01, \x08.
_FIELD_CODE = re.compile("\x13[^\x13\x14\x15]*(?:\x14|\x15)")
_DOC_CONTROL = str.maketrans({"\r": "\n", "\x07": "\t", "\x0b": "\n", "\x0c": "\n", "\x0e": "\n", "\x15": None,
                              "\x01": None, "\x08": None, "\x02": None, "\x05": None, "\x1e": "-", "\x1f": None,
                              "\xa0": " "})


def doc_text(data: bytes, limits: Limits) -> DocumentText:
    import olefile

    try:
        ole = olefile.OleFileIO(data)
    except Exception as exc:  # noqa: BLE001 - olefile raises many kinds on damaged containers
        raise DocumentError(CORRUPT, f"not a readable OLE file: {exc}") from None
    try:
        word = ole.openstream("WordDocument").read()
        flags = struct.unpack_from("<H", word, 0x0A)[0]
        if flags & _F_ENCRYPTED:
            raise DocumentError(ENCRYPTED, "the Word document is encrypted")
        table_name = "1Table" if flags & _F_WHICH_TABLE else "0Table"
        if not ole.exists(table_name):
            raise DocumentError(CORRUPT, f"no {table_name} stream")
        table = ole.openstream(table_name).read()
        pages = None
        try:
            pages = ole.get_metadata().num_pages or None
        except Exception:  # noqa: BLE001 - summary information is optional
            pass
    finally:
        ole.close()
    text = _piece_text(word, table)
    lines = _FIELD_CODE.sub("", text).translate(_DOC_CONTROL).split("\n")
    return _done("doc", [line.strip("\t ") for line in lines], pages, limits)


def _piece_text(word: bytes, table: bytes) -> str:
    """The main document's characters, in order, from the piece table."""
    try:
        position = 32
        csw = struct.unpack_from("<H", word, position)[0]
        position += 2 + csw * 2
        cslw = struct.unpack_from("<H", word, position)[0]
        ccp_text = struct.unpack_from("<i", word, position + 2 + 3 * 4)[0]
        position += 2 + cslw * 4 + 2
        fc_clx, lcb_clx = struct.unpack_from("<II", word, position + _CLX_PAIR * 8)
        clx = table[fc_clx:fc_clx + lcb_clx]
        at = 0
        while at < len(clx) and clx[at] == 0x01:  # Prc: property modifiers, skipped
            at += 3 + struct.unpack_from("<h", clx, at + 1)[0]
        if at >= len(clx) or clx[at] != 0x02:
            raise DocumentError(CORRUPT, "no piece table in the Word document")
        size = struct.unpack_from("<I", clx, at + 1)[0]
        plc = clx[at + 5:at + 5 + size]
        pieces = (len(plc) - 4) // 12
        cps = struct.unpack_from(f"<{pieces + 1}I", plc, 0)
    except struct.error as exc:
        raise DocumentError(CORRUPT, f"damaged Word document: {exc}") from None
    parts: list[str] = []
    wanted = max(ccp_text, 0)
    for index in range(pieces):
        if wanted <= 0:
            break
        length = min(cps[index + 1] - cps[index], wanted)
        fc = struct.unpack_from("<I", plc, 4 * (pieces + 1) + index * 8 + 2)[0]
        if fc & 0x40000000:  # 8-bit characters at fc/2
            start = (fc & 0x3FFFFFFF) // 2
            parts.append(word[start:start + length].decode("cp1252", "replace"))
        else:
            parts.append(word[fc:fc + 2 * length].decode("utf-16-le", "replace"))
        wanted -= length
    return "".join(parts)
