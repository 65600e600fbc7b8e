"""What a spider yields: one article per article page, readable in ``scrapy shell``."""

from __future__ import annotations

from dataclasses import dataclass, field, fields


@dataclass(repr=False)
class ArticleItem:
    """An article and its metadata, extracted from one captured page.

    ``warc_record_id`` ties it to the response record the capture hook wrote, which is
    how the index writer finds its ``captures`` row.
    """

    url: str
    page_kind: str = "article"
    title: str | None = None
    site_name: str | None = None
    # The page's <title> as served (not indexed): per-site learning reads how a site's titles
    # end (crawler/extract/site_fields.py).
    page_title: str | None = None
    published_at: str | None = None
    source: str | None = None
    author: str | None = None
    views: int | None = None
    channel: str | None = None
    body: str = ""
    images: list[str] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)
    # Link text of each attachment URL (often the document's real title).
    attachment_titles: dict[str, str] = field(default_factory=dict)
    encoding: str | None = None
    site: str | None = None
    warc_record_id: str | None = None
    # Lines or elements each chrome rule removed (the pipeline adds them to the crawl stats).
    chrome_removed: dict[str, int] = field(default_factory=dict)
    # sha1 of the body before per-site template stripping (pipelines/chrome.py): what dedup
    # compares, since what a site's template is depends on how many articles came before.
    body_digest: str | None = None
    # How far the body can be trusted as the page's article (0-1), and why not fully
    # (crawler/extract/extract.py: assess); both go to the index, warnings to the crawl stats.
    confidence: float | None = None
    extraction_warnings: list[str] = field(default_factory=list)
    # The 信息公开 disclosure block (crawler/extract/disclosure.py): 索引号, 发布机构/发文机关,
    # 成文日期 (ISO date), 文号/发文字号, 主题分类, 有效性.
    index_no: str | None = None
    issuer: str | None = None
    written_at: str | None = None
    doc_no: str | None = None
    topic: str | None = None
    validity: str | None = None

    def __repr__(self) -> str:
        """One field per line and the body's first lines, for reading in a shell."""
        out = ["ArticleItem("]
        for item_field in fields(self):
            value = getattr(self, item_field.name)
            if item_field.name == "body":
                lines = value.split("\n") if value else []
                out.append(f"  body: {len(value)} chars, {len(lines)} lines")
                out.extend(f"    | {line[:100]}{'…' if len(line) > 100 else ''}" for line in lines[:8])
                if len(lines) > 8:
                    out.append(f"    | … {len(lines) - 8} more lines")
            elif value not in (None, [], {}, ""):
                out.append(f"  {item_field.name}: {value!r}")
        out.append(")")
        return "\n".join(out)
