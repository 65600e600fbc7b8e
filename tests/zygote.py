"""``python -m MODULE ARGS`` to completion, forked from a process that has imported the
project already (a zygote, as Chromium and Android start their processes), so a test's
crawl or CLI command does not pay the ~1.2 CPU-s of importing Scrapy, Twisted, SQLAlchemy
and the project first (issue 23: the suite is CPU-bound, and it starts a few hundred).

What runs is the module's own ``__main__``, as ``python -m`` runs it: in a process of its
own (its pid, its exit status, its page workers, its reactor installed fresh), with the
test's working directory, environment and arguments, and the test's own descriptors as its
standard input, output and error (passed over the zygote's socket: a pipe the test reads
while the command runs, a file, a pseudo-terminal). What differs from a fresh interpreter is
only what was decided at start-up: the modules are imported once, before the environment the
test gives (no project module reads the environment when imported; tests/test_zygote.py
checks the zygote's results against a fresh process), and Python's own start-up variables
(PYTHONHASHSEED, PYTHONPATH) are the zygote's.

Three doors: ``run_module`` runs a module to its end (``subprocess.run``'s result); ``run``
and ``popen`` take ``subprocess.run``'s and ``subprocess.Popen``'s arguments (what tests use
of them) and fork a ``[sys.executable, "-m", ...]`` command, passing anything else (another
program, an option they do not take) to subprocess. Peer tools the tests check our files with
(warcio, wacz, cdxj-indexer) are started fresh all the same: their verdict owes nothing to a
process that imported the project.
``PORTAL_TEST_ZYGOTE=0`` turns it off: every command is then a fresh ``python -m``.

The zygote is one per test process, started on first use, single-threaded (a selector over
its socket and the children's pidfds, so a fork never copies another thread's lock), and
gone with the test process: it ends when its standard input, a pipe from the test
process, closes.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import io
import json
import os
import re
import runpy
import select
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

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

    def start(self, module: str, args: list[str], cwd: Path, env: dict[str, str],
              fds: tuple[int, int, int]) -> tuple[socket.socket, int]:
        """Fork ``python -m MODULE ARGS`` with ``fds`` as its standard input, output and error
        (passed over the socket, so a pipe or a terminal is the child's as Popen's would be):
        the connection that will bring its exit status, and its pid."""
        conn = socket.socket(socket.AF_UNIX)
        conn.connect(str(self.path))
        request = json.dumps({"module": module, "args": args, "cwd": str(cwd), "env": env}).encode() + b"\n"
        socket.send_fds(conn, [request], list(fds))
        pid = _line(conn)
        if not pid:
            conn.close()
            raise RuntimeError("the test zygote went away")
        return conn, int(pid)


def _line(conn: socket.socket) -> str:
    """One reply line (a pid, then an exit status); empty when the zygote went away."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(64)
        if not chunk:
            break
        data += chunk
    return data.decode().strip()


class Child:
    """A command the zygote forked, with the part of ``subprocess.Popen`` tests use: ``pid``,
    ``args``, ``returncode``, ``stdout``/``stderr`` (when PIPE), ``poll``, ``wait``,
    ``communicate``, ``send_signal``, ``terminate``, ``kill``, and ``with``."""

    def __init__(self, args: list[str], conn: socket.socket, pid: int, stdout: IO | None, stderr: IO | None) -> None:
        self.args, self.pid, self.stdout, self.stderr = args, pid, stdout, stderr
        self.stdin = None
        self.returncode: int | None = None
        self._conn = conn
        self._readers: list[tuple[threading.Thread, list]] | None = None

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self._conn], [], [], 0)[0]:
            self._reap()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            if timeout is not None and not select.select([self._conn], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired(self.args, timeout)
            self._reap()
        return self.returncode

    def _reap(self) -> None:
        status = _line(self._conn)
        self._conn.close()
        if not status:
            raise RuntimeError("the test zygote went away")
        code, cpu = status.split()
        global children_cpu_s
        children_cpu_s += float(cpu)
        self.returncode = int(code)

    def communicate(self, input: None = None, timeout: float | None = None) -> tuple:
        """Read the PIPEs to their end (in threads, as subprocess does where it cannot poll),
        then wait; a timeout leaves the reading going for the next call, as Popen's does."""
        if self._readers is None:
            self._readers = []
            for stream in (self.stdout, self.stderr):
                if stream is not None and not stream.closed:  # closed by the test: not read
                    chunks: list = []
                    reader = threading.Thread(target=lambda s=stream, c=chunks: c.append(s.read()), daemon=True)
                    reader.start()
                    self._readers.append((reader, chunks))
        deadline = None if timeout is None else time.monotonic() + timeout
        for reader, _ in self._readers:
            reader.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
            if reader.is_alive():
                raise subprocess.TimeoutExpired(self.args, timeout)
        self.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
        results = iter(chunks[0] for _, chunks in self._readers)
        out, err = (next(results) if stream is not None and not stream.closed else None
                    for stream in (self.stdout, self.stderr))
        for stream in (self.stdout, self.stderr):
            if stream is not None:
                stream.close()
        return out, err

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc: object) -> None:
        for stream in (self.stdout, self.stderr):
            if stream is not None:
                stream.close()
        self.wait()


