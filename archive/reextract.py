"""Today's extraction of archived records, in worker processes: shared by ``import`` and ``reindex``.

Pages go through the crawl's own reading (crawler/extract: challenge check, page kind,
article item); files an article links (PDF, DOC, XLS, OFD, ZIP ...) through the crawl's
attachment reader (crawler/extract/documents, each file in a forked child under the ATTACHMENT_*
caps). Neither imports anything of the crawl machinery, so the archive stays usable without
Scrapy. What is done with the results (rows, versions, events) is the caller's.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from archive.locations import WarcLocation
from archive.processes import die_with_parent
from archive.warc_reader import WarcReadError, read_record

# (url, payload, Content-Type, Set-Cookie values) of one page.
Page = tuple[str, bytes, "str | None", list[str]]
# Content types that are never an attachment's text (the record is not even read).
NOT_DOCUMENTS = ("image/", "text/css", "text/javascript", "application/javascript", "application/x-javascript",
                 "font/", "video/", "audio/", "text/html", "application/xhtml", "application/json")
# What crawler/extract/documents/sniff.py can name that is no document.
_NOT_DOCUMENT_KINDS = {"html", "xml", "txt", "binary", "png", "jpeg", "gif", "tiff", "bmp", "webp", "ico", "svg"}


@dataclass
class PageResult:
    challenge: str | None = None
    item: Any = None  # crawler.extract.items.ArticleItem of an article page, else None
    error: str | None = None


def extract_pages(pages: list[Page]) -> list[PageResult]:
    """The crawl's page reading, for each page: anti-bot challenge pages are flagged, not
    read; an article page gives its item; a page that breaks the reader gives the error."""
    from archive.challenges import challenge_kind
    from crawler.extract import extract_article
    from crawler.extract.page import parse_page
    from crawler.extract.pagekind import ARTICLE, page_kind

    results = []
    for url, payload, content_type, cookies in pages:
        try:
            if kind := challenge_kind(200, payload, cookies):
                results.append(PageResult(challenge=kind))
                continue
            page = parse_page(payload, url, {"Content-Type": content_type} if content_type else None)
            kind = page_kind(page)
            results.append(PageResult(item=extract_article(page, kind=kind) if kind == ARTICLE else None))
        except Exception as exc:  # noqa: BLE001 - one odd page must not stop the run
            results.append(PageResult(error=f"{type(exc).__name__}: {exc}"))
    return results


def may_be_document(content_type: str | None) -> bool:
    """Could a 200 response with this Content-Type be an attachment (worth reading)?"""
    return not (content_type or "").strip().lower().startswith(NOT_DOCUMENTS)


@dataclass
class DocumentResult:
    """What an attachment reader made of one record: ``text`` is a crawler.extract.documents
    DocumentText (None: not a document, e.g. an image served as octet-stream)."""

    size: int
    text: Any = None
    error: str | None = None


def read_documents(location: WarcLocation, offsets: list[int]) -> list[DocumentResult]:
    """The text of the documents among the records at ``offsets`` (read here, in the worker,
    so a batch never carries file bodies between processes)."""
    from crawler import settings as defaults
    from crawler.extract.documents.result import TOO_LARGE, DocumentText, Limits
    from crawler.extract.documents.sniff import sniff

    results = []
    for offset in offsets:
        try:
            _, payload = read_record(location.path, location.base + offset)
        except WarcReadError as exc:
            results.append(DocumentResult(0, error=exc.problem))
            continue
        kind = sniff(payload[:65536])
        if kind in _NOT_DOCUMENT_KINDS:
            results.append(DocumentResult(len(payload)))
        elif len(payload) > defaults.ATTACHMENT_MAX_SIZE:
            results.append(DocumentResult(len(payload), DocumentText(
                kind, TOO_LARGE, error=f"over ATTACHMENT_MAX_SIZE ({defaults.ATTACHMENT_MAX_SIZE} bytes); not read")))
        else:
            from crawler.extract.documents.capped import extract_capped

            results.append(DocumentResult(len(payload), extract_capped(
                payload, Limits(), defaults.ATTACHMENT_TIMEOUT, defaults.ATTACHMENT_MAX_MEMORY)))
    return results


def extract_batch(pages: list[Page], location: WarcLocation | None,
                  documents: list[int]) -> tuple[list[PageResult], list[DocumentResult]]:
    """One batch of ``import``: its pages, and the documents at these offsets of ``location``."""
    return extract_pages(pages), read_documents(location, documents) if location is not None and documents else []


def worker_pool(jobs: int) -> ProcessPoolExecutor:
    """``jobs`` extraction workers that die with this process (spawned, not forked: nothing
    of this process's connections or threads goes into a worker)."""
    return ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                               initializer=die_with_parent, initargs=(os.getpid(),))
