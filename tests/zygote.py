"""``python -m MODULE ARGS`` to completion, forked from a process that has imported the
project already (a zygote, as Chromium and Android start their processes), so a test's
crawl or CLI command does not pay the ~1.2 CPU-s of importing Scrapy, Twisted, SQLAlchemy
and the project first (issue 23: the suite is CPU-bound, and it starts a few hundred).

What runs is the module's own ``__main__``, as ``python -m`` runs it: in a process of its
own (its pid, its exit status, its page workers, its reactor installed fresh), with the
test's working directory, environment and arguments, its standard output and error in
files the test reads back. What differs from a fresh interpreter is only what was decided
at start-up: the modules are imported once, before the environment the test gives (no
project module reads the environment when imported; tests/test_zygote.py checks the
zygote's results against a fresh process), and Python's own start-up variables
(PYTHONHASHSEED, PYTHONPATH) are the zygote's.

Only run-to-completion helpers use it (tests/support.py ``run_module``): tests that signal,
kill or read a command while it runs start it with subprocess as before.
``PORTAL_TEST_ZYGOTE=0`` turns it off: every command is then a fresh ``python -m``.

The zygote is one per test process, started on first use, single-threaded (a selector over
its socket and the children's pidfds, so a fork never copies another thread's lock), and
gone with the test process: it ends when its standard input, a pipe from the test
process, closes.
"""

from __future__ import annotations

import gc
import io
import json
import os
import runpy
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENABLED = os.environ.get("PORTAL_TEST_ZYGOTE", "1") != "0"
# Imported before any fork: what a crawl and the CLI import first.
PRELOAD = ("scrapy.cmdline", "scrapy.crawler", "crawler.spiders.portal", "crawler.capture.workers",
           "archive.cli", "archive.index", "archive.models", "alembic.command")


# --- the test's side ------------------------------------------------------------------------

class _Client:
    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="zygote-"))
        self.path = self.directory / "socket"
        self.process = subprocess.Popen([sys.executable, __file__, str(self.path)], cwd=ROOT,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError("the test zygote did not start")

    def run(self, module: str, args: list[str], cwd: Path, env: dict[str, str], timeout: float | None,
            text: bool) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", module, *args]
        with tempfile.TemporaryDirectory(dir=self.directory) as scratch:
            out, err = Path(scratch) / "stdout", Path(scratch) / "stderr"
            with socket.socket(socket.AF_UNIX) as conn:
                conn.connect(str(self.path))
                conn.sendall(json.dumps({"module": module, "args": args, "cwd": str(cwd), "env": env,
                                         "stdout": str(out), "stderr": str(err)}).encode() + b"\n")
                pid = int(_line(conn))
                conn.settimeout(timeout)
                try:
                    status = _line(conn)
                except TimeoutError:
                    os.kill(pid, signal.SIGKILL)
                    conn.settimeout(None)
                    _line(conn)  # reaped
                    raise subprocess.TimeoutExpired(command, timeout, out.read_bytes(), err.read_bytes()) from None
            if not status:
                raise RuntimeError("the test zygote went away")
            code, cpu = status.split()
            global children_cpu_s
            children_cpu_s += float(cpu)
            stdout, stderr = out.read_bytes(), err.read_bytes()
        if text:  # as subprocess's text mode reads them: universal newlines
            stdout, stderr = (data.decode().replace("\r\n", "\n").replace("\r", "\n") for data in (stdout, stderr))
        return subprocess.CompletedProcess(command, int(code), stdout, stderr)


def _line(conn: socket.socket) -> str:
    """One reply line (a pid, then an exit status); empty when the zygote went away."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(64)
        if not chunk:
            break
        data += chunk
    return data.decode().strip()


_client: _Client | None = None
# CPU seconds of the commands run so far (the zygote's children are not this process's, so
# RUSAGE_CHILDREN misses them; tests/cpu_report.py adds this).
children_cpu_s = 0.0
# The commands run (module and first arguments), for tests/cpu_report.py.
started: list[str] = []
_starting = threading.Lock()


def run_module(module: str, *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None,
               timeout: float | None = None, text: bool = True, fresh: bool = False
               ) -> subprocess.CompletedProcess:
    """``python -m MODULE ARGS`` to its end, its output captured: ``subprocess.run``'s result.
    ``fresh``: in a new interpreter all the same, not forked (as when the zygote is off)."""
    global _client
    env = dict(os.environ if env is None else env)
    if fresh or not ENABLED:
        return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env, capture_output=True,
                              text=text, timeout=timeout)
    started.append(f"zygote: {module} {' '.join(args[:2])}")
    with _starting:
        if _client is None or _client.process.poll() is not None:
            _client = _Client()
        client = _client
    return client.run(module, list(args), cwd, env, timeout, text)


# --- the zygote's side ----------------------------------------------------------------------

def _child(request: dict) -> None:
    """In the forked child: become ``python -m MODULE ARGS`` and run it. Its SystemExit (or
    an uncaught exception) ends the process as it would end the interpreter."""
    fds = {1: os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
           2: os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
           0: os.open(os.devnull, os.O_RDONLY)}
    for target, fd in fds.items():
        os.dup2(fd, target)
        os.close(fd)
    unbuffered = bool(request["env"].get("PYTHONUNBUFFERED"))
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=unbuffered)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), write_through=True,
                                  errors="backslashreplace")
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.path[0] = request["cwd"]  # as ``python -m`` puts the working directory first
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    sys.argv = [sys.argv[0], *request["args"]]
    runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
    sys.exit(0)


def serve(path: str) -> None:
    sys.path[0] = str(ROOT)
    for name in PRELOAD:
        __import__(name)
    # What the imports made stays out of the children's garbage collections, which would
    # otherwise touch (and so copy) every page of it.
    gc.freeze()
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(64)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    selector.register(sys.stdin, selectors.EVENT_READ)  # closed: the test process is gone
    print("ready", flush=True)
    while True:
        for key, _ in selector.select():
            if key.fileobj is sys.stdin:
                if not sys.stdin.readline():
                    shutil.rmtree(Path(path).parent, ignore_errors=True)  # the client's mkdtemp
                    return
            elif key.fileobj is listener:
                conn, _ = listener.accept()
                request = json.loads(conn.makefile("r").readline())
                pid = os.fork()
                if pid == 0:
                    for other in list(selector.get_map().values()):
                        if isinstance(other.fileobj, int):  # a pidfd, and its child's connection
                            os.close(other.fileobj)
                            other.data[1].close()
                    listener.close()
                    selector.close()
                    conn.close()
                    _child(request)  # never returns: the child exits from inside
                conn.sendall(f"{pid}\n".encode())
                selector.register(os.pidfd_open(pid), selectors.EVENT_READ, (pid, conn))
            else:
                pid, conn = key.data
                selector.unregister(key.fileobj)
                os.close(key.fd)
                _, status, usage = os.wait4(pid, 0)
                try:
                    conn.sendall(f"{os.waitstatus_to_exitcode(status)} {usage.ru_utime + usage.ru_stime}\n".encode())
                except OSError:
                    pass  # the test gave up waiting
                conn.close()


if __name__ == "__main__":
    serve(sys.argv[1])
