"""Score article extraction against trafilatura, GNE and readability-lxml, in one run.

    python bench/extract.py [--repeat 5] [--record] [--no-loso]

Every page of shared/corpus/pages/ with a truth body is scored: body P/R/F1 over character
bigrams (bench/scoring.py), pages below F1 0.5, pages with leaked chrome, title /
published-day / published-minute / author / source accuracy and the 信息公开 fields where
the truth has them, and median milliseconds per page. Peers that need text
get what a Scrapy user has, ``response.text``; trafilatura and the project get raw bytes.
A field a tool does not produce is ``n/a``, not a zero.

The project's rules were written on these pages, so its first row is in-sample. The
leave-one-site-out columns score each site's pages with the rules that other sites needed
(bench/loso.py: a rule that fires on that site alone is taken out) and with per-site
learning from that site's own pages only, as a crawl learns (crawler/extract/site_fields.py);
how pages are grouped into sites is in bench/scoring.py (``site_of``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.loso import Ablation, ablate, rule_name  # noqa: E402
from bench.report import command_line, commit, load_average, replace_section  # noqa: E402
from bench.scoring import (  # noqa: E402
    FIELD_NOTES,
    PARTIAL,
    LabelledPage,
    body_score,
    day_of,
    labelled_pages,
    leaked_chrome,
    minute_of,
    same_text,
    sites,
)


@dataclass
class Result:
    title: str | None = None
    published: str | None = None
    author: str | None = None
    body: str | None = None
    source: str | None = None
    # 信息公开 fields (only the project reads them; peers leave them None)
    index_no: str | None = None
    issuer: str | None = None
    written_at: str | None = None
    doc_no: str | None = None
    topic: str | None = None
    validity: str | None = None
    page_title: str | None = None  # the <title> as served: what per-site learning reads


# Disclosure fields scored where a truth JSON has them (same key names as the item's).
DISCLOSURE_FIELDS = ("index_no", "issuer", "written_at", "doc_no", "topic", "validity")


Extractor = Callable[[LabelledPage], Result]


def scrapy_text(page: LabelledPage) -> str:
    from scrapy.http import HtmlResponse

    return HtmlResponse(page.url or "http://example.invalid/", body=page.html).text


def result_of(item) -> Result:
    return Result(item.title, item.published_at, item.author, item.body, item.source,
                  **{name: getattr(item, name) for name in DISCLOSURE_FIELDS}, page_title=item.page_title)


def project(page: LabelledPage) -> Result:
    from crawler.extract import extract_article

    return result_of(extract_article(page.html, url=page.url or ""))


def trafilatura_tool(page: LabelledPage) -> Result:
    import trafilatura

    doc = trafilatura.bare_extraction(page.html, url=page.url, with_metadata=True)
    if doc is None:
        return Result()
    data = doc if isinstance(doc, dict) else doc.as_dict()
    return Result(data.get("title"), data.get("date"), data.get("author"), data.get("text"), data.get("sitename"))


def gne_tool(page: LabelledPage) -> Result:
    from gne import GeneralNewsExtractor

    data = GeneralNewsExtractor().extract(scrapy_text(page))
    return Result(data.get("title"), data.get("publish_time"), data.get("author"), data.get("content"),
                  data.get("source"))


def readability_tool(page: LabelledPage) -> Result:
    import lxml.html
    from readability import Document

    document = Document(scrapy_text(page))
    summary = lxml.html.fromstring(document.summary())
    for block in summary.iter("p", "div", "br", "li", "h1", "h2", "h3", "tr"):
        block.tail = "\n" + (block.tail or "")
    return Result(document.short_title(), None, None, summary.text_content())


TOOLS: dict[str, Extractor] = {
    "portal-archiver": project,
    "trafilatura": trafilatura_tool,
    "gne": gne_tool,
    "readability-lxml": readability_tool,
}
# The fields each tool produces; the others are n/a in its row (trafilatura's sitename is
# the site, not the article's 来源, and its date has no time of day; GNE has no 来源;
# readability-lxml has no date, author or 来源).
TOOL_FIELDS: dict[str, frozenset[str]] = {
    "portal-archiver": frozenset({"title", "day", "minute", "author", "source"}),
    "trafilatura": frozenset({"title", "day", "author"}),
    "gne": frozenset({"title", "day", "minute", "author"}),
    "readability-lxml": frozenset({"title"}),
}


@dataclass
class ToolReport:
    name: str
    precision: list[float] = field(default_factory=list)
    recall: list[float] = field(default_factory=list)
    f1: dict[str, float] = field(default_factory=dict)
    leaks: dict[str, list[str]] = field(default_factory=dict)
    title: list[bool] = field(default_factory=list)
    day: list[bool] = field(default_factory=list)
    minute: list[bool] = field(default_factory=list)
    author: list[bool] = field(default_factory=list)
    source: list[bool] = field(default_factory=list)
    disclosure: dict[str, list[bool]] = field(default_factory=dict)
    ms: list[float] = field(default_factory=list)
    failures: int = 0
    learned: int = 0  # pages whose fields per-site learning changed


def score_into(report: ToolReport, page: LabelledPage, result: Result) -> None:
    truth = page.truth
    score = body_score(result.body, truth["body"])
    report.precision.append(score.precision)
    report.recall.append(score.recall)
    report.f1[page.name] = score.f1
    if leaks := leaked_chrome(result.body, truth["body"]):
        report.leaks[page.name] = leaks
    # Truths documented as not the field's value (FIELD_NOTES) are left out of the columns.
    def has(name: str) -> bool:
        return bool(truth.get(name)) and (page.name, name) not in FIELD_NOTES

    if has("title"):
        report.title.append(same_text(result.title, truth["title"]))
    if has("published") and day_of(truth.get("published")):
        report.day.append(day_of(str(result.published or "")) == day_of(truth["published"]))
    if has("published") and minute_of(truth.get("published")):
        report.minute.append(minute_of(str(result.published or "")) == minute_of(truth["published"]))
    if has("author"):
        report.author.append(same_text(result.author, truth["author"]))
    if has("source"):
        report.source.append(same_text(result.source, truth["source"]))
    for name in DISCLOSURE_FIELDS:
        if truth.get(name):
            report.disclosure.setdefault(name, []).append(same_text(getattr(result, name, None), truth[name]))


def run_tools(tools: dict[str, Extractor], pages: list[LabelledPage], repeat: int,
              site_of: dict[str, str]) -> list[ToolReport]:
    """Every tool on every page; the tools take turns on each page (and each repeat), so a
    load change on the shared machine hits all of them alike and the time ratios hold. The
    project's results then get per-site learning, as its index rows do after a crawl."""
    reports = {name: ToolReport(name) for name in tools}
    results: dict[str, dict[str, Result]] = {name: {} for name in tools}
    for page in pages:
        timings: dict[str, list[float]] = {name: [] for name in tools}
        for _ in range(repeat):
            for name, tool in tools.items():
                start = time.perf_counter()
                try:
                    results[name][page.name] = tool(page)
                except Exception:  # noqa: BLE001 - a peer crashing on a page scores zero there
                    results[name][page.name] = Result()
                    reports[name].failures += 1
                timings[name].append((time.perf_counter() - start) * 1000)
        for name in tools:
            reports[name].ms.append(statistics.median(timings[name]))
    if "portal-archiver" in results:
        reports["portal-archiver"].learned = learn_per_site(results["portal-archiver"], site_of)
    for name in tools:
        for page in pages:
            score_into(reports[name], page, results[name][page.name])
    return list(reports.values())


