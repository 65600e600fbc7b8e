"""What one portal's crawl may request: schemes, hosts (IDN-safe, no made-up IP subdomains), ports.

Checked on every request just before it is scheduled (the ``request_scheduled`` signal, as
Scrapy's own OffsiteMiddleware does), so links, redirects and retries all pass the same
gate, and a ``file://HOST/etc/passwd`` link never reaches a download handler. A request
belongs to the site named in ``request.meta["site"]`` (``crawler/schedule/fleet.py``); a link from
portal A to portal B is out of A's scope even when B is crawled in the same run.

Rules, each a documented setting (``crawler/settings.py``):

- only ``SCOPE_SCHEMES`` (http and https) are requested; anything else is dropped and
  counted as ``scope/dropped_scheme/<scheme>``;
- host names are compared in their ASCII (punycode) form, so a Chinese-script start URL
  and the punycode links of its pages agree;
- a subdomain of an allowed host is in scope, but an IP address has no subdomains
  (``www.127.0.0.1`` would only cause a DNS lookup);
- ``SCOPE_ANY_PORT`` off: a URL is in scope on the scheme's default port or a port one of
  the site's start URLs uses; on: any port of an allowed host.

Page requisites (issue 9) marked with ``request.meta["requisite"] = True`` may come from any
host; their scheme is still checked.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21}


def ascii_host(host: str) -> str:
    """The host name as compared and requested: lower case, no trailing dot, punycode."""
    host = host.strip().rstrip(".").lower()
    if not host or host.isascii():
        return host
    try:
        import idna  # installed with Scrapy (via tldextract); stricter than the stdlib codec

        return idna.encode(host, uts46=True).decode("ascii")
    except (ImportError, UnicodeError, ValueError):
        try:
            return host.encode("idna").decode("ascii")
        except UnicodeError:
            return host


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def ascii_url(url: str) -> str:
    """``url`` with its host in punycode (what a link on the page would carry)."""
    parts = urlsplit(url.strip())
    if not parts.hostname or parts.hostname.isascii():
        return url.strip()
    host = ascii_host(parts.hostname)
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    if "@" in parts.netloc:
        netloc = parts.netloc.rsplit("@", 1)[0] + "@" + netloc
    return parts._replace(netloc=netloc).geturl()


def url_port(url: str) -> int | None:
    parts = urlsplit(url)
    try:
        return parts.port or DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:  # a port that is not a number
        return None


@dataclass(frozen=True)
class Scope:
    """One site's scope; build it with :func:`site_scope`."""

    hosts: frozenset[str]
    # Ports in scope besides the schemes' defaults; None = every port.
    ports: frozenset[int] | None
    schemes: frozenset[str]

    def host_allowed(self, host: str) -> bool:
        host = ascii_host(host)
        if host in self.hosts:
            return True
        if is_ip(host):
            return False
        return any(host.endswith("." + allowed) for allowed in self.hosts if not is_ip(allowed))

    def why_not(self, url: str, requisite: bool = False) -> str | None:
        """None when ``url`` is in scope, else the stats key naming why not."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in self.schemes:
            return f"dropped_scheme/{scheme or 'none'}"
        if requisite:
            return None
        if not parts.hostname or not self.host_allowed(parts.hostname):
            return "offsite"
        if self.ports is not None:
            try:
                port = parts.port  # None: the scheme's default port
            except ValueError:
                return "other_port"  # not a port at all
            if port is not None and port not in self.ports and port != DEFAULT_PORTS.get(scheme):
                return "other_port"
        return None


def site_scope(start_urls: list[str], hosts: list[str], schemes: list[str], any_port: bool) -> Scope:
    """The scope of a site crawled from ``start_urls`` over ``hosts``."""
    ports = None if any_port else frozenset(port for url in start_urls if (port := url_port(url)) is not None)
    return Scope(
        hosts=frozenset(ascii_host(host) for host in hosts if host),
        ports=ports,
        schemes=frozenset(scheme.lower() for scheme in schemes),
    )


def scheme_allowed(url: str, schemes: frozenset[str] | set[str]) -> bool:
    return urlsplit(url).scheme.lower() in schemes
