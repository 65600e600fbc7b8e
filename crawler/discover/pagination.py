"""The generic listing mechanisms the family files (``cms/*.toml``) configure.

Three kinds cover the families in the catalogue:

- **sequences**: a script states a page count and the pages are files built from a
  template (TRS ``createPageHTML`` in both argument orders, ``var countPage = N``);
- **records**: links inside markup that sits in a ``<script>`` (Hanweb ``<datastore>``
  CDATA, ``dataStore`` JS arrays), which HTML link extractors never look into;
- **endpoints**: a paged endpoint named by the page (Hanweb ``dataproxy.jsp`` GET or POST,
  ``morecolumndataproxy.jsp``, gkmlpt's API, JPaaS units, TRS IGS), asked page after page
  until it answers no records or the page count it states is reached.

Everything here is a plain function of text, so it runs in the page workers too; the
spider turns the returned specs into requests (``crawler/spiders/portal.py``).
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

from crawler.discover.families import Endpoint, Family, Knowledge, Sequence

_HREF = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>'"]+))""", re.I)
_ONCLICK = re.compile(r"""\bon(?:dbl)?click\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.I)
_ATTR = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>'"]+))""")
_JS_PAIR = re.compile(r"""(['"]?)(\w+)\1\s*:\s*(?:'([^']*)'|"([^"]*)"|([^,}\s]+))""")
_VAR = re.compile(r"\{(\w+)\}")
_RECORD = re.compile(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.S | re.I)
_CURRENT = re.compile(r"""var\s+currentPage\s*=\s*['"]?(\d+)""")
_NAME = re.compile(r"^(?P<name>.+?)\.(?P<ext>[A-Za-z0-9]+)$")


def _unescape_js(text: str) -> str:
    return text.replace('\\"', '"').replace("\\'", "'").replace("\\/", "/")


def fragment_links(fragment: str, onclick: tuple[re.Pattern[str], ...] = ()) -> list[str]:
    """Raw href targets (and onclick URLs) in a piece of HTML that no DOM parser sees."""
    fragment = _unescape_js(fragment)
    urls = [html.unescape(next(group for group in match.groups() if group is not None))
            for match in _HREF.finditer(fragment)]
    if onclick:
        urls.extend(onclick_urls(fragment, onclick))
    return [url.strip() for url in urls if url.strip() and not url.strip().lower().startswith(("javascript:", "#"))]


def onclick_urls(text: str, calls: tuple[re.Pattern[str], ...]) -> list[str]:
    """URLs that onclick handlers open (``isDownLoad(this,'…')``, ``window.open('…')`` …)."""
    if "click" not in text:
        return []
    urls = []
    for match in _ONCLICK.finditer(text):
        handler = html.unescape(match.group(1) if match.group(1) is not None else match.group(2))
        for call in calls:
            if found := call.search(handler):
                urls.append(found.group("url"))
                break
    return urls


def _commented(text: str, position: int) -> bool:
    """Is ``position`` inside a // line comment, a /* */ block or an <!-- --> comment?"""
    line = text[text.rfind("\n", 0, position) + 1:position]
    if re.search(r"(?<![:\\])//", line):
        return True
    if text.rfind("/*", 0, position) > text.rfind("*/", 0, position):
        return True
    # An HTML comment; inside a script "<!--" is not one (old pages hide scripts in <!-- //-->).
    in_script = text.rfind("<script", 0, position) > text.rfind("</script", 0, position)
    return not in_script and text.rfind("<!--", 0, position) > text.rfind("-->", 0, position)


def _name_parts(url: str, text: str) -> tuple[str, str]:
    """The current page's file name and extension, without its own page suffix."""
    last = urlsplit(url).path.rsplit("/", 1)[-1] or "index.html"
    match = _NAME.match(last)
    name, ext = (match.group("name"), match.group("ext")) if match else (last, "html")
    current = _CURRENT.search(text)
    if current and int(current.group(1)) > 0 and name.endswith(f"_{current.group(1)}"):
        name = name[: -len(current.group(1)) - 1]
    return name, ext


def sequence_urls(text: str, url: str, families: list[Family], limit: int) -> list[str]:
    """Pages a script pager implies; of several pagers on one page, the highest precedence wins."""
    return sequence_pages(text, url, families, limit)[0]


def sequence_pages(text: str, url: str, families: list[Family], limit: int) -> tuple[list[str], str | None, int]:
    """(pages, the pager call that implied them, the page count it claims) for
    ``sequence_urls``; pages past ``limit`` are left out (the caller reports the cut)."""
    best: tuple[int, list[str], str | None, int] = (-1, [], None, 0)
    for family in families:
        for sequence in family.sequences:
            for match in sequence.pattern.finditer(text):
                if _commented(text, match.start()):
                    continue
                urls = _sequence(sequence, match, url, text, limit)
                claimed = int(match.group("count"))
                if sequence.precedence > best[0]:
                    best = (sequence.precedence, urls, match.group(0)[:80], claimed)
                elif sequence.precedence == best[0]:
                    best[1].extend(urls)
                    best = (*best[:3], max(best[3], claimed))
    return list(dict.fromkeys(best[1])), best[2], best[3]


