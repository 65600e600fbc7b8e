"""OFD (GB/T 33190-2016, 版式文档), the national fixed-layout format: a zip of XML.

``OFD.xml`` names each document's root (``DocBody/DocRoot``, e.g. ``Doc_0/Document.xml``);
the document lists its pages (``Pages/Page@BaseLoc``), and each page's ``Content.xml``
holds the text layer: ``TextObject`` elements with their characters in ``TextCode``.
Text objects are read in document order (one per line, or even one per character, as
generators differ); lines a layout wrapped are joined again.
"""

from __future__ import annotations

import posixpath

from crawler.extract.documents.office import ooxml_package
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
from crawler.extract.documents.text import join_wrapped


def _parser():
    from lxml import etree

    # No entity expansion (billion laughs), no network, no huge-tree mode.
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=False)


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(element, name: str):
    return [child for child in element.iter() if _local(child.tag) == name]


def _resolve(base_dir: str, location: str) -> str:
    location = location.strip().replace("\\", "/")
    if location.startswith("/"):
        return posixpath.normpath(location.lstrip("/"))
    return posixpath.normpath(posixpath.join(base_dir, location))


def ofd_text(data: bytes, limits: Limits, budget: Budget) -> DocumentText:
    from lxml import etree

    package = ooxml_package(data, budget, "OFD")
    names = {name.lower(): name for name in package.namelist()}

    def read_xml(path: str):
        name = names.get(path.lower())
        if name is None:
            raise DocumentError(CORRUPT, f"the OFD names {path}, which it does not hold")
        try:
            return etree.fromstring(package.read(name), _parser())
        except etree.XMLSyntaxError as exc:
            raise DocumentError(CORRUPT, f"{path}: {exc}") from None

    root = read_xml("OFD.xml")
    if _children(root, "Encryptions") or "encryptions.xml" in {posixpath.basename(n) for n in names}:
        raise DocumentError(ENCRYPTED, "the OFD is encrypted")
    lines: list[str] = []
    pages = 0
    for doc_root in _children(root, "DocRoot"):
        document_path = _resolve("", doc_root.text or "")
        document = read_xml(document_path)
        base = posixpath.dirname(document_path)
        for page in _children(document, "Page"):
            location = _resolve(base, page.get("BaseLoc") or "")
            if not location.lower().endswith(".xml"):
                location = posixpath.join(location, "Content.xml")
            pages += 1
            content = read_xml(location)
            for text_object in _children(content, "TextObject"):
                lines.append("".join(code.text or "" for code in _children(text_object, "TextCode")))
            if sum(map(len, lines)) > limits.max_chars:
                break
    if not pages:
        raise DocumentError(CORRUPT, "the OFD lists no pages")
    text = join_wrapped("\n".join(lines))
    error = None
    if len(text) > limits.max_chars:
        text, error = text[: limits.max_chars], f"text cut at {limits.max_chars} characters"
    if not text:
        return DocumentText("ofd", NO_TEXT, "", pages, "no text layer (scanned pages?)")
    return DocumentText("ofd", OK, text, pages, error)