_client: _Client | None = None
# CPU seconds of the commands run so far (the zygote's children are not this process's, so
# RUSAGE_CHILDREN misses them; tests/cpu_report.py adds this).
children_cpu_s = 0.0
# The commands run (module and first arguments), for tests/cpu_report.py.
started: list[str] = []
_starting = threading.Lock()
_POPEN_OPTIONS = {"cwd", "env", "stdin", "stdout", "stderr", "text"}


def popen(command: list[str], **options: Any) -> Child | subprocess.Popen:
    """``subprocess.Popen(command, **options)`` for a command that runs a module of this
    environment (``[sys.executable, "-m", MODULE, ...]``), forked from the zygote; anything
    else (another program, an option the zygote does not take) is ``subprocess.Popen``.
    stdin may be None or DEVNULL; stdout and stderr None, PIPE, DEVNULL, STDOUT (stderr) or
    a file (object or descriptor)."""
    global _client
    forkable = (ENABLED and command[:2] == [sys.executable, "-m"] and len(command) > 2
                and set(options) <= _POPEN_OPTIONS and options.get("stdin") in (None, subprocess.DEVNULL))
    if not forkable:
        return subprocess.Popen(command, **options)
    module, args = command[2], [str(arg) for arg in command[3:]]
    started.append(f"zygote: {module} {' '.join(args[:2])}")
    opened: list[int] = []  # our copies of what the child gets: closed once it has them

    def target(value: Any, default: int) -> int:
        if value is None:
            return default
        if value == subprocess.DEVNULL:
            fd = os.open(os.devnull, os.O_RDWR)
            opened.append(fd)
            return fd
        return value if isinstance(value, int) else value.fileno()

    pipes: dict[str, IO] = {}
    fds = [target(options.get("stdin"), 0)]
    for name, default in (("stdout", 1), ("stderr", 2)):
        value = options.get(name)
        if value == subprocess.PIPE:
            read, write = os.pipe()
            opened.append(write)
            pipes[name] = open(read, "r" if options.get("text") else "rb")  # noqa: SIM115 (the Child's)
            fds.append(write)
        elif value == subprocess.STDOUT and name == "stderr":
            fds.append(fds[1])
        else:
            fds.append(target(value, default))
    with _starting:
        if _client is None or _client.process.poll() is not None:
            _client = _Client()
        client = _client
    env = dict(os.environ if options.get("env") is None else options["env"])
    try:
        conn, pid = client.start(module, args, Path(options.get("cwd") or os.getcwd()), env, tuple(fds))
    finally:
        for fd in opened:
            os.close(fd)
    return Child(command, conn, pid, pipes.get("stdout"), pipes.get("stderr"))


