"""Every setting the code reads has one documented default, in crawler/settings.py only.

Defaults restated at call sites drift (issue 10, item 27: crawler/fetch/retry.py said 1.0/60.0
where crawler/settings.py said 2.0/120.0), so call sites pass no fallback at all.
"""

from __future__ import annotations

import ast
import re

from support import ROOT

SETTINGS_FILE = ROOT / "crawler" / "settings.py"
CODE_DIRS = ("crawler", "pipelines", "archive")
# settings.get("NAME"...), crawler.settings.getint("NAME"...), settings["NAME"]
READ = re.compile(r"settings\.get\w*\(\s*['\"]([A-Z][A-Z0-9_]*)['\"]\s*(,)?"
                  r"|settings\[\s*['\"]([A-Z][A-Z0-9_]*)['\"]\s*\]")


def reads() -> list[tuple[str, str, bool]]:
    """(where, setting, passes a fallback) for every settings read in the code."""
    found = []
    for directory in CODE_DIRS:
        for path in sorted((ROOT / directory).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            for match in READ.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                name = match.group(1) or match.group(3)
                found.append((f"{path.relative_to(ROOT)}:{line}", name, bool(match.group(2))))
    return found


def documented_defaults() -> dict[str, list[bool]]:
    """Setting name -> for each top-level assignment in settings.py, whether a comment heads its block."""
    source = SETTINGS_FILE.read_text(encoding="utf-8")
    lines = source.splitlines()
    out: dict[str, list[bool]] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        else:
            targets = [node.target] if isinstance(node, ast.AnnAssign) else []
        for target in targets:
            if isinstance(target, ast.Name) and target.id.isupper():
                row = node.lineno - 2
                commented = False
                while row >= 0 and lines[row].strip():
                    commented = commented or lines[row].lstrip().startswith("#")
                    row -= 1
                out.setdefault(target.id, []).append(commented)
    return out


def test_the_code_reads_settings():
    names = {name for _, name, _ in reads()}
    assert {"RETRY_BACKOFF_BASE", "RETRY_BACKOFF_MAX", "WARC_MAX_SIZE", "CAPTURE_ENABLED"} <= names


def test_call_sites_pass_no_fallback_default():
    restated = [f"{where} {name}" for where, name, fallback in reads() if fallback]
    assert restated == []


def test_every_setting_read_has_one_documented_default():
    defaults = documented_defaults()
    problems = []
    for where, name, _ in reads():
        assigned = defaults.get(name, [])
        if len(assigned) != 1:
            problems.append(f"{where} {name}: {len(assigned)} defaults in crawler/settings.py")
        elif not assigned[0]:
            problems.append(f"{where} {name}: default has no comment")
    assert problems == []


def test_retry_backoff_uses_the_settings_defaults():
    """What the retry middleware runs with is what crawler/settings.py documents."""
    from scrapy.utils.test import get_crawler

    from crawler import settings as project
    from crawler.fetch.retry import BackoffRetryMiddleware

    crawler = get_crawler(settings_dict={name: getattr(project, name) for name in dir(project) if name.isupper()})
    middleware = BackoffRetryMiddleware.from_crawler(crawler)
    assert (middleware.base, middleware.ceiling) == (project.RETRY_BACKOFF_BASE, project.RETRY_BACKOFF_MAX)
