"""CI's promises hold (tests/ci_guard.py): under PORTAL_CI=1 a skip fails unless allowed, and a
test that opens a test index without the `index` marker fails the session (the PostgreSQL
pass, `-m index`, would leave it out). Each run below is a pytest of its own, on test files
written here, with the project's guard loaded."""

from __future__ import annotations

import json
import os

import pytest
from cpu_report import summary
from support import ROOT

TESTS = '''
import pytest
from support import index_url


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    path = tmp_path_factory.mktemp("a")
    index_url(path)  # opens the index once, for the first test that uses it
    return path


def test_unmarked_direct(tmp_path):
    index_url(tmp_path)


@pytest.mark.index
def test_marked_direct(tmp_path):
    index_url(tmp_path)


@pytest.mark.crawl
def test_marked_crawl(tmp_path):
    index_url(tmp_path)


def test_unmarked_first_fixture_user(archive):
    pass


def test_unmarked_later_fixture_user(archive):
    pass


def test_no_index():
    pass


def test_skips():
    pytest.skip("no tool here")


@pytest.mark.may_skip(reason="only where the tool is")
def test_may_skip():
    pytest.skip("no tool here")


@pytest.mark.postgres_only
def test_postgres_only():
    pass
'''


@pytest.fixture
def run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    pytester.makeconftest('pytest_plugins = ["ci_guard"]\n')
    pytester.makepyfile(test_guarded=TESTS)
    pytester.makefile(".ini", pytest="[pytest]\nmarkers =\n    index\n    crawl\n    postgres_only\n    may_skip\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT / "tests"), str(ROOT)]))
    monkeypatch.delenv("PORTAL_TEST_POSTGRES", raising=False)

    def run(ci: str, *args: str) -> pytest.RunResult:
        monkeypatch.setenv("PORTAL_CI", ci)
        return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rA", *args)

    return run


def test_unmarked_index_users_fail_the_session_and_are_named(run):
    result = run("0")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=6, skipped=2, deselected=1)
    named = result.stdout.str().split("are not marked `index`", 1)[1].split("short test summary", 1)[0]
    for name in ("test_unmarked_direct", "test_unmarked_first_fixture_user", "test_unmarked_later_fixture_user"):
        assert f"test_guarded.py::{name}\n" in named
    for name in ("test_marked_direct", "test_marked_crawl", "test_no_index", "test_skips"):
        assert name not in named


def test_under_ci_a_skip_fails_unless_allowed(run):
    result = run("1", "-k", "skip")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=1, skipped=1)
    assert "FAILED test_guarded.py::test_skips" in result.stdout.str()
    assert "skipped under CI (PORTAL_CI=1), which promises to run this test: no tool here" in result.stdout.str()
    assert "SKIPPED [1] test_guarded.py:" in result.stdout.str()  # test_may_skip, with its reason allowed


SHARED_CRAWL = '''
import os
import pytest


@pytest.fixture(scope="module")
def crawl():
    with open(os.environ["CRAWLS_LOG"], "a") as log:
        log.write("crawled\\n")


@pytest.mark.parametrize("n", range(6))
def test_reads_the_crawl(crawl, n):
    pass
'''


def test_tests_sharing_a_scoped_crawl_run_on_one_worker_and_crawl_once(pytester, monkeypatch):
    """scripts/test's `-n N --dist loadgroup` with tests/xdist_groups.py: a module fixture's
    tests are one group, run one after another on one worker, so the crawl is made once
    (pytest 9.2 with pytest-xdist 3.8 made it once per test: pytest-xdist#1386)."""
    pytester.makeconftest('pytest_plugins = ["xdist_groups"]\n')
    pytester.makepyfile(test_shared=SHARED_CRAWL,
                        **{f"test_other_{k}": "def test_x():\n    pass\n" for k in range(6)})
    log = pytester.path / "crawls.log"
    monkeypatch.setenv("CRAWLS_LOG", str(log))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT / "tests"), str(ROOT)]))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "3", "--dist", "loadgroup")
    result.assert_outcomes(passed=12)
    assert log.read_text().splitlines() == ["crawled"]


BUSY_CHILD = '''
import subprocess
import sys


def test_busy_child():
    subprocess.run([sys.executable, "-c", "sum(range(30_000_000))"], check=True)


def test_idle():
    pass
'''


def test_the_cpu_report_counts_each_tests_children_and_commands(pytester, monkeypatch):
    """PORTAL_TEST_CPU_REPORT (tests/cpu_report.py): the CPU a test's child burnt is charged to
    that test, not to the next, and the command is named."""
    pytester.makeconftest('pytest_plugins = ["cpu_report"]\n')
    pytester.makepyfile(test_busy=BUSY_CHILD)
    report = pytester.path / "cpu.jsonl"
    monkeypatch.setenv("PORTAL_TEST_CPU_REPORT", str(report))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT / "tests"), str(ROOT)]))
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)
    rows = {row["test"]: row for row in map(json.loads, report.read_text().splitlines())}
    busy, idle = rows["test_busy.py::test_busy_child"], rows["test_busy.py::test_idle"]
    assert busy["children_cpu_s"] > 0.2 and idle["children_cpu_s"] < 0.05
    assert [command.split()[1:3] for command in busy["started"]] == [["-c", "sum(range(30_000_000))"]]
    assert idle["started"] == []
    # the timeline: one worker (named after the xdist worker this test runs on, if any), busy
    # for the two tests, idle only after them
    busy_s, last = busy["wall_s"] + idle["wall_s"], idle["at"] + idle["wall_s"] - busy["at"]
    assert busy["worker"] == idle["worker"] == os.environ.get("PYTEST_XDIST_WORKER", "main")
    assert f"  {busy['worker']}: busy {busy_s:.0f} s, idle from {last:.0f} s (0 s before the end)" in summary(report)
