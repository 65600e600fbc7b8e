"""The test zygote (tests/zygote.py) runs a command as a fresh ``python -m`` would: same
exit status and output, the test's working directory, environment and arguments, a
timeout that kills, its CPU counted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import zygote
from support import ROOT, on_a_terminal

PROBE = '''
import json, os, sys
if sys.argv[1:2] == ["sleep"]:
    import time
    print(os.getpid(), flush=True)
    time.sleep(600)
if sys.argv[1:2] == ["spin"]:
    sum(range(20_000_000))
if sys.argv[1:2] == ["fail"]:
    raise ValueError("failing as asked")
if sys.argv[1:2] == ["exit"]:
    sys.exit(int(sys.argv[2]))
if sys.argv[1:2] == ["tty"]:
    print(os.isatty(0), os.isatty(1), os.isatty(2), flush=True)
    print("said on stderr", file=sys.stderr)
    sys.exit(0)
print(json.dumps({"cwd": os.getcwd(), "argv": sys.argv[1:], "path0": sys.path[0], "name": __name__,
                  "x": os.environ.get("ZYGOTE_PROBE"), "stdin": sys.stdin.read()}))
print("to stderr", file=sys.stderr)
'''


@pytest.fixture
def probe(tmp_path: Path) -> Path:
    (tmp_path / "zygote_probe.py").write_text(PROBE)
    return tmp_path


def fresh(module: str, *args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)


def test_a_command_sees_what_a_fresh_python_m_sees(probe: Path):
    env = {**os.environ, "ZYGOTE_PROBE": "given"}
    ran = zygote.run_module("zygote_probe", "a b", "--c", cwd=probe, env=env)
    truth = fresh("zygote_probe", "a b", "--c", cwd=probe, env=env)
    assert (ran.returncode, ran.stdout, ran.stderr) == (0, truth.stdout, "to stderr\n")
    assert '"x": "given"' in ran.stdout and f'"cwd": "{probe}"' in ran.stdout and '"name": "__main__"' in ran.stdout


@pytest.mark.parametrize("args", [("fail",), ("exit", "3")])
def test_exit_status_and_tracebacks_are_a_fresh_pythons(probe: Path, args: tuple[str, ...]):
    ran, truth = zygote.run_module("zygote_probe", *args, cwd=probe), fresh("zygote_probe", *args, cwd=probe)
    assert ran.returncode == truth.returncode != 0
    assert ran.stderr.splitlines()[-1:] == truth.stderr.splitlines()[-1:]


def test_the_projects_commands_answer_as_fresh_ones(tmp_path: Path):
    for args in [("archive.cli", "search", "x", "--archive", str(tmp_path / "none")), ("scrapy", "list"),
                 ("archive.cli", "no-such-command")]:
        ran, truth = zygote.run_module(*args), fresh(*args)
        assert (ran.returncode, ran.stdout, ran.stderr) == (truth.returncode, truth.stdout, truth.stderr), args


def test_a_timeout_kills_the_command(probe: Path):
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired) as raised:
        zygote.run_module("zygote_probe", "sleep", cwd=probe, timeout=3)
    assert time.monotonic() - started < 10
    pid = int(raised.value.output.split()[0])
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # reaped by the zygote, not left running


def test_the_commands_cpu_is_counted(probe: Path):
    before = zygote.children_cpu_s
    zygote.run_module("zygote_probe", "spin", cwd=probe)
    assert zygote.children_cpu_s - before > 0.2


def test_a_zygote_leaves_nothing_behind_when_its_test_process_goes(probe: Path):
    client = zygote._Client()  # one of its own, so that the worker's shared zygote goes on
    conn, _ = client.start("zygote_probe", ["exit", "0"], probe, dict(os.environ), (0, 1, 2))
    assert zygote._line(conn).split()[0] == "0"
    client.process.stdin.close()  # as when the test process exits
    assert client.process.wait(timeout=30) == 0
    assert not client.directory.exists()


def popen_both(args: list[str], **options) -> tuple[zygote.Child, subprocess.Popen]:
    command = [sys.executable, "-m", "zygote_probe", *args]
    forked, truth = zygote.popen(command, **options), subprocess.Popen(command, **options)
    assert isinstance(forked, zygote.Child)
    return forked, truth


def test_popen_lets_the_test_read_and_signal_the_command_while_it_runs(probe: Path):
    for child in popen_both(["sleep"], cwd=probe, stdout=subprocess.PIPE, text=True):
        with child:
            assert int(child.stdout.readline()) == child.pid  # read while it runs
            assert child.poll() is None
            with pytest.raises(subprocess.TimeoutExpired):
                child.wait(timeout=0.2)
            child.terminate()
            assert child.wait(timeout=30) == -signal.SIGTERM and child.poll() == -signal.SIGTERM


@pytest.mark.parametrize("stderr", [subprocess.PIPE, subprocess.STDOUT, subprocess.DEVNULL])
def test_popen_communicate_answers_as_a_fresh_popen(probe: Path, stderr: int):
    forked, truth = popen_both(["fail"], cwd=probe, stdout=subprocess.PIPE, stderr=stderr, text=True)
    (out, err), (out_truth, err_truth) = forked.communicate(timeout=30), truth.communicate(timeout=30)
    assert forked.returncode == truth.returncode == 1
    def last(text: str | None) -> list[str]:  # a traceback's frames differ; its last line may not
        return (text or "").splitlines()[-1:]
    assert (last(out), last(err)) == (last(out_truth), last(err_truth))
    said = out + (err or "")
    assert ("ValueError: failing as asked" in said) == (stderr != subprocess.DEVNULL), said

def test_popen_passes_a_terminal_through(probe: Path):
    """What support.on_a_terminal does: the command's standard error is a pseudo-terminal."""
    status, stdout, screen = on_a_terminal([sys.executable, "-m", "zygote_probe", "tty"], cwd=probe)
    assert status == 0 and stdout.split() == ["False", "False", "True"] and "said on stderr" in screen
