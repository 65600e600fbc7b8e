"""Link the images inside an article's body to the captures that hold them (``article_images``).

An article is indexed when its page is parsed, before its images are fetched, so the link is
made from both ends, in the archive writer's transactions:

- when an article row is written, each image gets a row; its capture is the image's latest
  capture with a payload (status 200) archived so far, if any;
- when an image capture with a payload is written later in the same crawl, it replaces the
  link of every row for that URL whose article this crawl wrote: the article then points at
  the image as it was when the article was captured. A 304 leaves the link on the capture
  that holds the unchanged bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from archive.models import article_images, articles, capture_id_of, captures
from archive.outputs import check_output, open_output


class ArticleImageLinker:
    """Kept by the archive writer for one crawl."""

    def __init__(self, conn: Connection) -> None:
        # Articles with a higher id were written by crawls running now (this one included).
        self.floor = conn.execute(select(func.coalesce(func.max(articles.c.id), 0))).scalar_one()

    def link(self, conn: Connection, capture_rows: Sequence[dict[str, Any]],
             images: Sequence[tuple[str, list[str]]]) -> None:
        """After a batch's captures and articles are inserted: add image rows, update links."""
        for record_id, urls in images:
            article_id = conn.execute(
                select(func.max(articles.c.id)).where(articles.c.capture_id == capture_id_of("rid")),
                {"rid": record_id},
            ).scalar()
            if article_id is None:
                continue
            latest = (select(func.max(captures.c.id)).where(captures.c.url == article_images.c.url,
                                                            captures.c.status == 200).scalar_subquery())
            conn.execute(insert(article_images), [
                {"article_id": article_id, "position": position, "url": url}
                for position, url in enumerate(urls)
            ])
            conn.execute(update(article_images).where(article_images.c.article_id == article_id)
                         .values(capture_id=latest))
        fetched = [{"u": row["url"], "r": row["warc_record_id"]} for row in capture_rows if row["status"] == 200
                   and not (row["content_type"] or "").lower().startswith(("text/html", "application/xhtml"))]
        if fetched:
            conn.execute(
                update(article_images)
                .where(article_images.c.url == bindparam("u"), article_images.c.article_id > self.floor)
                .values(capture_id=capture_id_of("r")),
                fetched,
            )


def images_of(index, article_id: int) -> list[dict[str, Any]]:
    """An article version's images in body order: position, url, capture_id (``index`` is an
    ``archive.index.Index``)."""
    with index.engine.connect() as conn:
        rows = conn.execute(select(article_images.c.position, article_images.c.url, article_images.c.capture_id)
                            .where(article_images.c.article_id == article_id).order_by(article_images.c.position))
        return [dict(row._mapping) for row in rows]


@dataclass
class SavedImage:
    """One image of an article and where ``save_images`` put it (``file`` None: never archived)."""

    position: int
    url: str
    capture_id: int | None
    file: str | None = None
    size: int = 0


def save_images(index, article_id: int, directory: Path, protected: tuple[set[Path], set[Path]],
                force: bool = False) -> list[SavedImage]:
    """Write an article's images into ``directory`` as ``NN-name`` files, bytes as served.

    Every file name is checked before anything is written, as ``-o`` is everywhere
    (archive/outputs.py): an existing file is replaced only with ``force``, never the
    archive's own files, never through a symbolic link.
    """
    from urllib.parse import unquote, urlsplit

    saved = []
    for image in images_of(index, article_id):
        capture = index.capture(image["capture_id"]) if image["capture_id"] is not None else None
        entry = SavedImage(image["position"], image["url"], image["capture_id"])
        if capture is not None:
            name = PurePosixPath(unquote(urlsplit(image["url"]).path)).name or "image"
            entry.file = f"{image['position']:02d}-" + "".join(ch if ch.isalnum() or ch in "._-@" else "_"
                                                                for ch in name)
            check_output(directory / entry.file, protected, force)
        saved.append((entry, capture))
    directory.mkdir(parents=True, exist_ok=True)
    for entry, capture in saved:
        if capture is not None:
            payload = index.read_payload(capture)
            with open_output(directory / entry.file, protected, force, binary=True) as out:
                out.write(payload)
            entry.size = len(payload)
    return [entry for entry, _ in saved]
