"""Title, publication time, 来源, author, views and channel of an article page.

Strong signals first: the government-site meta tags (ArticleTitle, PubDate, ContentSource,
ColumnName, SiteName), then the byline under the headline (来源 / 发布时间 / 编辑 / 浏览),
then the URL's date. Fields are read from the byline only, never from anywhere on the page:
the first date on a government page is usually the banner clock or a sidebar item.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from lxml.html import HtmlElement

from crawler.extract.content import content_node
from crawler.extract.page import Page, cjk_count, clean, meta_content
from crawler.extract.rules import RULES, any_of

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")

# Separators between a headline and the site's name in <title> (field_rules.toml [title]).
_SEPARATOR_ALTERNATION = any_of([
    r"\s-\s" if sep.strip() == "-" else re.escape(sep.strip()) if sep.strip() else re.escape(sep)
    for sep in RULES["title"]["separators"]], escape=False)
_TITLE_SEPARATORS = re.compile(rf"\s*(?:{_SEPARATOR_ALTERNATION})\s*")
_TRAILING_SEPARATOR = re.compile(rf"\s*(?:{_SEPARATOR_ALTERNATION})\s*$")
_WEAK_SEPARATORS = tuple(RULES["title"]["weak_separators"])
# Every separator a site's name may follow in a <title>, longest first (per-site learning).
TITLE_SEPARATORS = tuple(sorted({*RULES["title"]["separators"], *_WEAK_SEPARATORS}, key=len, reverse=True))
_SITE_SUFFIX = re.compile(any_of(RULES["title"]["site_endings"]) + "$")
# A bare `-` before a short site name closing the title (…城！-新华网); 2020-2021 is text.
_BARE_DASH_SITE = re.compile(r"^(?P<head>.*\S)\s*-\s*(?P<site>[^\s\d\-]{2,12})$")
DATE = _DATE = re.compile(
    r"(?P<y>(?:19|20)\d{2})\s*[-/年.]\s*(?P<m>\d{1,2})\s*[-/月.]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:\s*(?:T|\s)?\s*(?P<H>[0-2]?\d)\s*[:：时]\s*(?P<M>[0-5]\d)(?:\s*[:：分]\s*(?P<S>[0-5]\d))?)?"
)
# WordPress in a Chinese locale: "十一月 6th, 2009".
_CN_MONTHS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10,
              "十一": 11, "十二": 12}
_WORDPRESS_DATE = re.compile(
    r"(?P<m>十[一二]?|[一二三四五六七八九])月\s*(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s*(?P<y>(?:19|20)\d{2})"
)
_URL_DATES = (
    re.compile(r"/t(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})_\d+"),
    re.compile(r"/(?P<y>\d{4})-(?P<m>\d{2})/(?P<d>\d{2})/"),
    re.compile(r"/art/(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})/art_"),
    re.compile(r"/(?P<y>20\d{2})(?P<m>[01]\d)(?P<d>[0-3]\d)/"),
    re.compile(r"/(?P<y>20\d{2})/(?P<m>[01]\d)(?P<d>[0-3]\d)/"),
    re.compile(r"/(?P<y>20\d{2})(?P<m>[01]\d)/(?P<d>[0-3]\d)/"),
)
_BYLINE = RULES["byline"]
# Labels in order of preference when a byline has several.
SOURCE_LABELS = tuple(_BYLINE["source"])
AUTHOR_LABELS = tuple(_BYLINE["author"])
DATE_LABELS = tuple(_BYLINE["date"])
LATER_DATE_LABELS = tuple(_BYLINE["later_date"])
VIEW_LABELS = tuple(_BYLINE["views"])
IGNORED_LABELS = frozenset(_BYLINE["ignored"])


def _label_pattern(labels, short) -> str:
    """Alternation of the labels, longest first; one-character ones only after a non-Han.

    Every alternative opens with its label's first character (the non-Han check comes
    after it, looking back over it): so the regex engine can skip to where one of those
    characters occurs, instead of trying every position (ten times faster on a body)."""
    out = []
    for label in sorted(set(labels), key=len, reverse=True):
        escaped = r"\s*".join(re.escape(char) for char in label) if len(label) > 1 else re.escape(label)
        out.append(rf"{escaped}(?<![\u4e00-\u9fa5]{escaped})" if label in short else escaped)
    return "|".join(out)


# Labels of the byline fields; the value runs to the next label or a wide gap.
_LABEL = re.compile(
    r"(?P<label>" + _label_pattern((*SOURCE_LABELS, *AUTHOR_LABELS, *DATE_LABELS, *LATER_DATE_LABELS, *VIEW_LABELS,
                                    *IGNORED_LABELS),
                                   set(_BYLINE["short"])) + r")\s*[:：]\s*"
)
_SPACED = re.compile(r"\s+")
_GAP = re.compile(r"\s{2,}|[|｜【】\[\]()（）<>《》]|\s(?=\S*[:：])")
# A source keeps what is attached to it: 21世纪经济报道(广州), 人民网-《人民日报》.
_SOURCE_GAP = re.compile(r"\s{2,}|[|｜【】\[\]<>]|\s(?=\S*[:：])|\s[(（]|\s")
# A value that is itself a label (作者：转载请注明：…) is no value.
_LABEL_LIKE = re.compile(r"^[\u4e00-\u9fa5]{1,8}\s*[:：]")
# "（记者 张倩）", "本报记者罗科苏盈发自北京", "新京报记者 彭冲 山东冠县报道": reporters named in the text.
_NAME = r"[\u4e00-\u9fa5·]{2,4}"
# Where a credit's names end: a bracket, 发自/报道/摄, the end, a wide gap, the next label
# (来源：), or a date.
_CREDIT_END = (r"(?=\s*[）)\]】]|\s*发自|\s*报道|\s*摄|\s+\S*报道|\s*$|\s*/|\s{2,}"
               r"|\s+[\u4e00-\u9fa5]{2,6}\s*[:：]|\s*\d)")
_REPORTER = re.compile(
    r"(?:^|[（(\[【\s》：:]|[\u4e00-\u9fa5·]{2,12})"
    + any_of(word for word in RULES["credits"]["reporter_words"] if word == "记者")
    + rf"\s*(?P<v>{_NAME}(?:[ 、]{_NAME}){{0,3}}?)" + _CREDIT_END
)
# The other credit words of field_rules.toml [credits] (文/图 张三, 通讯员 李四), at a boundary.
_OTHER_CREDIT = re.compile(
    r"(?:^|[（(\[【\s》])" + any_of(word for word in RULES["credits"]["reporter_words"] if word != "记者")
    + rf"\s*(?P<v>{_NAME}(?:[ 、]{_NAME}){{0,3}}?)" + _CREDIT_END
)
# Any of those words: a substring search that rules _OTHER_CREDIT out at C speed (its
# pattern opens with a choice of boundaries, so the engine tries it at every position).
_ANY_CREDIT_WORD = re.compile(any_of(word for word in RULES["credits"]["reporter_words"] if word != "记者"))
# "（常书香 马丹阳 ）" or "[ 黄宇 ]": a bare name list in brackets closing or opening the text.
_BRACKETED_NAMES = re.compile(rf"^[（(\[]\s*(?P<v>{_NAME}(?:\s+{_NAME}){{0,4}})\s*[）)\]]$")
# "[ 黄宇 ]" in a byline: a bracketed name next to the date and 来源
_BYLINE_NAME = re.compile(rf"[\[【]\s*(?P<v>{_NAME}(?:\s+{_NAME}){{0,3}})\s*[\]】]")
_PERSON = re.compile(r"^[\u4e00-\u9fa5·]{2,4}$")
_NOT_CHANNELS = {"首页", "网站首页", "正文", "正文内容", "内容", "详情"}
_CRUMB_TAGS = frozenset({"div", "span", "td", "p", "nav", "ol", "ul"})
_BREADCRUMB = re.compile(r"^(?:当前位置|您现在的位置|您的位置|当前的位置|所在位置|位置)\s*[:：]?")


def _to_datetime(groups: dict[str, str | None]) -> datetime | None:
    try:
        return datetime(
            int(groups["y"] or 0), int(groups["m"] or 0), int(groups["d"] or 0),
            int(groups.get("H") or 0), int(groups.get("M") or 0), int(groups.get("S") or 0),
            tzinfo=CHINA,
        )
    except ValueError:
        return None


# Full-width digits and separators (２０２０－０１－１５ １０：３０) read as ASCII.
FULL_WIDTH = str.maketrans("０１２３４５６７８９－／：．", "0123456789-/:.")
_CN_DIGITS = {"〇": 0, "○": 0, "零": 0, "Ｏ": 0, "О": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9}
_CN_DIGIT = "〇○零ＯО一二三四五六七八九"
# 二〇二〇年一月十五日: the year digit by digit, month and day as numbers (十五, 二十一).
_CN_DATE = re.compile(
    rf"(?P<y>[{_CN_DIGIT}]{{4}})\s*年\s*(?P<m>十[一二]?|[一二三四五六七八九])\s*月"
    rf"\s*(?P<d>[二三]?十[一二三四五六七八九]?|[一二三四五六七八九])\s*日"
)


def _cn_number(text: str) -> int:
    """十五 -> 15, 二十一 -> 21, 三十 -> 30, 七 -> 7."""
    if "十" not in text:
        return _CN_DIGITS[text]
    tens, _, ones = text.partition("十")
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)


def parse_date(text: str | None) -> datetime | None:
    """The first plausible date (and time) in ``text``, in Asia/Shanghai unless it says otherwise.

    Reads 2020-01-15, 2020/1/15, 2020年1月15日 10:30 (also 10时30分), full-width digits and
    dates in Chinese numerals (二〇二〇年一月十五日)."""
    text = (text or "").translate(FULL_WIDTH)
    for match in _DATE.finditer(text):
        moment = _to_datetime(match.groupdict())
        if moment is not None and moment.year <= datetime.now().year + 1:
            return moment
    match = _CN_DATE.search(text)
    if match:
        year = "".join(str(_CN_DIGITS[char]) for char in match.group("y"))
        return _to_datetime({"y": year, "m": str(_cn_number(match.group("m"))),
                             "d": str(_cn_number(match.group("d")))})
    match = _WORDPRESS_DATE.search(text)
    if match:
        return _to_datetime({**match.groupdict(), "m": str(_CN_MONTHS[match.group("m")])})
    return None


def parse_iso(text: str | None) -> datetime | None:
    """Meta dates may be ISO 8601 with their own zone; keep it when given."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return parse_date(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=CHINA)


