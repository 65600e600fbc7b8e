"""Worker processes that never outlive the process that started them.

Used by the crawl's page workers (crawler/capture/workers.py) and the import's extraction workers
(archive/importer.py): both pools must go when a SIGKILL takes their parent, or they live
on, blocked on their call queue, holding tens of MiB each.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent_pid: int) -> None:
    """Worker initializer: the kernel kills this worker when its parent process dies.

    A parent killed with SIGKILL runs no cleanup, and a pool worker blocked on its call queue
    would otherwise live on (with its resource tracker). The signal is asked for with
    prctl(PR_SET_PDEATHSIG) on Linux; the parent may have died before that call, hence the
    check after it. Elsewhere this does nothing.
    """
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return
    try:
        prctl = ctypes.CDLL(libc_name, use_errno=True).prctl
    except (OSError, AttributeError):
        return
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(1)
