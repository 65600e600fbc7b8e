"""Turn one HTTP exchange into a WARC request/response record pair.

Scrapy hands us parsed messages, not wire bytes, so the records are rebuilt as HTTP/1.1
text (what Heritrix's FetchHTTP2 and Browsertrix also write): the body stays content-encoded
but de-chunked, ``Transfer-Encoding`` is dropped, repeated headers are kept, and the real
protocol goes in ``WARC-Protocol`` when it is not HTTP/1.x. ``NORMALISATIONS`` says this in
every file's warcinfo record so a reader knows what "as received" means here.
"""

from __future__ import annotations

import base64
import hashlib
import io
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from urllib.parse import unquote_plus, urlsplit

from warcio.recordbuilder import RecordBuilder
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date


def new_record_id() -> str:
    """A fresh ``WARC-Record-ID`` (``<urn:uuid:...>``, as the WARC spec recommends)."""
    return f"<urn:uuid:{uuid.uuid4()}>"


class ReceivedHeaders(StatusAndHeaders):
    """HTTP headers written back as the bytes received.

    Header bytes are held as latin-1 text (a one-to-one map of bytes), and warcio writes a
    header block with ``to_ascii_bytes``, which percent-encodes anything not ASCII: a GBK
    ``Content-Disposition: filename="..."`` would become ``filename*=UTF-8''...``. Encoding
    back as latin-1 gives the original bytes instead.
    """

    def to_ascii_bytes(self, filter_func=None) -> bytes:
        try:
            return self.to_str(filter_func).encode("latin-1") + b"\r\n"
        except UnicodeEncodeError:  # text that never came from the wire (not latin-1)
            return super().to_ascii_bytes(filter_func)


NORMALISATIONS = (
    "HTTP messages rebuilt from the parsed exchange as HTTP/1.1 text; "
    "body de-chunked but content-encoding kept; Transfer-Encoding and Connection headers "
    "dropped; header names case-normalised; reason phrase from the status code registry; "
    "Host header added to requests"
)

_HOP_BY_HOP = {b"transfer-encoding", b"connection", b"keep-alive"}


@dataclass
class HttpExchange:
    """One request and the response it got, as the downloader saw them."""

    url: str
    status: int
    response_headers: list[tuple[bytes, bytes]]
    body: bytes
    method: str = "GET"
    request_headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    request_body: bytes = b""
    protocol: str = "HTTP/1.1"
    ip_address: str | None = None
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    truncated: str | None = None
    record_id: str = field(default_factory=new_record_id)
    # Set when a browser made the request (its product/version, e.g. "Chromium/156.0.8078.114"),
    # with what kind of resource it asked for ("document", "xhr", "script" ...).
    browser: str | None = None
    resource_type: str | None = None

    def header(self, name: str) -> str | None:
        """The first response header ``name`` (any case), as text."""
        wanted = name.lower().encode("latin-1")
        for key, value in self.response_headers:
            if key.lower() == wanted:
                return value.decode("latin-1").strip()
        return None

    @property
    def content_type(self) -> str | None:
        return self.header("Content-Type")


def warc_date(moment: datetime) -> str:
    """WARC/1.1 date with microseconds, always UTC."""
    return datetime_to_iso_date(moment.astimezone(UTC).replace(tzinfo=None), use_micros=True)


def _latin1(pairs: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, value in pairs
        if name.lower() not in _HOP_BY_HOP
    ]


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} "


