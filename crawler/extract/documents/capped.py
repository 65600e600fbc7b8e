"""Extraction under a time and a memory cap: a forked child per document, killed when over.

A hostile file (a PDF whose objects refer to each other without end, a zip bomb, a
decompression that never finishes, a library bug that loops or segfaults) must end as a
status, never take the crawl with it. Python cannot stop a thread, and a library stuck in
C code ignores signals, so each document is read in a child process: ``RLIMIT_AS`` bounds
its memory (allocation fails, MemoryError) and the parent kills it at the time cap
(SIGKILL; ``RLIMIT_CPU`` backs that up). The parent only waits on a pipe.

Forking is cheap here (the libraries are already imported, pages are copy-on-write) and
safe because it happens in a single-threaded attachment worker process
(crawler/capture/attachments.py), never in the crawl process with its reactor and writer threads.
"""

from __future__ import annotations

import os
import pickle
import resource
import select
import signal
import time

from crawler.extract.documents.extract import extract_document
from crawler.extract.documents.result import FAILED, TIMEOUT, TOO_LARGE, DocumentText, Limits
from crawler.extract.documents.sniff import sniff


def _address_space() -> int:
    """This process's virtual size in bytes (the child starts from it)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def extract_capped(data: bytes, limits: Limits, seconds: float, memory: int) -> DocumentText:
    """``extract_document(data)`` in a child limited to ``seconds`` and ``memory`` bytes more
    than the parent's address space; a child over either ends as ``timeout`` / ``too_large``."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_end)
        code = 0
        try:
            cpu = max(1, int(seconds + 1))
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
            if memory:
                ceiling = _address_space() + memory
                resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))
            try:
                result = extract_document(data, limits)
            except MemoryError:
                result = DocumentText(sniff(data), TOO_LARGE, error=f"over the memory cap ({memory >> 20} MiB)")
            payload = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_end, "wb") as out:
                out.write(payload)
        except BaseException:  # noqa: BLE001 - the parent reports a child that wrote nothing
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    chunks: list[bytes] = []
    deadline = time.monotonic() + seconds
    timed_out = False
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([pipe], [], [], left)
            if not ready:
                continue
            chunk = pipe.read(1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    if timed_out:
        _kill(pid)
    _, status = os.waitpid(pid, 0)
    if timed_out or (os.WIFSIGNALED(status) and os.WTERMSIG(status) in (signal.SIGXCPU, signal.SIGKILL)):
        return DocumentText(sniff(data), TIMEOUT, error=f"over the time cap ({seconds:g} s)")
    if chunks:
        try:
            return pickle.loads(b"".join(chunks))
        except (pickle.UnpicklingError, EOFError, ValueError):
            pass
    if os.WIFSIGNALED(status):
        why = f"the reader died with signal {signal.Signals(os.WTERMSIG(status)).name}"
    else:
        why = f"the reader exited with status {os.WEXITSTATUS(status)} and no result"
    # Allocation failures outside Python's reach (C libraries) end here too.
    return DocumentText(sniff(data), FAILED, error=f"{why} (memory cap {memory >> 20} MiB)")


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