def run(command: list[str], *, capture_output: bool = False, check: bool = False, timeout: float | None = None,
        text: bool = False, cwd: Path | str | None = None, env: dict[str, str] | None = None,
        **options: Any) -> subprocess.CompletedProcess:
    """``subprocess.run(command, ...)``; a command that runs a module of this environment with
    its output captured (``[sys.executable, "-m", MODULE, ...]``) is forked from the zygote."""
    if not (capture_output and command[:2] == [sys.executable, "-m"] and len(command) > 2 and not options):
        return subprocess.run(command, capture_output=capture_output, check=check, timeout=timeout, text=text,
                              cwd=cwd, env=env, **options)
    result = run_module(command[2], *map(str, command[3:]), cwd=Path(cwd or os.getcwd()), env=env,
                        timeout=timeout, text=text)
    if check:
        result.check_returncode()
    return result


def run_module(module: str, *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None,
               timeout: float | None = None, text: bool = True) -> subprocess.CompletedProcess:
    """``python -m MODULE ARGS`` to its end, its output captured: ``subprocess.run``'s result."""
    command = [sys.executable, "-m", module, *args]
    env = dict(os.environ if env is None else env)
    if not ENABLED:
        return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=text, timeout=timeout)
    # Files, not pipes: nothing to read while it runs.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            out.seek(0), err.seek(0)
            raise subprocess.TimeoutExpired(command, timeout, out.read(), err.read()) from None
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    if text:  # as subprocess's text mode reads them: universal newlines
        stdout, stderr = (data.decode().replace("\r\n", "\n").replace("\r", "\n") for data in (stdout, stderr))
    return subprocess.CompletedProcess(command, child.returncode, stdout, stderr)


# --- the zygote's side ----------------------------------------------------------------------

def _child(request: dict, fds: list[int]) -> None:
    """In the forked child: become ``python -m MODULE ARGS`` and run it. Its SystemExit (or
    an uncaught exception) ends the process as it would end the interpreter."""
    for target, fd in enumerate(fds):  # standard input, output, error: the test's
        os.dup2(fd, target)
    for fd in set(fds) - {0, 1, 2}:
        os.close(fd)
    unbuffered = bool(request["env"].get("PYTHONUNBUFFERED"))
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=unbuffered,
                                  line_buffering=os.isatty(1))
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


def _import_crawl_components() -> None:
    """Import the modules a crawl loads its components from once it runs: whatever Scrapy's
    and the project's settings name by dotted path (middlewares, extensions, pipelines,
    download handlers, scheduler queues), and the ``scrapy`` commands it lists. Imported here
    once, they cost each forked crawl nothing (~0.3 CPU-s otherwise)."""
    from scrapy.utils.misc import walk_modules_iter
    from scrapy.utils.project import get_project_settings

    dotted = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
    paths: set[str] = set()
    for attribute in get_project_settings().attributes.values():
        value = attribute.value
        if hasattr(value, "attributes"):  # a component dict: paths as keys or as values
            values = [*value.attributes, *(item.value for item in value.attributes.values())]
        else:
            values = [*value.keys(), *value.values()] if isinstance(value, dict) else [value]
        paths.update(item for item in values if isinstance(item, str) and dotted.fullmatch(item))
    for path in paths:
        if importlib.util.find_spec(path.partition(".")[0]) is None:
            continue  # a dotted string that names no installed package
        for candidate in (path, path.rpartition(".")[0]):  # a module, or a name in one
            try:
                importlib.import_module(candidate)
                break
            except ImportError:
                continue
    for package in ("scrapy.commands", "crawler.commands"):
        for _ in walk_modules_iter(package):
            pass


def serve(path: str) -> None:
    sys.path[0] = str(ROOT)
    for name in PRELOAD:
        __import__(name)
    _import_crawl_components()
    assert "twisted.internet.reactor" not in sys.modules, "a preloaded module installed a reactor"
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
                data, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
                while not data.endswith(b"\n"):
                    data += conn.recv(1 << 20)
                request = json.loads(data)
                pid = os.fork()
                if pid == 0:
                    for other in list(selector.get_map().values()):
                        if isinstance(other.fileobj, int):  # a pidfd, and its child's connection
                            os.close(other.fileobj)
                            other.data[1].close()
                    listener.close()
                    selector.close()
                    conn.close()
                    _child(request, fds)  # never returns: the child exits from inside
                for fd in fds:
                    os.close(fd)
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
