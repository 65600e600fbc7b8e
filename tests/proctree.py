"""A process and its descendants, read from /proc: who is alive, and how much memory they hold."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def _status(pid: int) -> dict[str, str]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (children, grandchildren ...)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            ppid = _status(int(entry)).get("PPid")
            if ppid:
                parents[int(entry)] = int(ppid)
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped does not count)."""
    state = _status(pid).get("State", "").strip()
    return bool(state) and not state.startswith("Z")


def kib(pid: int, field: str) -> int:
    value = _status(pid).get(field, "0 kB").split()
    return int(value[0]) if value else 0


def command_line(pid: int, words: int = 4) -> str:
    try:
        parts = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return str(pid)
    return " ".join(part.decode(errors="replace") for part in parts[:words] if part) or str(pid)


def pss_kib(pid: int) -> int:
    """The process's proportional set size (its share of the pages it shares), in KiB."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class PeakRss:
    """Samples a process tree while it runs. ``crawler_peak`` is the sum over every process ever
    seen of its own peak RSS (VmHWM), an upper bound of the tree's peak that no short spike
    escapes; ``browser_peak`` the highest summed PSS of the browser's processes (``BROWSER``:
    Chromium's, and Playwright's node driver). A browser is a dozen processes mapping the same
    200 MB binary and sharing memory: their RSS would count those pages a dozen times, their
    PSS counts them once. ``peak`` is both."""

    BROWSER = ("chromium", "chrome", "headless_shell", "node", "node-MainThread")

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid = pid
        self.interval = interval
        self.peaks: dict[int, int] = {}  # pid -> KiB
        self.names: dict[int, str] = {}  # pid -> the start of its command line
        self.browser_peak = 0  # bytes
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def crawler_peak(self) -> int:
        """Bytes."""
        return sum(self.peaks.values()) * 1024

    def breakdown(self) -> str:
        """Each process's peak, largest first: what a failed bound names."""
        return "; ".join(f"{pid} ({self.names.get(pid, '?')}) {peak / 1024:.0f} MiB"
                         for pid, peak in sorted(self.peaks.items(), key=lambda kv: -kv[1]))

    @property
    def peak(self) -> int:
        """Bytes."""
        return self.crawler_peak + self.browser_peak

    def _run(self) -> None:
        while not self._stop.is_set():
            browser = 0
            for pid in {self.pid} | descendants(self.pid):
                if _status(pid).get("Name", "").strip() in self.BROWSER:
                    browser += pss_kib(pid)
                else:
                    self.peaks[pid] = max(self.peaks.get(pid, 0), kib(pid, "VmHWM"))
                    if pid not in self.names:
                        self.names[pid] = command_line(pid)
            self.browser_peak = max(self.browser_peak, browser * 1024)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
