"""Downloader middlewares that keep what reaches the archive whole and cheap.

``BinaryUntilDecodedMiddleware`` keeps compressed responses binary until they are decoded.

Scrapy builds an ``HtmlResponse`` for a gzip body, and HttpCompressionMiddleware's
``response.replace()`` then reads its ``encoding``: with no charset in the headers, that
runs charset detection over the *compressed* bytes, about 2-3 ms per page wasted (half the
cost of parsing the page). Handing HttpCompressionMiddleware a plain ``Response`` skips it;
the decoded response gets its proper class (and encoding) from the decompressed body.

``HeadMetaRefreshMiddleware`` is Scrapy's meta refresh reading only a page's head.
"""

from __future__ import annotations

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.exceptions import StopDownload
from scrapy.http import HtmlResponse, Response, TextResponse


class BinaryUntilDecodedMiddleware:
    """Runs just before HttpCompressionMiddleware (590) on the way back from the network."""

    def process_response(self, request: Request, response: Response) -> Response:
        if isinstance(response, TextResponse) and response.headers.get("Content-Encoding"):
            return Response(
                url=response.url,
                status=response.status,
                headers=response.headers,
                body=response.body,
                flags=response.flags,
                request=response.request,
                certificate=response.certificate,
                ip_address=response.ip_address,
                protocol=response.protocol,
            )
        return response


class HeadMetaRefreshMiddleware(MetaRefreshMiddleware):
    """Scrapy's MetaRefreshMiddleware (in its place, 580), shown only the head of a large page.

    It looks for the refresh in the first 4096 characters, but gets them from
    ``response.text``, which decodes the whole body and keeps the string with the response:
    a 256 MiB page became a ~200 MB string, held while the page went on to the archive.
    4096 characters take at most HEAD bytes in any encoding."""

    HEAD = 4 * 4096

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if not isinstance(response, HtmlResponse) or len(response.body) <= self.HEAD:
            return super().process_response(request, response)
        head = response.replace(body=response.body[:self.HEAD])
        answer = super().process_response(request, head)
        return response if answer is head else answer


class SizeLimitMiddleware:
    """Archive the first DOWNLOAD_MAXSIZE bytes of an oversized body, marked truncated.

    Scrapy drops a response that passes DOWNLOAD_MAXSIZE, so nothing of it would reach the
    archive. This middleware turns Scrapy's own limit off per request and stops the
    download itself at the same size, which hands the partial body on with the
    ``download_stopped`` flag; the capture hook writes it with ``WARC-Truncated: length``.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.maxsize = crawler.settings.getint("DOWNLOAD_MAXSIZE")
        self.stats = crawler.stats
        if self.maxsize:
            crawler.signals.connect(self.bytes_received, signal=signals.bytes_received)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SizeLimitMiddleware:
        return cls(crawler)

    def process_request(self, request: Request, spider=None) -> None:
        if self.maxsize:
            request.meta.setdefault("portal_maxsize", request.meta.get("download_maxsize", self.maxsize))
            request.meta["download_maxsize"] = 0

    def bytes_received(self, data: bytes, request: Request, spider=None) -> None:
        limit = request.meta.get("portal_maxsize")
        if not limit:
            return
        received = request.meta.get("portal_received", 0) + len(data)
        request.meta["portal_received"] = received
        if received > limit:
            request.meta["truncated"] = "length"
            self.stats.inc_value("download/truncated_length")
            raise StopDownload(fail=False)