def _request_target(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return target, parts.netloc


# pywb and cdxj-indexer cut a request-body query at this length.
MAX_BODY_QUERY = 4096


def request_body_query(method: str, content_type: str | None, body: bytes) -> str | None:
    """A POST/PUT body as the query pywb matches replayed requests by (cdxj-indexer's
    ``requestBody``): a urlencoded form decoded to text, anything else base64 in
    ``__wb_post_data=``; None for other methods. Form bodies are what listing endpoints
    (Hanweb dataproxy.jsp) send; JSON bodies are kept as base64 here, which pywb still
    matches exactly, though cdxj-indexer would flatten them into fields.
    """
    if method.upper() not in ("POST", "PUT"):
        return None
    if not body:
        return ""
    if (content_type or "").lower().startswith("application/x-www-form-urlencoded"):
        try:
            return unquote_plus(body.decode("utf-8"))[:MAX_BODY_QUERY]
        except UnicodeDecodeError:
            pass
    return ("__wb_post_data=" + base64.b64encode(body).decode("ascii"))[:MAX_BODY_QUERY]


SERVER_NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"


@dataclass(frozen=True)
class Original:
    """The earlier capture a revisit record points back to."""

    url: str
    warc_date: str
    payload_digest: str
    record_id: str


def payload_digest(body: bytes) -> str:
    """``sha1:`` + Base32, as warcio writes WARC-Payload-Digest."""
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


def build_pair(
    builder: RecordBuilder, exchange: HttpExchange, revisit_of: Original | None = None
) -> tuple[ArcWarcRecord, ArcWarcRecord]:
    """Return (request, response) records that share a date and link by WARC-Concurrent-To.

    With ``revisit_of`` the response becomes a revisit record: identical-payload-digest for
    a 200 whose payload matches the original, server-not-modified for a 304.
    """
    date = warc_date(exchange.fetched_at)
    response_fields = {"WARC-Record-ID": exchange.record_id, "WARC-Date": date}
    if exchange.ip_address:
        response_fields["WARC-IP-Address"] = exchange.ip_address
    if not exchange.protocol.upper().startswith("HTTP/1."):
        response_fields["WARC-Protocol"] = exchange.protocol.lower()
    if exchange.truncated:
        response_fields["WARC-Truncated"] = exchange.truncated
    marks = browser_fields(exchange.browser, exchange.resource_type)
    response_fields.update(marks)
    http_response = ReceivedHeaders(
        _status_line(exchange.status), _latin1(exchange.response_headers), protocol="HTTP/1.1"
    )
    if revisit_of is not None:
        response_fields["WARC-Refers-To"] = revisit_of.record_id
        response = builder.create_revisit_record(
            exchange.url,
            revisit_of.payload_digest,
            revisit_of.url,
            revisit_of.warc_date,
            http_headers=http_response,
            warc_headers_dict=response_fields,
        )
        if exchange.status == 304:
            response.rec_headers.replace_header("WARC-Profile", SERVER_NOT_MODIFIED)
    else:
        response = builder.create_warc_record(
            exchange.url,
            "response",
            payload=io.BytesIO(exchange.body),
            length=len(exchange.body),
            http_headers=http_response,
            warc_headers_dict=response_fields,
        )

    target, host = _request_target(exchange.url)
    request_headers = _latin1(exchange.request_headers)
    if not any(name.lower() == "host" for name, _ in request_headers):
        request_headers.insert(0, ("Host", host))
    http_request = ReceivedHeaders(
        f"{exchange.method} {target} HTTP/1.1", request_headers, protocol="", is_http_request=True
    )
    request = builder.create_warc_record(
        exchange.url,
        "request",
        payload=io.BytesIO(exchange.request_body),
        length=len(exchange.request_body),
        http_headers=http_request,
        warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": exchange.record_id, **marks},
    )
    return request, response


def browser_fields(browser: str | None, resource_type: str | None = None) -> dict[str, str]:
    """WARC header fields that mark a browser's capture: ``WARC-Browser`` names the browser,
    ``WARC-Resource-Type`` what it asked for (as Browsertrix writes it)."""
    if not browser:
        return {}
    fields = {"WARC-Browser": browser}
    if resource_type:
        fields["WARC-Resource-Type"] = resource_type
    return fields


BROWSER_NOTE = (
    "records with a WARC-Browser field were requested by that headless browser (Playwright) and "
    "fetched through this crawler's downloader, so their bytes are as the server sent them, with the "
    "normalisations above; a conversion record (WARC-Refers-To the page's document) holds the DOM "
    "the browser rendered, which is what the article text was extracted from"
)


@dataclass
class RenderedPage:
    """The DOM a browser rendered for a page, to be kept as a WARC ``conversion`` record that
    refers to the page's document (its response record)."""

    url: str
    dom: bytes
    refers_to: str | None
    browser: str | None
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    record_id: str = field(default_factory=new_record_id)


def build_conversion(builder: RecordBuilder, page: RenderedPage) -> ArcWarcRecord:
    fields = {"WARC-Record-ID": page.record_id, "WARC-Date": warc_date(page.fetched_at),
              **browser_fields(page.browser or "browser")}
    if page.refers_to:
        fields["WARC-Refers-To"] = page.refers_to
    return builder.create_warc_record(page.url, "conversion", payload=io.BytesIO(page.dom), length=len(page.dom),
                                      warc_content_type="text/html; charset=utf-8", warc_headers_dict=fields)