_DATE_LINE_REST = re.compile(r"[\s()（）\[\]【】<>〈〉,，.。:：日]*")


def date_line(lines: list[str]) -> datetime | None:
    """The date of a line that holds nothing but a date (2020年1月15日, （2020-01-15）): how a
    notice dates itself under its signature, or a template prints the day above the text."""
    for line in lines:
        line = line.strip()
        if not line or len(line) > 30:
            continue
        text = line.translate(FULL_WIDTH)
        match = _DATE.search(text) or _CN_DATE.search(text)
        if match and _DATE_LINE_REST.fullmatch(text[: match.start()] + text[match.end():]):
            return parse_date(text)
    return None


def date_from_url(url: str) -> datetime | None:
    for pattern in _URL_DATES:
        match = pattern.search(urlsplit(url).path)
        if match and (moment := _to_datetime(match.groupdict())):
            return moment
    return None


def iso_minutes(moment: datetime | None) -> str | None:
    """ISO 8601 with the zone, to the minute unless the page gave seconds."""
    if moment is None:
        return None
    return moment.isoformat(timespec="minutes" if moment.second == 0 else "seconds")


# --- title ------------------------------------------------------------------------------------

def _overlap(a: str, b: str) -> float:
    """Share of ``a``'s character bigrams found in ``b``."""
    grams = {a[i:i + 2] for i in range(len(a) - 1)}
    if not grams:
        return 1.0 if a and a in b else 0.0
    return sum(1 for gram in grams if gram in b) / len(grams)