def learn_per_site(results: dict[str, Result], site_of: dict[str, str]) -> int:
    """Per-site learning over each site's pages (crawler/extract/site_fields.py), decided from
    all of them as the crawl's index is; how many pages it changed."""
    from crawler import settings
    from crawler.extract.site_fields import SiteFieldLearner

    learner = SiteFieldLearner(settings.SITE_FIELDS_MIN_PAGES, settings.SITE_FIELDS_SHARE)
    for name, result in results.items():
        learner.observe(site_of[name], result.page_title, result.author)
    changed = 0
    for name, result in results.items():
        revision = learner.facts(site_of[name]).revise(result.title, result.author, None, None, [])
        result.title = revision.get("title", result.title)
        result.author = revision["author"] if "author" in revision else result.author
        changed += bool(revision)
    return changed


def leave_one_site_out(pages: list[LabelledPage], site_of: dict[str, str]) -> tuple[ToolReport, Ablation]:
    """The project scored site by site without the rules only that site needed."""
    ablation = ablate(pages, site_of)
    results = {name: result_of(item) for name, item in ablation.loso_items.items()}
    report = ToolReport("portal-archiver, leave-one-site-out")
    report.learned = learn_per_site(results, site_of)
    for page in pages:
        score_into(report, page, results[page.name])
    return report, ablation


