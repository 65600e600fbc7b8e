"""BENCHMARKS.md holds one section per benchmark; each benchmark rewrites only its own."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

BENCHMARKS_MD = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"


def replace_section(heading: str, section: str, path: Path = BENCHMARKS_MD) -> None:
    """Put ``section`` (starting with ``heading``) in place of the old one, or append it."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(heading)}\s*$.*?(?=^## |\Z)", re.M | re.S)
    section = section.rstrip("\n") + "\n"
    if pattern.search(text):
        text = pattern.sub(lambda _match: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def load_average() -> str:
    """The machine's load average now (1, 5, 15 minutes): recorded beside every figure, since
    the benchmarks run on a shared machine."""
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


def command_line(program: str, argv: list[str] | None = None) -> str:
    """The command as run (``program`` and its arguments), to print beside the figures."""
    return shlex.join([*shlex.split(program), *(sys.argv[1:] if argv is None else argv)])


def commit() -> str:
    """The commit measured, and whether the working tree differed from it."""
    root = BENCHMARKS_MD.parent

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "crawler", "archive", "pipelines", "bench")
    return head + (" plus uncommitted changes" if dirty else "")