def _sequence(sequence: Sequence, match: re.Match[str], url: str, text: str, limit: int) -> list[str]:
    values = match.groupdict()
    name, ext = _name_parts(url, text)
    parts = {"name": values.get("name") or name, "ext": values.get("ext") or ext}
    count = min(int(values["count"]), limit)
    urls = [urljoin(url, sequence.page_one.format(**parts))] if sequence.page_one else []
    urls.extend(urljoin(url, sequence.page.format(n=n, **parts))
                for n in range(sequence.first, count + sequence.last_offset + 1))
    return urls


def record_links(text: str, families: list[Family], onclick: tuple[re.Pattern[str], ...]) -> list[str]:
    """Links inside script-embedded records (Hanweb datastore CDATA, dataStore arrays)."""
    urls: list[str] = []
    for family in families:
        for region in family.records:
            for match in region.finditer(text):
                urls.extend(fragment_links(match.group("region"), onclick))
    return urls


# --- endpoints -------------------------------------------------------------------------------

def _js_object(text: str) -> dict[str, str]:
    return {m.group(2): next(g for g in m.groups()[2:] if g is not None) for m in _JS_PAIR.finditer(text)}


def _json_object(text: str) -> dict[str, Any]:
    """A JSON object written with either quote (unitbuild's queryData is single-quoted)."""
    text = html.unescape(text).strip()
    for candidate in (text, text.replace("'", '"')):
        try:
            value = json.loads(candidate)
            return value if isinstance(value, dict) else {}
        except ValueError:
            continue
    return _js_object(text)


def _variables(endpoint: Endpoint, match: re.Match[str], text: str) -> dict[str, str]:
    found: dict[str, Any] = dict(endpoint.defaults)
    for name, pattern in endpoint.context.items():
        if context := pattern.search(text):
            found[name] = context.group("v")
    whole = match.group(0)
    if whole.lstrip().startswith("<"):
        for attr in _ATTR.finditer(whole):
            found[attr.group(1).lower()] = next(g for g in attr.groups()[1:] if g is not None)
    elif endpoint.form or endpoint.window:
        found.update(_js_object(whole))
    found.update({key: value for key, value in match.groupdict().items() if value is not None})
    if endpoint.json_vars and endpoint.json_vars in found:
        found.update({key: value for key, value in _json_object(found[endpoint.json_vars]).items()
                      if isinstance(value, (str, int, float))})
    return {key: str(value) for key, value in found.items()}


def _fill(template: str, values: dict[str, str]) -> str | None:
    if template.startswith("{") and template.endswith("}") and _VAR.fullmatch(template):
        value = values.get(template[1:-1])
        return html.unescape(value).strip() if value else None
    missing = [name for name in _VAR.findall(template) if name not in values]
    if missing:
        return None
    return _VAR.sub(lambda m: quote(html.unescape(values[m.group(1)]), safe=""), template)


def set_param(url: str, name: str, value: str) -> str:
    """``url`` with query parameter ``name`` set to ``value``, the rest kept as written."""
    pattern = re.compile(rf"([?&]{re.escape(name)}=)[^&#]*")
    if pattern.search(url):
        return pattern.sub(lambda m: m.group(1) + value, url, count=1)
    return url + ("&" if "?" in url else "?") + f"{name}={value}"


def query_param(url: str, name: str) -> str | None:
    match = re.search(rf"[?&]{re.escape(name)}=([^&#]*)", url)
    return match.group(1) if match else None


@dataclass
class EndpointSpec:
    """One page of one endpoint: what the spider requests, and how to ask for the next."""

    key: str
    url: str
    page: int
    form: dict[str, str] | None = None
    window: int = 0
    per_page: int = 0
    total_pages: int = 0
    channel: str = ""
    # Digest of the previous page's links: an endpoint that ignores the page number and
    # answers the same records again is not asked on (up to DISCOVER_MAX_ENDPOINT_PAGES).
    previous: str = ""


def find_endpoints(text: str, url: str, families: list[Family]) -> list[EndpointSpec]:
    """The first page of every endpoint this page names."""
    specs: list[EndpointSpec] = []
    for family in families:
        for endpoint in family.endpoints:
            regions = [m.group("region") for m in endpoint.within.finditer(text)] if endpoint.within else [text]
            for region in regions:
                for match in endpoint.find.finditer(region):
                    if spec := _first_spec(endpoint, match, text, url):
                        specs.append(spec)
    unique = {(spec.url, json.dumps(spec.form, sort_keys=True)): spec for spec in specs}
    return list(unique.values())