def share(values: list[bool]) -> str:
    return f"{sum(values) / len(values):.2f} ({sum(values)}/{len(values)})" if values else "-"


def cell(report: ToolReport, name: str) -> str:
    """A field's score, or n/a where the tool does not produce that field."""
    produced = TOOL_FIELDS.get(report.name, frozenset({"title", "day", "minute", "author", "source"}))
    return share(getattr(report, name)) if name in produced else "n/a"


def table(reports: list[ToolReport], pages: int) -> list[str]:
    lines = [
        f"Pages scored: {pages} (every page in shared/corpus/pages/ with a truth body). In-sample: the "
        "project's rules were written on these pages, which are also its regression suite, and the chrome leak "
        "list repeats phrases of crawler/extract/chrome_rules.toml (0 leaks holds by construction); the peers "
        "were not tuned on them. Its leave-one-site-out figures are below.",
        "",
        "| tool | body P | body R | body F1 | pages F1 < 0.5 | pages leaking chrome | title | published day "
        "| published minute | author | source | median ms/page |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in reports:
        lines.append(
            f"| {r.name} | {statistics.mean(r.precision):.3f} | {statistics.mean(r.recall):.3f} | "
            f"{statistics.mean(r.f1.values()):.3f} | {sum(f1 < 0.5 for f1 in r.f1.values())} | {len(r.leaks)} | "
            f"{cell(r, 'title')} | {cell(r, 'day')} | {cell(r, 'minute')} | {cell(r, 'author')} | "
            f"{cell(r, 'source')} | {statistics.median(r.ms):.1f} |"
        )
    ours = next((r for r in reports if r.name == "portal-archiver"), None)
    if ours is not None:
        lines.append("")
        if ours.disclosure:
            lines.append("- 信息公开 fields (portal-archiver): " + ", ".join(
                f"{name} {share(values)}" for name, values in sorted(ours.disclosure.items())))
        else:
            lines.append("- 信息公开 fields: no truth JSON of this corpus labels them (index_no, issuer, written_at, "
                         "doc_no, topic, validity are scored where one does)")
        for r in reports:
            if r is not ours:
                lines.append(f"- portal-archiver/{r.name}: body F1 {statistics.mean(ours.f1.values()):.3f} vs "
                             f"{statistics.mean(r.f1.values()):.3f}; median time ratio "
                             f"{statistics.median(ours.ms) / statistics.median(r.ms):.2f}")
        lines += [f"- {r.name} raised {r.failures} times over {len(r.ms)} pages (scored as empty)"
                  for r in reports if r.failures]
        lines.append("- times: per page the median of --repeat runs, then the median over pages; all tools in one "
                     "process, taking turns on every page, so load on the shared machine hits them alike; the "
                     "ratios are what to compare")
        lines.append("- published minute: scored where the truth gives a time of day; n/a: the tool has no such "
                     "field (trafilatura's sitename is the site's name, not the article's 来源; its date is a day)")
        lines.append("- left out of the field columns, as documented in bench/scoring.py FIELD_NOTES (the truth is "
                     "not the field's value): " + "; ".join(f"{page} {name} ({why})"
                                                          for (page, name), why in sorted(FIELD_NOTES.items())))
        lines.append("- truth bodies documented as partial (bench/scoring.py PARTIAL): "
                     + ", ".join(f"{page} (F1 {ours.f1.get(page, 0):.2f})" for page in sorted(PARTIAL)))
    return lines


def loso_table(ours: ToolReport, held: ToolReport, ablation: Ablation, site_of: dict[str, str]) -> list[str]:
    """In-corpus and leave-one-site-out, field by field; which rules each site needed."""
    from crawler import settings

    site_pages = Counter(site_of.values())
    multi = sum(1 for count in site_pages.values() if count > 1)
    lines = [
        "### Leave-one-site-out (portal-archiver)",
        "",
        f"Sites: {len(site_pages)} ({multi} with more than one page, at most {max(site_pages.values())}); a page's "
        "site is the registrable domain of its URL (truth url, og:url, canonical link or saved-from comment), else "
        "of most of its links, else a site of its own (bench/scoring.py site_of).",
        "",
        "| field | in-corpus | leave-one-site-out |",
        "|---|---|---|",
        f"| body F1 | {statistics.mean(ours.f1.values()):.3f} ({sum(f < 0.5 for f in ours.f1.values())} pages < 0.5) "
        f"| {statistics.mean(held.f1.values()):.3f} ({sum(f < 0.5 for f in held.f1.values())} pages < 0.5) |",
    ]
    for label, name in (("title", "title"), ("published day", "day"), ("published minute", "minute"),
                        ("author", "author"), ("source", "source")):
        lines.append(f"| {label} | {share(getattr(ours, name))} | {share(getattr(held, name))} |")
    for name in sorted(ours.disclosure):
        lines.append(f"| {name} | {share(ours.disclosure[name])} | {share(held.disclosure.get(name, []))} |")
    fires = ablation.fires
    counts = Counter(len(fired) for fired in fires.values())
    lines += [
        "",
        f"- rules (entries of the lists in crawler/extract/field_rules.toml): {len(fires)}; firing on 2 sites or "
        f"more: {sum(n for k, n in counts.items() if k >= 2)}, on 1 site: {counts[1]} (taken out when that site is "
        f"scored), on none: {counts[0]} (not needed by this corpus; a rule backed up by another does not fire "
        "alone either)",
        f"- per-site learning changed {ours.learned} pages in-corpus, {held.learned} leave-one-site-out (it needs "
        f"SITE_FIELDS_MIN_PAGES = {settings.SITE_FIELDS_MIN_PAGES} pages of a site; the largest site here has "
        f"{max(site_pages.values())})",
        "- rules only one site needed: " + ("; ".join(
            f"{site}: " + ", ".join(sorted(rule_name(rule) for rule in rules))
            for site, rules in sorted(ablation.only.items())) or "none"),
        "- entries firing on any site, per list: " + ", ".join(
            f"{section}.{key} {sum(1 for rule in rules if fires[rule])}/{len(rules)}"
            for (section, key), rules in sorted(_by_list(fires).items())),
        "- sites each firing rule fires on (every other rule: none; all of them: --verbose): " + "; ".join(
            f"{rule_name(rule)} {len(fired)}" for rule, fired in sorted(fires.items(), key=lambda kv: -len(kv[1]))
            if fired),
    ]
    return lines


def record(lines: list[str], command: str) -> None:
    section = "\n".join(["## Extraction benchmark", "", f"Command: `{command}` at commit {commit()} (run "
                         f"{date.today()}; load average (1/5/15 min) {load_average()})", "", *lines])
    replace_section("## Extraction benchmark", section)


def _by_list(fires: dict) -> dict[tuple[str, str], list]:
    out: dict[tuple[str, str], list] = {}
    for rule in fires:
        out.setdefault(rule[:2], []).append(rule)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per page (median kept)")
    parser.add_argument("--tools", nargs="*", default=list(TOOLS))
    parser.add_argument("--pages", nargs="*", help="only these page names")
    parser.add_argument("--record", action="store_true", help="write the table into BENCHMARKS.md")
    parser.add_argument("--verbose", action="store_true", help="per-page F1 and leaks")
    parser.add_argument("--no-loso", action="store_true", help="skip the leave-one-site-out columns")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    pages = [page for page in labelled_pages() if not args.pages or page.name in args.pages]
    site_of = sites(pages)
    reports = run_tools({name: TOOLS[name] for name in args.tools}, pages, args.repeat, site_of)
    if args.verbose:
        for page in pages:
            cells = "  ".join(f"{r.name[:6]}={r.f1[page.name]:.2f}" for r in reports)
            leaks = {r.name[:6]: r.leaks[page.name] for r in reports if page.name in r.leaks}
            print(f"{page.name:48} {site_of[page.name]:24} {cells}  {leaks or ''}")
    lines = table(reports, len(pages))
    ours = next((r for r in reports if r.name == "portal-archiver"), None)
    if ours is not None and not args.no_loso:
        held, ablation = leave_one_site_out(pages, site_of)
        lines += ["", *loso_table(ours, held, ablation, site_of)]
        if args.verbose:
            for rule, fired in sorted(ablation.fires.items()):
                print(f"{rule_name(rule):48} fires on {len(fired)} site(s) {' '.join(sorted(fired))}")
    lines.append(f"\nLoad average (1 min) on the shared 2-core machine: {load_before:.1f} at the start, "
                 f"{os.getloadavg()[0]:.1f} at the end.")
    print("\n".join(lines))
    if args.record:
        record(lines, command_line("bench/extract"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
