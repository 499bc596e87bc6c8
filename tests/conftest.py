"""Suite-wide rules: under CI a skipped test is a failed one; under xdist, what uses the machine
as a whole runs on one worker.

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
from pathlib import Path

import pytest
from _pytest.nodeid import coerce_node_id

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
        if self.skipped and session.exitstatus in (pytest.ExitCode.OK,
                                                   pytest.ExitCode.NO_TESTS_COLLECTED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_configure(config: pytest.Config) -> None:
    if skips_fail():
        config.pluginmanager.register(ModuleSkips(), "aiclass-module-skips")


#: The xdist group of every test that uses something of the machine as a whole: the Docker
#: engine (images, containers, compose projects, the PostgreSQL containers), Chromium, or
#: host-wide checks of what is left running. ``make test`` runs ``-n 2 --dist loadgroup``:
#: this group on one worker, in order (the compose tests share one deployment), the rest on
#: the other.
MACHINE_GROUP = "machine"
#: Markers of tests that need the Docker engine or Chromium.
MACHINE_MARKERS = ("docker", "browser")
#: Fixtures that start or reach the Docker engine (``sandbox``: parametrized with Docker's).
MACHINE_FIXTURES = frozenset({"engine", "student_image", "docker_hub", "compose",
                              "postgres_url", "sandbox"})
#: Names whose presence in a module says it drives Docker or a Docker sandbox itself.
MACHINE_NAMES = frozenset({"docker", "docker_available", "ensure_image", "DockerSandbox",
                           "running_postgres", "SANDBOXES", "running_docker_hub",
                           "temporary_student_network", "DockerKubelet"})
#: Folders whose tests are all Docker's (the compose deployment, the Kubernetes stand-in).
MACHINE_FOLDERS = ("docker", "kubernetes")
TESTS = Path(__file__).parent


def uses_machine(item: pytest.Item) -> bool:
    """Whether ``item`` uses what the machine has only one of (Docker, Chromium, …)."""
    folder = item.path.parent.relative_to(TESTS)
    module = getattr(item, "module", None)
    return bool(
        any(item.get_closest_marker(name) for name in MACHINE_MARKERS)
        or MACHINE_FIXTURES & set(getattr(item, "fixturenames", ()))
        or (folder.parts and folder.parts[0] in MACHINE_FOLDERS)
        or (module is not None and MACHINE_NAMES & set(vars(module)))
    )


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups into node ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put each module in one xdist group: :data:`MACHINE_GROUP` when any of its tests uses
    the machine, else its folder, so that a folder's hub is made once, on one worker.

    Whole modules, never single tests: a module's tests share its module-scoped fixtures
    and may build on each other in file order (submit, then collect), which split across
    two workers would each see half of, on two different hubs.
    """
    if not config.pluginmanager.hasplugin("xdist"):
        return
    machine_modules = {item.path for item in items if uses_machine(item)}
    on_loadgroup_worker = getattr(config.option, "loadgroup", False)
    for item in items:
        group = (MACHINE_GROUP if item.path in machine_modules
                 else str(item.path.parent.relative_to(TESTS)))
        item.add_marker(pytest.mark.xdist_group(group))
        if on_loadgroup_worker:
            # xdist 3.8 names the group in the node id (``…@group``) through ``item._nodeid``,
            # which pytest 9 no longer reads: without this the groups are silently ignored
            # and a module's tests are spread over both workers, each on a hub of its own
            item._id = coerce_node_id(f"{item.nodeid}@{group}")
