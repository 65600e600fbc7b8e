"""Generated WARC collections of portal articles, for ``bench/import`` and ``bench/index``.

A million real portal pages cannot be fetched here, so they are made: each article page has
the demo portal's chrome (menus, sidebar, share and print links, footer: demo/site.py) and a
~1,500-character body of sentences from the shared corpus's real article bodies (and the
demo portal's). Three planted sentences go into one article in 997 (the rare phrases
``bench/index`` times); 300 sites, publication dates random over 2005-2026 in random order.
One page in 20 is a listing of the 20 articles before it, one article in 20 has a body
image (its capture follows), and one URL is captured 60 times (every third a changed page,
the others identical: ``bench/index`` times its history).

Records are written as wget writes them: a warcinfo record, then a request and a response
record per URL (WARC-Concurrent-To), each record its own gzip member, 10,000 articles per
file. The same arguments always give the same bytes (a file already there is reused).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import random
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.scoring import CORPUS  # noqa: E402
from demo.site import EDITORS, REGIONS, SENTENCES, SOURCES, TOPICS, article_html, gif, listing_html  # noqa: E402

SITES = 300
PER_FILE = 10_000
HISTORY_URL = "http://www.bench0.gov.cn/history/changing.html"
HISTORY_CAPTURES = 60
# Sentences planted in one article in 997 each: phrases rare by construction.
RARE = ("海洋馆的鲸鱼表演暂停，排查消防通道。", "潜水艇模型展览现场开展疏散演练。",
        "要深入开展消防安全宣传进社区活动。")
SOFTWARE = "portal-archiver bench/portal_warcs.py (wget-like: request then response)"


class CorpusMissing(SystemExit):
    pass


def sentence_pool(corpus: Path = CORPUS) -> list[str]:
    """Sentences of the corpus's real article bodies and the demo portal's. Without the
    corpus the pool would be 20 demo sentences, and every phrase share measured on it
    would mean nothing: that is an error, not a fallback."""
    pages = sorted((corpus / "pages").glob("*.json")) if corpus.exists() else []
    if not pages:
        raise CorpusMissing(f"error: the shared corpus is missing ({corpus}/pages/*.json); generated articles are "
                            "made of its sentences (set PORTAL_SHARED_DIR to the workplace's shared/ folder)")
    sentences = [s.strip() for s in SENTENCES if s.strip()]
    for path in pages:
        body = json.loads(path.read_text(encoding="utf-8")).get("body") or ""
        sentences += [part.strip() + "。" for part in body.replace("\n", "").split("。") if len(part.strip()) > 8]
    return sentences


@dataclass
class Article:
    number: int
    url: str
    site: str
    channel: int
    title: str
    when: dt.datetime
    source: str
    editor: str
    views: int
    paragraphs: list[str]


def make_article(rng: random.Random, pool: list[str], number: int) -> Article:
    """The ``number``-th article: ~1,500 characters of corpus sentences, four to a paragraph."""
    parts, size = [], 0
    while size < 1500:
        sentence = rng.choice(pool)
        parts.append(sentence)
        size += len(sentence)
    if number % 997 == 0:
        parts.insert(rng.randrange(len(parts)), RARE[number % 3])
    site = f"www.bench{number % SITES}.gov.cn"
    when = dt.datetime(2005, 1, 1) + dt.timedelta(seconds=rng.randrange(22 * 365 * 86400))
    channel = number % 6
    code = ("xfxw", "tzgg", "fzxc", "xfpx", "jqtb", "zcfg")[channel]
    return Article(number, f"http://{site}/{code}/{when:%Y%m}/t{when:%Y%m%d}_{number}.html", site, channel,
                   rng.choice(REGIONS) + rng.choice(TOPICS), when, rng.choice(SOURCES), rng.choice(EDITORS),
                   rng.randrange(50, 5000), ["".join(parts[i:i + 4]) for i in range(0, len(parts), 4)])


class _Writer:
    """Request and response records of one WARC file, wget style."""

    def __init__(self, stream, name: str) -> None:
        self.writer = WARCWriter(stream, gzip=True)
        self.clock = dt.datetime(2026, 1, 1)
        self.writer.write_record(self.writer.create_warcinfo_record(name, {"software": SOFTWARE,
                                                                           "format": "WARC File Format 1.1"}))

    def exchange(self, url: str, body: bytes, content_type: str = "text/html; charset=utf-8") -> None:
        self.clock += dt.timedelta(seconds=1)
        date = self.clock.strftime("%Y-%m-%dT%H:%M:%SZ")
        host, path = url.split("/", 3)[2], "/" + url.split("/", 3)[3]
        request_headers = StatusAndHeaders(f"GET {path} HTTP/1.1", [
            ("User-Agent", "Wget/1.21.3"), ("Accept", "*/*"), ("Host", host), ("Connection", "Keep-Alive")],
            is_http_request=True)
        request = self.writer.create_warc_record(url, "request", http_headers=request_headers,
                                                 warc_headers_dict={"WARC-Date": date})
        response_headers = StatusAndHeaders("200 OK", [
            ("Server", "nginx"), ("Content-Type", content_type), ("Content-Length", str(len(body))),
            ("Date", self.clock.strftime("%a, %d %b %Y %H:%M:%S GMT"))], protocol="HTTP/1.1")
        response = self.writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                                  http_headers=response_headers,
                                                  warc_headers_dict={"WARC-Date": date, "WARC-IP-Address": "127.0.0.1"})
        request.rec_headers.add_header("WARC-Concurrent-To", response.rec_headers.get_header("WARC-Record-ID"))
        self.writer.write_record(request)
        self.writer.write_record(response)


def articles(first: int, count: int, seed: int, pool: list[str]) -> Iterator[Article]:
    """Articles ``first`` .. ``first + count - 1``, each from its own generator (any file can
    be made alone)."""
    for number in range(first, first + count):
        yield make_article(random.Random(f"{seed}:{number}"), pool, number)


def write_file(path: Path, first: int, count: int, seed: int) -> dict[str, int]:
    """One WARC file of ``count`` articles (and their listings and images); its counts."""
    pool = sentence_pool()
    partial = path.with_name(path.name + ".part")
    counts = {"articles": 0, "listings": 0, "images": 0, "history": 0}
    with open(partial, "wb") as stream:
        writer = _Writer(stream, path.name)
        if first == 0:
            for n in range(HISTORY_CAPTURES):  # the same URL, changed every third capture
                items = [(f"/xfxw/{k}.html", f"第{k}条", dt.datetime(2020, 1, 1)) for k in range(n // 3)]
                page = listing_html(0, items)
                writer.exchange(HISTORY_URL, page.encode())
                counts["history"] += 1
        recent: list[Article] = []
        for article in articles(first, count, seed, pool):
            paragraphs = list(article.paragraphs)
            image = None
            if article.number % 20 == 7:
                image = article.url.rsplit("/", 1)[0] + f"/W{article.number}.gif"
                paragraphs.insert(1, f'<img src="{image}" alt="">')
            page = article_html(article.url.split("/", 3)[3], article.title, article.when, article.source,
                                article.editor, article.views, article.channel, paragraphs)
            writer.exchange(article.url, page.encode())
            counts["articles"] += 1
            if image:
                writer.exchange(image, gif(article.number % 256, 7, 9), "image/gif")
                counts["images"] += 1
            recent.append(article)
            if len(recent) == 20:
                listing = listing_html(recent[0].channel, [("/" + a.url.split("/", 3)[3], a.title, a.when)
                                                           for a in recent])
                writer.exchange(f"http://{recent[0].site}/list/{article.number // 20}.html", listing.encode())
                counts["listings"] += 1
                recent = []
    partial.replace(path)
    return counts


def generate(directory: Path, count: int, seed: int = 12, jobs: int = 2, per_file: int = PER_FILE) -> list[Path]:
    """WARC files holding ``count`` articles in ``directory`` (made in ``jobs`` processes;
    files made before with the same arguments are kept)."""
    directory.mkdir(parents=True, exist_ok=True)
    sentence_pool()  # fail at once, not in a worker, when the corpus is missing
    stamp = hashlib.sha1(f"{count}:{seed}:{per_file}".encode()).hexdigest()[:8]
    plan = [(directory / f"bench-{stamp}-{first // per_file:05d}.warc.gz", first, min(per_file, count - first))
            for first in range(0, count, per_file)]
    todo = [item for item in plan if not item[0].exists()]
    if todo:
        with ProcessPoolExecutor(max(1, jobs)) as pool:
            for _ in pool.map(write_file, *zip(*[(path, first, n, seed) for path, first, n in todo], strict=True)):
                pass
    return [path for path, _, _ in plan]


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description="write generated portal WARCs (see the module docstring)")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("-j", "--jobs", type=int, default=2)
    args = parser.parse_args()
    for path in generate(args.directory, args.articles, args.seed, args.jobs):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