def split_site_name(title: str, site_name: str | None = None) -> tuple[str, str | None]:
    """Split ``标题_天津消防网`` into (headline, site name); a title without a suffix stays whole.

    The weak separators (``：``, ``:``, a bare ``-``) split only off the site's declared
    name (人民网：标题, 标题-人民网): in a headline they are text (证监会：严厉打击…)."""
    if site_name:
        for weak in _WEAK_SEPARATORS:
            if title.endswith(weak + site_name) and len(title) > len(weak + site_name):
                return title[: -len(weak + site_name)].strip(), site_name
            if title.startswith(site_name + weak) and len(title) > len(site_name + weak):
                return title[len(site_name + weak):].strip(), site_name
    parts = [part for part in _TITLE_SEPARATORS.split(title) if part]
    if len(parts) < 2:
        match = _BARE_DASH_SITE.match(title)
        if match and _SITE_SUFFIX.search(match["site"]) and len(match["head"]) >= 2 * len(match["site"]):
            return match["head"], site_name or match["site"]
        return title, site_name
    suffix = parts[-1]
    if site_name and (suffix == site_name or site_name in suffix or suffix in site_name):
        return _TITLE_SEPARATORS.sub("", title[: title.rfind(suffix)]).strip() or title, site_name
    if len(suffix) <= 20 and (_SITE_SUFFIX.search(suffix) or len(suffix) < len(parts[0]) / 2 or "." in suffix):
        head = title[: title.rfind(suffix)]
        head = _TRAILING_SEPARATOR.sub("", head)
        # A second suffix level (标题_栏目_网站) goes too when it is as short as a channel name.
        inner = [part for part in _TITLE_SEPARATORS.split(head) if part]
        if len(inner) > 1 and len(inner[-1]) <= 8 and len(inner[0]) > 2 * len(inner[-1]):
            head = _TRAILING_SEPARATOR.sub("", head[: head.rfind(inner[-1])])
        return head.strip() or title, site_name or suffix
    return title, site_name


