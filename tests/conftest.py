"""Suite-wide rules: under CI a skipped test is a failed one.

Tests skip when a prerequisite is missing (the Docker engine, an image, Chromium, bubblewrap) so
that a developer's machine without them still runs the rest. Under CI those prerequisites are
always installed (``.ci/run`` runs ``make test``, which installs them), so a skip there means a
path that was meant to run did not: a green CI would then not prove that docker mode, PostgreSQL
or the sandboxes ran. With ``CI`` set in the environment (``.ci/run`` exports it), every skip is
reported as a failure that carries the skip's reason. Elsewhere ``pytest -rs`` (in the addopts)
lists the skips and their reasons, each naming the command that installs what is missing.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

#: The environment variable CI systems set; the test harness reads it, the product never does.
CI_VARIABLE = "CI"


def skips_fail() -> bool:
    """Whether this run is CI, where a skip means a prerequisite ``make test`` installs is gone."""
    return bool(os.environ.get(CI_VARIABLE))


def skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    """The reason a skipped report carries (its longrepr is ``(path, line, reason)``)."""
    if isinstance(report.longrepr, tuple):
        return str(report.longrepr[2])
    return str(report.longrepr)


def as_failure(report: pytest.TestReport) -> None:
    """Turn a skipped report into a failed one that says why it was skipped."""
    report.longrepr = (f"skipped under CI ({CI_VARIABLE} is set), which counts as a failure: "
                       f"{skip_reason(report)}")
    report.outcome = "failed"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if skips_fail() and report.skipped and not hasattr(report, "wasxfail"):
        as_failure(report)
    return report


class ModuleSkips:
    """Modules that skip as a whole (``pytest.skip(allow_module_level=True)``,
    ``pytest.importorskip``) under CI: noted and made to fail the run at its end, not turned
    into collection errors, which would interrupt the run before any other test ran.
    ``pytest_collectreport`` also sees the reports that xdist's workers send."""

    def __init__(self) -> None:
        self.skipped: list[str] = []

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.skipped:
            self.skipped.append(f"{report.nodeid}: {skip_reason(report)}")

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.skipped:
            terminalreporter.section("modules skipped under CI (each fails the run)", red=True)
            for line in self.skipped:
                terminalreporter.line(line)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.skipped and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_configure(config: pytest.Config) -> None:
    if skips_fail():
        config.pluginmanager.register(ModuleSkips(), "aiclass-module-skips")
