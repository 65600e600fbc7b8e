"""What one ``articles`` row holds, made the same way by the crawl, ``import`` and ``reindex``.

The crawl's index pipeline (pipelines/index.py) reads an item through Scrapy's ItemAdapter;
the import and the re-extraction (archive/importer.py, archive/reindex.py) have the
``ArticleItem`` itself. Both build the row from these column lists and this digest.
"""

from __future__ import annotations

import hashlib
from typing import Any

ARTICLE_COLUMNS = ("url", "site", "channel", "title", "published_at", "source", "author", "views", "body",
                   "site_name", "encoding")
# Extraction quality and 信息公开 fields (issue 11, migration 0007).
QUALITY_COLUMNS = ("confidence", "index_no", "issuer", "written_at", "doc_no", "topic", "validity")
# Every column extraction fills (what ``reindex`` compares), extraction_warnings included.
EXTRACTED_COLUMNS = tuple(column for column in ARTICLE_COLUMNS if column not in ("url", "site")) + \
    QUALITY_COLUMNS + ("extraction_warnings",)


def body_digest(body: str | None) -> str:
    """sha1 of an article's text. Items carry it taken before per-site template stripping
    (``body_digest`` field, set by pipelines/chrome.py), which depends on crawl order."""
    return hashlib.sha1((body or "").encode("utf-8")).hexdigest()


def item_fields(item: Any, site: str | None) -> dict[str, Any]:
    """The ``articles`` columns of an extracted ``ArticleItem`` (crawler/extract/items.py) of ``site``."""
    fields = {column: getattr(item, column, None) for column in ARTICLE_COLUMNS + QUALITY_COLUMNS}
    fields["site"] = site
    fields["body_digest"] = item.body_digest or body_digest(item.body)
    fields["extraction_warnings"] = ",".join(item.extraction_warnings) if item.extraction_warnings else None
    return fields
