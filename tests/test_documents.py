"""Attachment text: every fixture (made by LibreOffice, ReportLab, 7-Zip and by hand for OFD and
the hostile ones: scripts/attachment_fixtures.py) gives its known text, type and status, and
hostile files end as a status within the time and memory caps."""

from __future__ import annotations

import difflib
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from support import ROOT

from crawler.extract.documents import Limits, extract_document
from crawler.extract.documents.capped import extract_capped
from crawler.extract.documents.sniff import sniff
from crawler.extract.documents.text import join_wrapped

FIXTURES = Path(__file__).parent / "fixtures" / "attachments"
TRUTH = tomllib.loads((FIXTURES / "truth.toml").read_text(encoding="utf-8"))
# The crawl's own caps are settings; these are what the tests hold every fixture to.
SECONDS, MEMORY = 30.0, 512 << 20
LIMITS = Limits(max_unpacked=64 << 20)


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("name", sorted(TRUTH))
def test_fixture_gives_its_truth(name: str) -> None:
    truth = TRUTH[name]
    started = time.monotonic()
    result = extract_capped((FIXTURES / name).read_bytes(), LIMITS, SECONDS, MEMORY)
    assert time.monotonic() - started < SECONDS
    assert (result.kind, result.status) == (truth["type"], truth["status"]), result.error
    if "pages" in truth:
        assert result.pages == truth["pages"]
    for phrase in truth["phrases"]:
        assert phrase in result.text, f"{phrase!r} not found in {name}"
    for phrase in truth.get("absent", ()):
        assert phrase not in result.text
    if truth["status"] not in ("ok", "no_text"):
        assert result.error  # every failure says why


@pytest.mark.parametrize("name", ["notice.pdf", "notice.docx", "notice.doc", "columns.pdf", "cid.pdf",
                                  "order.pdf"])
def test_whole_text_in_reading_order(name: str) -> None:
    """The text, whitespace aside, matches what the document says, in its order."""
    expected = squeezed((FIXTURES / f"{Path(name).stem}.txt").read_text(encoding="utf-8"))
    got = squeezed(extract_document((FIXTURES / name).read_bytes()).text)
    ratio = difflib.SequenceMatcher(None, expected, got, autojunk=False).ratio()
    assert ratio > 0.99, (name, ratio, got[:200])


@pytest.mark.parametrize("name", ["notice.pdf", "columns.pdf", "notice.ofd"])
def test_search_phrases_survive_line_and_page_breaks(name: str) -> None:
    """Every run of letters and digits of the known text (what search matches: archive/search.py)
    is one run in the extracted text too: no line, column or page break inside it."""
    text = extract_document((FIXTURES / name).read_bytes()).text
    source = FIXTURES / f"{Path(name).stem}.txt"
    known = source.read_text(encoding="utf-8") if name.endswith(".pdf") else "\n".join(TRUTH[name]["phrases"])
    runs = set(re.findall(r"[^\W_]+", known))
    assert runs and [run for run in runs if run not in text] == []


def test_join_wrapped_keeps_headings_and_latin_words() -> None:
    heading, body = "第一部分 工作要求", "在当前经济下行压力加大的背景下"
    assert join_wrapped(f"{heading}\n\n{body}") == f"{heading}\n{body}"
    assert join_wrapped("fire safety\ninspection") == "fire safety inspection"
    long_block = "各地各有关部门" * 5
    assert join_wrapped(f"{long_block}\x0c要加强监管") == f"{long_block}要加强监管"


def test_type_comes_from_the_bytes_not_the_name() -> None:
    """A WPS 文字 file saved in Word's binary format is read as DOC; a .pdf that is a DOCX as DOCX."""
    assert sniff((FIXTURES / "notice.doc").read_bytes()) == "doc"
    result = extract_document((FIXTURES / "notice.docx").read_bytes())
    assert result.kind == "docx" and "特勤消防站装备统筹调配机制" in result.text
    assert sniff(b"\xef\xbb\xbf<!DOCTYPE html><html>") == "html"
    assert sniff("序号,名称\n1,消防".encode("gb18030")) == "txt"


def test_time_cap_ends_a_slow_read_as_timeout() -> None:
    data = (FIXTURES / "notice.pdf").read_bytes()
    started = time.monotonic()
    result = extract_capped(data, LIMITS, 0.01, MEMORY)  # notice.pdf takes ~150 ms of CPU
    assert result.status == "timeout" and result.kind == "pdf"
    assert time.monotonic() - started < 5


def test_memory_cap_ends_a_bomb_that_passes_the_size_bounds() -> None:
    """The DOCX bomb's 150 MiB document.xml, allowed by a generous unpack bound, parsed under a
    64 MiB memory cap: the child runs out of memory, and that is a status."""
    data = (FIXTURES / "bomb.docx").read_bytes()
    result = extract_capped(data, Limits(max_unpacked=1 << 30), 30, 64 << 20)
    assert result.status in ("too_large", "failed"), result
    assert "memory" in (result.error or "")


def test_archive_members_are_listed_with_their_names() -> None:
    result = extract_document((FIXTURES / "bundle.zip").read_bytes())
    names = {member["name"]: member for member in result.members}
    assert set(names) == {"附件1：实施方案.docx", "附件2：统计表.xlsx", "说明.txt"}
    assert names["附件1：实施方案.docx"]["kind"] == "docx" and names["说明.txt"]["status"] == "ok"


IMPORTED = '''
import sys
{setup}
print(" ".join(sorted(name for name in ("scrapy", "twisted", "pdfminer.pdfinterp", "openpyxl", "docx", "olefile",
                                         "xlrd", "crawler.extract.documents.archives") if name in sys.modules)))
'''


@pytest.mark.parametrize(("setup", "loaded"), [
    # the attachment worker's side imports no crawl machinery (0.6 CPU-s a crawl, issue 23)
    ("import crawler.capture.attachment_worker", ""),
    # each kind warms up its own readers; an archive may hold any kind
    ("from crawler.extract.documents import warm_up; warm_up('pdf')", "pdfminer.pdfinterp"),
    ("from crawler.extract.documents import warm_up; warm_up('doc')", "olefile xlrd"),
    ("from crawler.extract.documents import warm_up; warm_up('ole')", "olefile xlrd"),  # a DOC told by its head
    ("from crawler.extract.documents import warm_up; warm_up('xlsx')", "docx openpyxl"),
    ("from crawler.extract.documents import warm_up; warm_up('png')", ""),
    ("from crawler.extract.documents import warm_up; warm_up('zip')",
     "crawler.extract.documents.archives docx olefile openpyxl pdfminer.pdfinterp xlrd"),
])
def test_an_attachment_worker_loads_only_what_its_files_need(setup: str, loaded: str):
    result = subprocess.run([sys.executable, "-c", IMPORTED.format(setup=setup)], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == loaded
