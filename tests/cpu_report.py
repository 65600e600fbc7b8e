"""Where the suite's CPU goes: per test, the CPU of the test process and of the child
processes it waited for, and the commands it started (issue 23).

The suite is CPU-bound on a 2-core machine, so the wall-clock durations pytest prints
(``--durations``) say little about what to make cheaper: a politeness-bound crawl waits,
a crawl subprocess's start-up burns ~2 CPU-s before its first request. Off unless
``PORTAL_TEST_CPU_REPORT=FILE`` is set; then each test appends one JSON line to FILE
(xdist workers append to the same file). Summarise with ``python tests/cpu_report.py FILE``:
CPU per module, and each worker's busy time and how long it sat idle before the pass ended
(idle workers would mean the schedule, not the CPU, sets the pass's length).

A child's CPU is counted when it is waited for (``RUSAGE_CHILDREN``, and what the test
zygote reports of the commands it forked): a module-scoped fixture's crawl is counted in
the first test that uses it. Commands run by the zygote are listed as ``zygote: MODULE ARGS``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import zygote

REPORT = os.environ.get("PORTAL_TEST_CPU_REPORT")
_started: list[str] = []


def _command(args) -> str:
    """The first words of a command, the program by its name only."""
    words = [str(word) for word in (args if isinstance(args, (list, tuple)) else [args])][:4]
    return " ".join([os.path.basename(words[0]), *words[1:]]) if words else ""


if REPORT:
    _popen_init = subprocess.Popen.__init__

    def _counting_init(self, args, *more, **options):
        _started.append(_command(args))
        _popen_init(self, args, *more, **options)

    subprocess.Popen.__init__ = _counting_init


def _cpu() -> tuple[float, float]:
    """CPU of this process, and of its children and the zygote's (tests/zygote.py) so far."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime + zygote.children_cpu_s


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    if not REPORT:
        yield
        return
    _started.clear()
    zygote.started.clear()
    own, children = _cpu()
    at, started = time.time(), time.perf_counter()
    yield
    own_after, children_after = _cpu()
    line = {"test": item.nodeid, "worker": os.environ.get("PYTEST_XDIST_WORKER", "main"),
            "at": round(at, 3),
            "wall_s": round(time.perf_counter() - started, 3),
            "cpu_s": round(own_after - own, 3), "children_cpu_s": round(children_after - children, 3),
            "started": list(_started) + zygote.started, "postgres": bool(os.environ.get("PORTAL_TEST_POSTGRES"))}
    with open(REPORT, "a", encoding="utf-8") as out:
        out.write(json.dumps(line, ensure_ascii=False) + "\n")


def summary(path: Path, top: int = 15) -> str:
    """CPU per module and the commands started most often, largest first."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    by_module: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    commands: Counter[str] = Counter()
    for row in rows:
        totals = by_module[row["test"].split("::")[0]]
        totals[0] += row["cpu_s"] + row["children_cpu_s"]
        totals[1] += row["wall_s"]
        totals[2] += len(row["started"])
        commands.update(row["started"])
    cpu = sum(totals[0] for totals in by_module.values())
    lines = [f"{len(rows)} tests, {cpu:.0f} CPU-s (test processes and the children they waited for)",
             f"{'module':50} {'CPU s':>7} {'wall s':>7} {'started':>7}"]
    for module, (module_cpu, wall, started) in sorted(by_module.items(), key=lambda kv: -kv[1][0])[:top]:
        lines.append(f"{module:50} {module_cpu:7.0f} {wall:7.0f} {started:7d}")
    lines.append("commands started most often: " + ", ".join(f"{name} ({n})" for name, n in commands.most_common(top)))
    lines += timeline(rows)
    return "\n".join(lines)


def timeline(rows: list[dict]) -> list[str]:
    """Per pass and worker: how long it was busy and when it went idle, from the pass's first
    test. A worker idle long before the others is time the pass's schedule leaves unused."""
    lines = []
    for postgres in (False, True):
        chosen = [row for row in rows if row["postgres"] == postgres and "at" in row]
        if not chosen:
            continue
        zero = min(row["at"] for row in chosen)
        workers: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for row in chosen:
            busy = workers[row["worker"]]
            busy[0] += row["wall_s"]
            busy[1] = max(busy[1], row["at"] + row["wall_s"] - zero)
        end = max(last for _, last in workers.values())
        lines.append(f"{'PostgreSQL' if postgres else 'SQLite'} pass: {end:.0f} s from its first test to its last")
        for worker, (busy, last) in sorted(workers.items()):
            lines.append(f"  {worker}: busy {busy:.0f} s, idle from {last:.0f} s ({end - last:.0f} s before the end)")
    return lines


if __name__ == "__main__":
    print(summary(Path(sys.argv[1])))
