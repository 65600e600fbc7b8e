"""A long crawl says where it is: progress lines in the log, a live line on a terminal."""

from __future__ import annotations

import os
import pty
import re
import subprocess

import pytest
from support import ROOT, crawl_command
from zygote import popen, run

from demo.server import DemoServer
from demo.site import build_site

pytestmark = [pytest.mark.slow, pytest.mark.crawl]

PROGRESS = re.compile(r"progress: (\d+) pages \([\d.]+/s\), (\d+) articles, (\d+) errors; sites (\d+) done, (\d+) left")


def command(archive, seeds, **extra: str) -> list[str]:
    return crawl_command(archive, f"sites={seeds}", settings={"PROGRESS_INTERVAL": "0.3", **extra})


@pytest.fixture(scope="module")
def portals():
    site = build_site(channels=2, articles_per_channel=6, extras=False)
    with DemoServer(site, host="127.0.0.2", delay=0.2) as a, DemoServer(site, host="127.0.0.3", delay=0.2) as b:
        yield site, a, b


def test_progress_is_logged_at_a_steady_interval(tmp_path, portals):
    site, a, b = portals
    seeds = tmp_path / "seeds.txt"
    seeds.write_text(f"{a.url}\n{b.url}\n")
    # One connection per host to a slowish server: the crawl lasts several progress intervals.
    result = run(command(tmp_path / "archive", seeds, CONCURRENT_REQUESTS_PER_DOMAIN="1"), cwd=ROOT,
                 capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [tuple(map(int, match.groups())) for match in PROGRESS.finditer(result.stderr)]
    assert len(lines) >= 3, result.stderr[-3000:]
    pages = [line[0] for line in lines]
    assert pages == sorted(pages) and pages[-1] > pages[0]
    assert all(done + left == 2 for *_, done, left in lines)


def test_a_live_line_is_drawn_on_a_terminal(tmp_path, portals):
    _, a, _ = portals
    seeds = tmp_path / "seeds.txt"
    seeds.write_text(f"{a.url}\n")
    master, slave = pty.openpty()
    process = popen(command(tmp_path / "archive", seeds, PROGRESS_INTERVAL="0"), cwd=ROOT,
                    stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    output = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    assert process.wait(timeout=180) == 0
    os.close(master)
    text = output.decode("utf-8", "replace")
    assert re.search(r"\d+ pages \([\d.]+/s\), \d+ articles, \d+ errors", text), text[-3000:]
    assert "\x1b[" in text  # drawn in place, not logged
    assert "progress:" not in text  # PROGRESS_INTERVAL=0: no log lines, only the live line
