"""What the suite promises under CI, enforced by pytest hooks (loaded by tests/conftest.py).

Markers (declared in pyproject.toml, documented in README's "Tests" section):

- ``index``: the test, or a fixture it uses, opens a test archive's index through
  ``tests/support.py`` (``index_url``, ``index``, ``archive_settings``, ``archive_args``,
  ``run_crawl``, ``verify``): SQLite in the first pass, PostgreSQL in the second. Only these
  tests run in the PostgreSQL pass (``pytest -m "index and not crawl"``): what the index does (the writer,
  search, history, events, the CLI, repair, import) and the crawls whose results depend on it.
- ``crawl``: the test is about crawling (fetching, politeness, scheduling, discovery, hostile
  servers, the browser) and opens the index only to read what the crawl did, through the
  same writer code the ``index`` tests run on both backends: SQLite pass only. On a test
  (or a parameter) in a module marked ``index``, it takes that test out of the PostgreSQL pass.

  A test that touches the index marked neither way fails the session, naming it: the
  PostgreSQL pass would silently leave it out.
- ``postgres_only``: needs ``PORTAL_TEST_POSTGRES``; deselected (not skipped) without it.
  Implies ``index``.
- ``may_skip(reason)``: the test may skip under CI; the reason says when and why.

Under CI (``PORTAL_CI=1``, set by scripts/test) a skip is a failure unless the test is
marked ``may_skip``: a test CI promises to run must not end as a quiet "s" because a tool,
the shared corpus or root was missing. scripts/test installs what the tests need, or stops
saying what is missing.
"""

from __future__ import annotations

import os

import pytest
import support

CI = os.environ.get("PORTAL_CI", "") not in ("", "0")
TOUCHES = "touches_index"
MARKED = "marked_index"


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_TOUCHING_FIXTURES] = set()


_TOUCHING_FIXTURES = pytest.StashKey[set[str]]()
_START = pytest.StashKey[int]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``postgres_only`` implies ``index``; without PostgreSQL such tests are deselected."""
    kept, dropped = [], []
    for item in items:
        if item.get_closest_marker("postgres_only"):
            item.add_marker(pytest.mark.index)
            if not support.POSTGRES:
                dropped.append(item)
                continue
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef, request: pytest.FixtureRequest):
    """Remember the fixtures whose setup opened a test index (session and module fixtures run
    once, for the first test that uses them; every later user touches the index through them)."""
    before = support.index_touches()
    try:
        return (yield)
    finally:
        if support.index_touches() > before:
            request.config.stash[_TOUCHING_FIXTURES].add(fixturedef.argname)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    item.stash[_START] = support.index_touches()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if CI and report.skipped and not hasattr(report, "wasxfail"):
        allowed = item.get_closest_marker("may_skip")
        if not (allowed and (allowed.args or allowed.kwargs.get("reason"))):
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            reason = reason.removeprefix("Skipped: ")
            report.outcome = "failed"
            report.longrepr = (f"skipped under CI (PORTAL_CI=1), which promises to run this test: {reason}\n"
                               "Install what it needs (scripts/test does, as root), or mark it "
                               "@pytest.mark.may_skip(reason=...) if CI may leave it out.")
    if call.when == "teardown":
        touching = item.config.stash[_TOUCHING_FIXTURES]
        touched = (support.index_touches() > item.stash.get(_START, support.index_touches())
                   or any(name in touching for name in getattr(item, "fixturenames", ())))
        # user_properties travel with the report to pytest-xdist's controller.
        report.user_properties.append((TOUCHES, touched))
        marked = item.get_closest_marker("index") or item.get_closest_marker("crawl")
        report.user_properties.append((MARKED, marked is not None))
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    """A module skipped as a whole (``pytest.skip(allow_module_level=True)``, ``importorskip``)."""
    report = yield
    if CI and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"module skipped under CI (PORTAL_CI=1), which promises to run it: {report.longrepr}"
    return report


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    properties = dict(report.user_properties)
    if report.when == "teardown" and properties.get(TOUCHES) and not properties.get(MARKED):
        _unmarked.append(report.nodeid)


# Node ids of tests that touched the index unmarked (on xdist's controller, from the workers' reports).
_unmarked: list[str] = []


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _unmarked and not hasattr(session.config, "workerinput"):  # an xdist worker: the controller decides
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if _unmarked:
        terminalreporter.section("tests that touch the index but are not marked `index`", sep="=", red=True)
        terminalreporter.line("The PostgreSQL pass runs only `-m 'index and not crawl'`: mark these "
                              "@pytest.mark.index, or @pytest.mark.crawl when they only read what a crawl did "
                              "(tests/ci_guard.py).")
        for nodeid in sorted(set(_unmarked)):
            terminalreporter.line(f"  {nodeid}")