def strip_named_suffix(title: str | None, name: str | None) -> str | None:
    """``title`` without a closing ``-name`` / ``_name`` (any separator, weak ones too): a
    channel or site the page names elsewhere (ColumnName, the breadcrumb) and its <title>
    template appends (…监察法-纪检)."""
    if not title or not name or len(name) >= len(title) / 2:
        return title
    for separator in (*RULES["title"]["separators"], *_WEAK_SEPARATORS):
        tail = separator.strip() or separator
        if title.endswith(name) and title[: -len(name)].rstrip().endswith(tail):
            head = title[: -len(name)].rstrip()[: -len(tail)].rstrip()
            if head:
                return head
    return title


def headline_element(page: Page, title_hint: str) -> HtmlElement | None:
    """The heading element that best matches the page title (h1 first, then title-like nodes).

    Title-like nodes (a class or id saying "title") are searched only when no h1-h3 already
    matches the title well: finding them means reading every element's attributes."""
    best, best_score = None, 0.0
    hint = clean(title_hint)
    rank = 0
    for pass_ in (0, 1):
        if pass_ == 1:
            if best_score >= 0.9:
                break
            candidates = [el for el in page.root.iter("div", "td", "p", "span", "strong", "font")
                          if "title" in ((el.get("class") or "") + (el.get("id") or "")).lower()]
        else:
            candidates = list(page.root.iter("h1", "h2", "h3"))
        for element in candidates:
            rank += 1
            text = clean(element.text_content())
            if not (4 <= len(text) <= 160):
                continue
            score = _overlap(text, hint) * _overlap(hint, text) if hint else 0.5
            score -= (rank - 1) * 0.001
            if element.tag == "h1":
                score += 0.05
            if score > best_score:
                best, best_score = element, score
    return best if best is not None and (best_score >= 0.3 or not hint) else None


def headline_of(page: Page) -> tuple[str | None, str | None, HtmlElement | None]:
    """(headline, site name, headline element), worked out once a page."""
    if "headline" not in page.memo:
        page.memo["headline"] = extract_title(page)
    return page.memo["headline"]


