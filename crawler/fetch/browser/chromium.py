"""The crawl's one Chromium process: found, started, watched, killed.

Chromium is started here rather than by Playwright's ``launch`` so that the crawl owns the
process: it dies with the crawl (the kernel's parent-death signal, as page workers do in
crawler/capture/workers.py: a SIGKILL of the crawl leaves no browser behind; Chromium's own helper
processes exit with it), a hung browser can be killed outright, and its memory can be read
from /proc. Playwright then connects over the DevTools protocol (``connect_over_cdp``).

Nothing the browser does may reach the network by itself: every request a page makes is
routed through the crawl's downloader (crawler/fetch/browser/network.py). As a second wall the
browser gets a proxy that refuses every connection, loopback included, so a request that
escaped routing (a redirect Chromium follows on its own, a prefetch) fails instead of
leaving unrecorded and impolite.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

# Looked for on PATH, in this order, when BROWSER_EXECUTABLE is empty (Debian: chromium).
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
INSTALL_HINT = "apt-get install -y chromium"

# Nothing but the page: no sync, updates, background fetches or QUIC (a closed network answers
# them with error floods); --no-sandbox because crawls often run as root in containers.
ARGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync",
    "--disable-quic", "--disable-extensions", "--disable-default-apps", "--no-default-browser-check",
    "--mute-audio", "--hide-scrollbars", "--disable-breakpad", "--metrics-recording-only",
    "--disable-features=Translate,MediaRouter,OptimizationHints,InterestFeedContentSuggestions,BackForwardCache",
    # A page's script may hold at most this much heap (real portals use tens of MB): a page
    # that allocates without end crashes its renderer instead of the machine.
    "--js-flags=--max-old-space-size=256",
    # The wall: a proxy that refuses everything, even loopback (Chromium skips proxies for
    # loopback unless told), so no request leaves except through the crawl's downloader.
    "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
)

# Sets the parent-death signal, then becomes the browser: the exec keeps the signal, and no
# Python code runs between fork and exec in the crawl process (preexec_fn is unsafe with threads).
_DIE_WITH_PARENT = (
    "import ctypes, ctypes.util, os, signal, sys\n"
    "libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6', use_errno=True)\n"
    "libc.prctl(1, signal.SIGKILL, 0, 0, 0)\n"
    "if os.getppid() != int(sys.argv[1]): os._exit(1)\n"
    "os.execv(sys.argv[2], sys.argv[2:])\n"
)


def find_chromium(configured: str = "") -> str | None:
    """The browser executable: BROWSER_EXECUTABLE if set (a path or a name on PATH), else the first
    of ``CANDIDATES`` on PATH; None when there is none."""
    if configured:
        found = shutil.which(configured)
        return found if found else None
    for name in CANDIDATES:
        if found := shutil.which(name):
            return found
    return None


def playwright_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("playwright") is not None


class BrowserStartError(RuntimeError):
    """Chromium did not start (or said nothing of its DevTools endpoint in time)."""


@dataclass
class ChromiumProcess:
    """One running Chromium with a DevTools endpoint on loopback, in a temporary profile."""

    process: subprocess.Popen[bytes]
    profile: Path
    endpoint: str

    @classmethod
    async def start(cls, executable: str, extra_args: list[str] | None = None, timeout: float = 30) -> ChromiumProcess:
        """Start it from the calling (reactor) thread: the parent-death signal follows the
        thread that forks, so a worker thread's exit would take the browser with it."""
        profile = Path(tempfile.mkdtemp(prefix="portal-browser-"))
        args = [executable, *ARGS, "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
                f"--user-data-dir={profile}", *(extra_args or []), "about:blank"]
        log = open(profile / "chromium.log", "wb")  # noqa: SIM115 - the child holds it; closed below
        try:
            process = subprocess.Popen([sys.executable, "-c", _DIE_WITH_PARENT, str(os.getpid()), *args],
                                       stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        finally:
            log.close()
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = (profile / "chromium.log").read_bytes()[-400:].decode("utf-8", "replace")
                shutil.rmtree(profile, ignore_errors=True)
                raise BrowserStartError(f"{executable} exited with status {process.returncode}: {tail.strip()}")
            try:
                lines = port_file.read_text().split()
            except OSError:
                lines = []
            if len(lines) >= 2:
                return cls(process, profile, f"ws://127.0.0.1:{lines[0]}{lines[1]}")
            await asyncio.sleep(0.05)
        chromium = cls(process, profile, "")
        chromium.kill()
        raise BrowserStartError(f"{executable} gave no DevTools endpoint within {timeout:.0f} s")

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """Kill the browser and its helpers (its own session), reap it, remove its profile."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            logger.error("browser process %d did not exit after SIGKILL", self.process.pid)
        shutil.rmtree(self.profile, ignore_errors=True)


def tree_memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in bytes summed over ``pid`` and its descendants, from /proc.

    RSS counts memory shared between Chromium's processes once per process (an upper bound);
    PSS shares it out, so the sum is what the tree really holds.
    """
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_bytes()
            except OSError:
                continue
            ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    rss = pss = 0
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        frontier.extend(children.get(current, []))
        try:
            for line in Path(f"/proc/{current}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
        except (OSError, ValueError):
            continue
    return rss, pss
