"""A process and its descendants, read from /proc: who is alive, and how much memory they hold."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def _read(path: str) -> bytes:
    """A small /proc file in one read (Path.read_text costs several times the kernel's work:
    the memory sampler below reads a hundred of them ten times a second)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = [os.read(fd, 1 << 16)]
        while chunks[-1]:
            chunks.append(os.read(fd, 1 << 16))
        return b"".join(chunks)
    finally:
        os.close(fd)


def _status(pid: int) -> dict[str, str]:
    try:
        text = _read(f"/proc/{pid}/status").decode("utf-8", "replace")
    except OSError:
        return {}
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def _parent(pid: str) -> int | None:
    """The parent's pid, from /proc/PID/stat (cheaper than status): the field after the state,
    which follows the command name's closing parenthesis (the name may hold any character)."""
    try:
        stat = _read(f"/proc/{pid}/stat")
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2:].split(b" ", 2)
    return int(fields[1]) if len(fields) > 1 else None


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (children, grandchildren ...)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            ppid = _parent(entry)
            if ppid:
                parents[int(entry)] = ppid
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


def kib(pid: int, field: str, status: dict[str, str] | None = None) -> int:
    """A size field of the process's status (VmHWM, VmRSS ...), in KiB; ``status`` if read already."""
    value = (_status(pid) if status is None else status).get(field, "0 kB").split()
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
        for line in _read(f"/proc/{pid}/smaps_rollup").splitlines():
            if line.startswith(b"Pss:"):
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
    FRESH_EVERY = 10  # passes: every browser process's PSS is read again at least this often

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid = pid
        self.interval = interval
        self.peaks: dict[int, int] = {}  # pid -> KiB
        self.names: dict[int, str] = {}  # pid -> the start of its command line
        self.browser_peak = 0  # bytes
        self._pss_seen: dict[int, tuple[tuple[str, ...], int]] = {}  # pid -> (its Rss* counts, PSS KiB)
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

    def _pss(self, pid: int, status: dict[str, str], fresh: bool) -> int:
        """The process's PSS in KiB. Reading it makes the kernel walk the whole address space
        (milliseconds for each Chromium process, which reserves gigabytes), so it is read again
        only when the process's own resident memory (any of its Rss* counts) changed, and on
        every ``fresh`` pass: the sum over the browser is otherwise the same, since pages its
        processes share moving from one's share to another's leave the sum unchanged."""
        resident = tuple(status.get(name, "") for name in ("VmRSS", "RssAnon", "RssFile", "RssShmem"))
        known = self._pss_seen.get(pid)
        if fresh or known is None or known[0] != resident:
            known = self._pss_seen[pid] = (resident, pss_kib(pid))
        return known[1]

    def _run(self) -> None:
        passes = 0
        while not self._stop.is_set():
            browser = 0
            fresh = passes % self.FRESH_EVERY == 0
            passes += 1
            for pid in {self.pid} | descendants(self.pid):
                status = _status(pid)
                if status.get("Name", "").strip() in self.BROWSER:
                    browser += self._pss(pid, status, fresh)
                elif status:
                    self.peaks[pid] = max(self.peaks.get(pid, 0), kib(pid, "VmHWM", status))
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