def extract_title(page: Page) -> tuple[str | None, str | None, HtmlElement | None]:
    """(headline, site name, headline element)."""
    site_name = meta_content(page, "SiteName", "og:site_name", "application-name")
    title_tag = page.title_text
    meta_title = meta_content(page, "ArticleTitle", "og:title", "twitter:title")
    hint = meta_title or title_tag
    # Without any title to match, a heading is the headline only when it precedes the text
    # (an <h3> under the article is a newsletter box or a footer, not the headline).
    element = (headline_element(page, split_site_name(hint, site_name)[0]) if hint
               else heading_before_content(page))
    if meta_content(page, "ArticleTitle"):
        headline = meta_content(page, "ArticleTitle")
    elif element is not None:
        headline = clean(element.text_content())
        if hint and _overlap(headline, hint) < 0.6:
            headline = split_site_name(hint, site_name)[0]
    else:
        headline = split_site_name(hint, site_name)[0] if hint else None
    if title_tag:
        _, suffix = split_site_name(title_tag, site_name)
        site_name = site_name or suffix
    if headline:
        headline, _ = split_site_name(headline, site_name)
    if not meta_title and (not headline or len(headline) <= 8):
        # A <title> that only names the channel (新闻动态--学会官网): the article's own heading
        # is the last heading-like element before the text.
        heading = heading_before_content(page)
        if heading is not None:
            element, headline = heading, clean(heading.text_content())
    if headline:
        headline = _MARKUP.sub("", headline).strip(" _-|—－·") or headline
    return (headline or None), site_name, element


# Markup left in a title meta (<meta name="ArticleTitle" content="标题&lt;div&gt;">).
_MARKUP = re.compile(r"</?[a-zA-Z][^<>]{0,60}>")


def heading_before_content(page: Page) -> HtmlElement | None:
    content = content_node(page)
    if content is None:
        return None
    start = page.span(content)[0]
    best = None
    for element in page.root.iter("h1", "h2", "h3", "h4", "h5", "h6", "strong", "b", "div", "td", "p"):
        first, last = page.span(element)
        if first > start + 3:
            break  # document order: every later element starts later still
        if last > start + 3 or first >= last:
            continue
        if element.tag in ("div", "td", "p") and "tit" not in (element.get("class") or "") + (element.get("id") or ""):
            continue
        text = clean(element.text_content())
        if (9 <= len(text) <= 120 and not _LABEL.search(text)
                and not _BREADCRUMB.match(text) and not text.startswith("首页")):
            if best is None or page.span(best)[0] <= first:
                best = element
    return best


# --- byline -----------------------------------------------------------------------------------

def byline_text(page: Page, headline: HtmlElement | None, content: HtmlElement | None) -> str:
    """Text between the headline and the first real paragraph: where portals print 来源/时间/编辑.

    Blocks are joined with a wide gap, so a value never runs into the next block's text."""
    segments = page.segments
    if headline is not None:
        start = page.span(headline)[1]
    elif content is not None:
        start = max(0, page.span(content)[0] - 40)
    else:
        return ""
    stop = len(segments)
    if content is not None and page.span(content)[0] > start:
        stop = page.span(content)[0]
    out: list[str] = []
    size = 0
    if headline is not None and not _DATE.search(page.text_between(start, start + 40)):
        # Some templates print the date line above the headline.
        start = max(0, page.span(headline)[0] - 12)
    block = None
    for segment in segments[start:min(start + 80, stop)]:
        text = segment.text
        if cjk_count(text) > 60 and not _LABEL.search(text):
            break
        if block is not None and segment.block != block:
            out.append("  ")
        block = segment.block
        out.append(text)
        size += len(text)
        if size > 400:
            break
    return "".join(out).replace("\u00a0", " ").replace("\u3000", " ")


def before_text(page: Page, content: HtmlElement | None, size: int = 200) -> str:
    """The text right before the article body: where a byline sits when the headline is
    far away (a sidebar between them) or was not found."""
    if content is None:
        return ""
    start = page.span(content)[0]
    return clean(page.text_between(max(0, start - 30), start))[-size:]


def after_text(page: Page, content: HtmlElement | None, size: int = 300) -> str:
    """The text right after the article, where 编辑/责任编辑 lines often sit."""
    if content is None:
        return ""
    end = page.span(content)[1]
    out, total = [], 0
    for segment in page.segments[end:end + 100]:
        out.append(segment.text)
        total += len(segment.text)
        if total > size:
            break
    return clean("".join(out))[:size]