def _first_spec(endpoint: Endpoint, match: re.Match[str], text: str, url: str) -> EndpointSpec | None:
    values = _variables(endpoint, match, text)
    target = _fill(endpoint.url, values)
    if not target:
        return None
    target = urljoin(url, target)
    form = _js_object(html.unescape(values[endpoint.form])) if endpoint.form and endpoint.form in values else None
    if endpoint.window:
        size = int(values.get(endpoint.window_size or "", "0") or 0) or 20
        spec = EndpointSpec(endpoint.key, target, 1, form, window=size * endpoint.window_groups)
    else:
        page = endpoint.first_page
        if page is None and endpoint.page_param:
            written = query_param(target, endpoint.page_param)
            page = int(written) if written and written.isdigit() else 1
        spec = EndpointSpec(endpoint.key, target, page if page is not None else 1, form)
    spec.url = page_url(endpoint, spec)
    return spec


def page_url(endpoint: Endpoint, spec: EndpointSpec) -> str:
    """The URL of page ``spec.page`` of the endpoint."""
    url = spec.url
    if endpoint.window:
        start, end, size = endpoint.window
        first = (spec.page - 1) * spec.window + 1
        url = set_param(set_param(set_param(url, start, str(first)), end, str(first + spec.window - 1)),
                        size, str(spec.window))
    if endpoint.page_param:
        url = set_param(url, endpoint.page_param, str(spec.page))
    if endpoint.param_json:
        name, key = endpoint.param_json
        written = query_param(url, name)
        value = _json_object(unquote(written)) if written else {}
        value[key] = spec.page
        url = set_param(url, name, quote(json.dumps(value, separators=(",", ":"), ensure_ascii=False), safe=""))
    return url


@dataclass
class EndpointPage:
    """What one endpoint response held."""

    links: list[str]
    records: int
    total_pages: int = 0
    total: int = 0


def _path(data: Any, dotted: str | None) -> Any:
    if not dotted:
        return None
    for part in dotted.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def read_endpoint(endpoint: Endpoint, text: str, onclick: tuple[re.Pattern[str], ...] = ()) -> EndpointPage:
    """Records, their links and the stated page/record counts of one endpoint response."""
    if endpoint.response == "xml":
        records = _RECORD.findall(text)
        links = [link for record in records for link in fragment_links(record, onclick)]

        def tag(name: str | None) -> int:
            found = re.search(rf"<{name}>\s*(\d+)\s*</{name}>", text, re.I) if name else None
            return int(found.group(1)) if found else 0
        return EndpointPage(links, len(records), tag(endpoint.total_pages), tag(endpoint.total))
    if endpoint.response == "html":
        links = fragment_links(text, onclick)
        return EndpointPage(links, len(links))
    data = _json_payload(text)
    links: list[str] = []
    records = 0
    items = _path(data, endpoint.items)
    if isinstance(items, list):
        records = len(items)
        for item in items:
            if isinstance(item, dict):
                found = next((item[key] for key in endpoint.url_keys if isinstance(item.get(key), str)), None)
                if found:
                    links.append(found)
    fragment = _path(data, endpoint.html_key)
    if isinstance(fragment, str):
        fragment_urls = fragment_links(fragment, onclick)
        links.extend(fragment_urls)
        records = records or len(fragment_urls)
    return EndpointPage(links, records, _int(_path(data, endpoint.total_pages)), _int(_path(data, endpoint.total)))


def _json_payload(text: str) -> Any:
    """The JSON of a response, also inside a JSONP ``callback(...)`` wrapper; {} if none."""
    text = text.strip()
    for candidate in (text, text[text.find("{"): text.rfind("}") + 1] if "{" in text else ""):
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    return {}


def next_page(endpoint: Endpoint, spec: EndpointSpec, page: EndpointPage, limit: int) -> EndpointSpec | None:
    """The next page to ask for, or None: stop at a page with no records, or at the stated end."""
    digest = hashlib.sha1("\n".join(page.links).encode("utf-8")).hexdigest()
    if page.records == 0 or spec.page >= limit or digest == spec.previous:
        return None
    per_page = spec.per_page or endpoint.per_page or page.records
    total_pages = page.total_pages or spec.total_pages
    if not total_pages and page.total:
        size = spec.window or per_page
        total_pages = math.ceil(page.total / size) if size else 0
    number = spec.page - (endpoint.first_page if endpoint.first_page is not None else 1) + 1
    if total_pages and number >= total_pages:
        return None
    following = EndpointSpec(spec.key, spec.url, spec.page + 1, spec.form, spec.window, per_page, total_pages,
                             spec.channel, digest)
    following.url = page_url(endpoint, following)
    return following


def shell_endpoints(text: str, url: str, known: Knowledge, covered: list[str]) -> list[str]:
    """Script endpoints the page fetches data from that no family mechanism reads."""
    if "<script" not in text:
        return []
    covered_paths = {urlsplit(target).path for target in covered}
    found = []
    for call in known.shell_calls:
        for match in call.finditer(text):
            target = urljoin(url, html.unescape(match.group("url")))
            parts = urlsplit(target)
            path = parts.path
            static = path.lower().endswith((".html", ".htm", ".shtml")) and not parts.query
            if path in covered_paths or static or path.lower().endswith((".js", ".css")):
                continue
            if known.counters and known.counters.search(target):
                continue
            found.append(path)
    return list(dict.fromkeys(found))
