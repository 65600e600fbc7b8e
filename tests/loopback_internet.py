"""A loopback internet: the open web's failure modes on 127.0.0.0/8, for crawls in tests and benchmarks.

- ``LoopbackResolver``: Scrapy's DNS resolver is pluggable (``TWISTED_DNS_RESOLVER``). This one
  maps the names a test registers to loopback addresses and answers every other name the way
  the system resolver answers a domain that does not exist (NXDOMAIN), or sends every other
  name to one address (a blackholed or trickling host). It logs every lookup, so a test can
  count how often a crawl tried a dead host. Nothing a crawl asks for leaves the machine.
  Test-only: production keeps Scrapy's own resolver.
- ``Blackhole``: a host that completes TCP handshakes and never says a word (``silent``), or
  that never completes one at all (``dropped``: a full accept queue, so SYNs go unanswered).
- ``Trickle``: a host that answers, one byte a second.
- ``CorpusPortal``: a portal made of real article pages (``shared/corpus/pages``) whose
  requisites still point at the hosts of the sites they came from; it can go down in the
  middle of a crawl (503, 502 or refused connections for a while) and come back.

Importable as ``tests.loopback_internet`` from the repository root (the crawl subprocess
loads the resolver by that name) and as ``loopback_internet`` inside pytest.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IResolverSimple
from zope.interface import implementer

RESOLVER = "tests.loopback_internet.LoopbackResolver"
# The message Twisted's resolver gives for a name the system resolver does not know
# (glibc: EAI_NONAME): what a crawl sees for a domain that no longer exists.
NXDOMAIN = "[Errno -2] Name or service not known"


# --- Names ------------------------------------------------------------------------------------

def resolver_settings(directory: Path, hosts: dict[str, str], default: str | None = None) -> dict[str, str]:
    """Scrapy settings that install the loopback resolver: ``hosts`` maps names to addresses;
    any other name is NXDOMAIN, or ``default`` when given. Lookups are logged beside."""
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "loopback-dns.json"
    log = directory / "loopback-dns.log"
    log.write_text("")
    config.write_text(json.dumps({"hosts": hosts, "default": default, "log": str(log)}))
    return {"TWISTED_DNS_RESOLVER": RESOLVER, "LOOPBACK_DNS": str(config)}


def lookups(directory: Path) -> Counter[str]:
    """How many times the crawl looked each name up (one lookup per connection attempt)."""
    log = directory / "loopback-dns.log"
    return Counter(log.read_text().split()) if log.exists() else Counter()


@implementer(IResolverSimple)
class LoopbackResolver:
    """Scrapy's ``TWISTED_DNS_RESOLVER``: registered names to their addresses, others NXDOMAIN
    (or the default address), every lookup logged."""

    def __init__(self, reactor: Any, config: dict[str, Any]) -> None:
        self.reactor = reactor
        self.hosts = {name.lower(): address for name, address in config["hosts"].items()}
        self.hosts.setdefault("localhost", "127.0.0.1")
        self.default = config.get("default")
        self.log = open(config["log"], "a", encoding="ascii")  # noqa: SIM115 - kept open for the crawl

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> LoopbackResolver:
        path = crawler.settings.get("LOOPBACK_DNS")
        if not path:
            raise RuntimeError("the loopback resolver needs -s LOOPBACK_DNS=FILE (tests/loopback_internet.py)")
        return cls(reactor, json.loads(Path(path).read_text()))

    def install_on_reactor(self) -> None:
        self.reactor.installResolver(self)

    def getHostByName(self, name: str, timeout: Any = ()) -> Deferred[str]:  # noqa: N802 - Twisted's interface
        self.log.write(name + "\n")
        self.log.flush()
        key = name.lower().rstrip(".")
        address = key if _is_ipv4(key) else self.hosts.get(key, self.default)
        if address is None:
            return defer.fail(DNSLookupError(f"address {name!r} not found: {NXDOMAIN}"))
        return defer.succeed(address)


def _is_ipv4(name: str) -> bool:
    try:
        socket.inet_aton(name)
    except OSError:
        return False
    return name.count(".") == 3


# --- Hosts that fail ----------------------------------------------------------------------------

class Listener:
    """A TCP server on a loopback address that accepts in a thread and hands each connection
    to ``take`` (by default: keeps it open and says nothing, a host that never answers)."""

    def __init__(self, address: str, backlog: int = 128) -> None:
        self.sock = socket.socket()
        self.sock.bind((address, 0))
        self.sock.listen(backlog)
        self.port = self.sock.getsockname()[1]
        self.connections: list[socket.socket] = []
        self._closed = False

    def take(self, connection: socket.socket) -> None:
        self.connections.append(connection)

    def _accept(self) -> None:
        while not self._closed:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.take(connection)

    def __enter__(self) -> Self:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closed = True
        for connection in self.connections:
            connection.close()
        self.sock.close()


class Blackhole(Listener):
    """``silent``: accepts every connection and never answers. ``dropped``: a listening socket
    with a full accept queue that nobody accepts from, so the kernel drops every SYN and a
    connect only times out."""

    def __init__(self, address: str, kind: str = "silent") -> None:
        super().__init__(address, 128 if kind == "silent" else 0)
        self.kind = kind
        if kind != "silent":
            for _ in range(4):  # fill the accept queue (and the SYN queue behind it)
                filler = socket.socket()
                filler.setblocking(False)
                try:
                    filler.connect((address, self.port))
                except BlockingIOError:
                    pass
                self.connections.append(filler)

    def __enter__(self) -> Self:
        return super().__enter__() if self.kind == "silent" else self


class Trickle(Listener):
    """Reads a request, then sends a response one byte every ``interval`` seconds."""

    RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: image/gif\r\nContent-Length: 4000\r\n\r\n" + b"G" * 4000

    def __init__(self, address: str, interval: float = 1.0) -> None:
        super().__init__(address)
        self.interval = interval

    def take(self, connection: socket.socket) -> None:
        super().take(connection)
        threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        try:
            connection.settimeout(30)
            received = b""
            while b"\r\n\r\n" not in received and len(received) < 65536:
                chunk = connection.recv(4096)
                if not chunk:
                    return
                received += chunk
            for byte in self.RESPONSE:
                if self._closed:
                    return
                connection.sendall(bytes([byte]))
                time.sleep(self.interval)
        except OSError:
            return


# --- A portal of real pages ------------------------------------------------------------------------

_HEAD = re.compile(rb"<head[^>]*>", re.I)
_BASE_HREF = re.compile(rb"<base[^>]*\shref", re.I)
# An address literal in a page would be fetched without any name lookup, past the loopback
# resolver, out to the internet: each is renamed to a host name that does not resolve.
_IP_REF = re.compile(rb"(?<=//)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?=[:/\"'?#\s)\\])")
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.I | re.S)
# Absolute and scheme-relative references to a host, in markup, CSS and scripts alike.
_HOST_REF = re.compile(rb"((?:https?:)?//)([a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+)"
                       rb"(?=[/\"'?#\s)\\])", re.I)
PER_LISTING = 15


@dataclass
class Served:
    path: str
    at: float
    status: int


@dataclass
class CorpusPortal:
    """Every page of ``shared/corpus/pages`` as an article of one portal named ``host``.

    Each page keeps its bytes, with a ``<base href>`` to where it came from (its truth
    ``url``, or a made-up host of its source) added when it has none: its relative
    requisites point at its original host, as its absolute ones already do. Address
    literals (``//39.106.x.x/``) become names that do not resolve: no request may leave
    the machine. With
    ``third_party_port``, every reference to another host names that port (where a
    blackholed or trickling server listens, the resolver sending every such name there).
    With ``cdn``, the home and every listing page also link a stylesheet of their own
    on that host (``cdn_urls``), as a portal's pages do on its static host.
    """

    pages_dir: Path
    host: str
    address: str = "127.0.0.1"
    third_party_port: int | None = None
    cdn: str | None = None
    routes: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    articles: list[str] = field(default_factory=list)
    served: list[Served] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._outage: tuple[int, float, str] | None = None  # (after this many articles, seconds, mode)
        self._down_until = 0.0
        self._mode = ""
        self.outage_began: float | None = None  # time.monotonic() when the outage began
        self._httpd = self._server(0)
        self.port = self._httpd.server_address[1]
        self.url = f"http://{self.host}:{self.port}/"
        self._build()

    # The portal
    def _build(self) -> None:
        titles = []
        for page in sorted(self.pages_dir.glob("*.html")):
            truth = page.with_suffix(".json")
            origin = json.loads(truth.read_text(encoding="utf-8")).get("url") if truth.exists() else None
            origin = origin or f"http://www.{page.stem.split('_')[0]}-origin.example.cn/{page.stem}.html"
            body = _IP_REF.sub(_named_ip, page.read_bytes())
            if not _BASE_HREF.search(body):
                base = f'<base href="{origin}">'.encode()
                if head := _HEAD.search(body):
                    body = body[:head.end()] + base + body[head.end():]
                else:  # a fragment of a page: given the head it lacks
                    body = b"<html><head>" + base + b"</head>" + body
            path = f"/xwzx/{page.stem}.html"
            self.routes[path] = ("text/html", body)
            self.articles.append(path)
            titles.append(_title(body) or page.stem)
        pages = [self.articles[k:k + PER_LISTING] for k in range(0, len(self.articles), PER_LISTING)]
        for number, chunk in enumerate(pages):
            items = "".join(f'<li><a href="{path}">{_escape(titles[self.articles.index(path)])}</a>'
                            f'<span>2024-05-{10 + number:02d}</span></li>' for path in chunk)
            pager = "".join(f'<a href="{_listing(k)}">{k + 1}</a> ' for k in range(len(pages)))
            html = (f"<html><head><meta charset='utf-8'><title>新闻中心_第{number + 1}页</title>"
                    f"{self._cdn_link(number + 1)}</head><body><h1>新闻中心</h1><ul class='list'>{items}</ul>"
                    f"<div class='pager'>{pager}</div></body></html>")
            self.routes[_listing(number)] = ("text/html; charset=utf-8", html.encode())
        home = (f"<html><head><meta charset='utf-8'><title>消防救援支队</title>{self._cdn_link(0)}</head><body>"
                f"<h1>消防救援支队</h1><a href='{_listing(0)}'>新闻中心</a></body></html>")
        self.routes["/"] = ("text/html; charset=utf-8", home.encode())
        if self.third_party_port is not None:
            self.routes = {path: (kind, self._to_third_party_port(body)) for path, (kind, body) in self.routes.items()}

    def _cdn_link(self, number: int) -> str:
        return f'<link rel="stylesheet" href="http://{self.cdn}/css/page-{number}.css">' if self.cdn else ""

    def cdn_urls(self) -> list[str]:
        """The stylesheets the portal's own pages link on ``cdn``."""
        port = f":{self.third_party_port}" if self.third_party_port is not None else ""
        pages = -(-len(self.articles) // PER_LISTING)
        return [f"http://{self.cdn}{port}/css/page-{number}.css" for number in range(pages + 1)] if self.cdn else []

    def _to_third_party_port(self, body: bytes) -> bytes:
        own = self.host.encode()

        def repoint(match: re.Match[bytes]) -> bytes:
            host = match.group(2)
            if host.lower() == own:
                return match.group(0)
            return match.group(1) + host + b":%d" % self.third_party_port

        return _HOST_REF.sub(repoint, body)

    def third_party_hosts(self) -> set[str]:
        """Every other host the pages name (what a crawl may try for requisites)."""
        hosts: set[str] = set()
        for _, body in self.routes.values():
            hosts.update(m.group(2).decode().lower() for m in _HOST_REF.finditer(body))
        return hosts - {self.host}

    # Going down and coming back
    def outage(self, after_articles: int, seconds: float, mode: str = "503") -> None:
        """Once ``after_articles`` article pages have been served, fail every request for
        ``seconds``: ``503``/``502`` answers, or ``refuse`` (nothing listens), then recover."""
        self._outage = (after_articles, seconds, mode)

    def _begin_outage(self, seconds: float, mode: str) -> None:
        self._mode = mode
        self.outage_began = time.monotonic()
        self._down_until = self.outage_began + seconds
        if mode == "refuse":
            threading.Thread(target=self._refuse_for, args=(seconds,), daemon=True).start()

    def _refuse_for(self, seconds: float) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        time.sleep(seconds)
        self._httpd = self._server(self.port)
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()

    def down(self) -> bool:
        return time.monotonic() < self._down_until

    def answer(self, path: str) -> tuple[int, str, bytes]:
        path = path.split("?", 1)[0].split("#", 1)[0]
        with self._lock:
            if self._outage is not None and path in self.articles:
                after, seconds, mode = self._outage
                if sum(1 for entry in self.served if entry.status == 200 and entry.path in self.articles) >= after:
                    self._outage = None
                    self._begin_outage(seconds, mode)
            if self.down() and self._mode in ("502", "503"):
                status, kind, body = int(self._mode), "text/html", b"<html><body>Service Unavailable</body></html>"
            elif path in self.routes:
                status, (kind, body) = 200, self.routes[path]
            else:
                status, kind, body = 404, "text/html", b"<html><body>404</body></html>"
            self.served.append(Served(path, time.monotonic(), status))
        return status, kind, body

    def served_articles(self) -> set[str]:
        return {entry.path for entry in self.served if entry.status == 200 and entry.path in self.articles}

    def _server(self, port: int) -> ThreadingHTTPServer:
        portal = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's interface
                status, kind, body = portal.answer(self.path)
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")  # an outage of refused connections means all of them
                self.end_headers()
                self.close_connection = True
                try:
                    self.wfile.write(body)
                except ConnectionError:
                    pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 128

        return Server((self.address, port), Handler)

    def __enter__(self) -> CorpusPortal:
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._down_until = 0.0
        self._httpd.shutdown()
        self._httpd.server_close()


def _named_ip(match: re.Match[bytes]) -> bytes:
    return b"-".join(match.groups()) + b".ip-origin.example.cn"


def _listing(number: int) -> str:
    return "/xwzx/index.html" if number == 0 else f"/xwzx/index_{number}.html"


def _title(body: bytes) -> str | None:
    match = _TITLE.search(body)
    if not match:
        return None
    for encoding in ("utf-8", "gb18030"):
        try:
            return " ".join(match.group(1).decode(encoding).split())[:60] or None
        except UnicodeDecodeError:
            continue
    return None


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