def byline_fields(text: str) -> dict[str, str]:
    """Label -> value for every ``label：value`` in the byline (first occurrence wins)."""
    fields: dict[str, str] = {}
    matches = list(_LABEL.finditer(text))
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        value = text[match.end():end]
        label = _SPACED.sub("", match.group("label"))
        if label in IGNORED_LABELS or _LABEL_LIKE.match(value.strip()):
            continue
        if label in SOURCE_LABELS:
            value = _SOURCE_GAP.split(value.strip(), 1)[0]
            value = _DATE.split(value, 1)[0] if _DATE.search(value) else value
        elif label not in DATE_LABELS and label not in LATER_DATE_LABELS:
            value = _GAP.split(value.strip(), 1)[0]
        value = clean(value).strip(" ,，;；")
        if value and label not in fields:
            fields[label] = value
    return fields


def without_other_dates(text: str) -> str:
    """The byline without the values of labels that date something else than the
    publication (成文日期, 修改时间, 实施日期 …): what "any date in the byline" may read."""
    matches = list(_LABEL.finditer(text))
    out, last = [], 0
    for i, match in enumerate(matches):
        label = _SPACED.sub("", match.group("label"))
        if label in LATER_DATE_LABELS or label in IGNORED_LABELS:
            out.append(text[last:match.start()])
            end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
            date = _DATE.match(text, match.end(), end) or _CN_DATE.match(text, match.end(), end)
            last = date.end() if date else match.end()
    return "".join(out) + text[last:] if out else text


def pick(fields: dict[str, str], labels) -> str | None:
    for label in labels:
        if fields.get(label):
            return fields[label]
    return None


def extract_channel(page: Page) -> str | None:
    channel = meta_content(page, "ColumnName", "column", "category")
    if channel:
        return channel
    # The breadcrumb is the outermost short element whose text opens with 当前位置 (found
    # from the text segments: reading every element's text would cost O(n·depth)).
    if "位置" not in page.text:
        return None  # every _BREADCRUMB label ends in 位置
    for segment in page.segments:
        if "位置" not in segment.text:
            continue  # every _BREADCRUMB label ends in 位置: a substring test spares the regex
        if not _BREADCRUMB.match(segment.text.strip()) or not segment.text.strip():
            continue
        found = None
        for element in (segment.element, *segment.element.iterancestors()):
            if element.tag not in _CRUMB_TAGS:
                continue
            text = clean(element.text_content())
            if len(text) >= 120 or not _BREADCRUMB.match(text):
                break
            found = text
        if found:
            trail = _BREADCRUMB.sub("", found)
            crumbs = [crumb for crumb in re.split(r"\s*(?:>>|>|＞|»|›|→|/|\\)\s*", trail) if crumb.strip()]
            crumbs = [crumb for crumb in crumbs if crumb not in _NOT_CHANNELS]
            if crumbs:
                return crumbs[-1]
    return None


def names(value: str | None) -> str | None:
    """The leading run of person names in a credit ("常书香 马丹阳 扫一扫…" -> "常书香 马丹阳");
    values that do not start with a name (an organisation, a site) are kept whole."""
    if not value:
        return None
    tokens = value.split()
    kept = []
    for token in tokens:
        if not _PERSON.match(token):
            break
        kept.append(token)
    return " ".join(kept) if kept else value


def bottom_author(lines: list[str], after: str = "") -> str | None:
    """``（责任编辑：张三）`` or ``执笔人：…`` closing the body, or in the text right after it."""
    for text in [*reversed(lines[-3:]), after]:
        value = pick(byline_fields(text.strip("（()）[]【】")), AUTHOR_LABELS)
        if value:
            return names(value)
    return None


_CREDIT_WORDS = frozenset({"通讯员", "实习生", "摄影", "见习记者", "特约记者", "记者", "编辑", "责任编辑", "报道"})


def _credited(value: str) -> str:
    """Names of a credit up to the next credit word: 陈明 通讯员 刘洋 -> 陈明."""
    kept = []
    for token in value.split():
        if token in _CREDIT_WORDS:
            break
        kept.append(token)
    return " ".join(kept) or value


def byline_name(byline: str) -> str | None:
    """A bracketed name in the byline, next to the date and 来源: ``[ 黄宇 ]``."""
    match = _BYLINE_NAME.search(byline)
    return clean(match.group("v")) if match else None


def reporter(texts: list[str]) -> str | None:
    """A reporter credited inside the text: 记者 + name, another credit word + name, or a
    bracketed name list closing a line."""
    for text in texts:
        match = (("记者" in text and _REPORTER.search(text))
                 or (_ANY_CREDIT_WORD.search(text) and _OTHER_CREDIT.search(text)))
        if match:
            return _credited(clean(match.group("v")))
        tail = text.strip()[-30:]
        bracket = tail[tail.rfind("（") if "（" in tail else tail.rfind("("):] if ("（" in tail or "(" in tail) else ""
        match = _BRACKETED_NAMES.match(bracket.strip()) if bracket else None
        if match:
            return clean(match.group("v"))
    return None


# --- generation time, site names, agency datelines ---------------------------------------------

_GENERATED = re.compile(r"(?:页面|网页|本页)?生成(?:时间|日期)\s*[:：]?")


def generation_times(page: Page) -> list[datetime]:
    """Timestamps the page labels as its own generation time (页面生成时间：…): a CMS that
    writes PubDate at render time prints the same moment, which is no publication date."""
    if "生成" not in page.text:
        return []  # most pages: no segment can hold the label
    segments = page.segments
    out = []
    for index, segment in enumerate(segments):
        if "生成" in segment.text and (match := _GENERATED.search(segment.text)):
            text = segment.text[match.end():] + "".join(s.text for s in segments[index + 1:index + 3])
            if moment := parse_date(text):
                out.append(moment)
    return out


def is_generation_time(page: Page, moment: datetime) -> bool:
    """True when ``moment`` is (to the minute) a time the page labels as its generation time."""
    return any(abs((moment - generated).total_seconds()) < 60 for generated in generation_times(page))


_LEADING_LABEL = re.compile(r"^\s*[\u4e00-\u9fa5]{1,6}\s*[:：]\s*")
_NO_NAME = re.compile(r"^[\W\d_]*$")


def meta_value(value: str | None) -> str | None:
    """A credit from a meta tag without the label some CMSes copy into it (来源：人民日报 ->
    人民日报); a value with no letter at all (an editor's user id, 105464) names nobody."""
    if not value:
        return None
    value = _LEADING_LABEL.sub("", value).strip()
    return None if _NO_NAME.match(value) else value


def names_the_site(value: str, page: Page) -> bool:
    """A ``<meta name="author">`` that only repeats the site's name names no writer: the
    declared name, the name split off the <title>, or what the <title> holds besides the
    headline (标题_网易财经 with the headline 标题: 网易 is the site), whatever separates them."""
    headline, site, _ = headline_of(page)
    declared = meta_content(page, *RULES["meta"]["site_name"]) or ""
    title = page.title_text
    rest = title.replace(headline, " ") if headline and len(headline) >= 4 and headline in title else ""
    value = clean(value)
    return any(name and (value == name or value in name) for name in (site or "", declared, rest))


_AGENCIES = sorted(RULES["dateline"]["agencies"], key=len, reverse=True)
_AGENCY = re.compile(
    r"^\s*[（(【\[]?(?P<agency>" + any_of(_AGENCIES)
    + r")(?:[\u4e00-\u9fa5]{1,10})?\s*(?:\d{1,2}\s*月\s*\d{1,2}\s*日|[0-9]{1,2}日)?\s*(?:电|讯|消息)"
)


def source_in_lines(lines: list[str]) -> str | None:
    """The news agency of a wire dateline opening the text (新华社北京1月15日电 -> 新华社);
    a paper crediting itself (本报讯) names no source."""
    for line in lines[:2]:
        match = _AGENCY.match(line.translate(FULL_WIDTH))
        if match and match.group("agency") != "本报":
            return match.group("agency")
    return None
