"""Does a skip fail the run under CI, and stay a listed skip elsewhere?

The suite's own ``tests/conftest.py`` is copied into a scratch project, so what runs is the hook
CI runs, on a test that skips in a fixture (as the Docker fixtures do), one that skips in its
body, and a module that skips as a whole.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SUITE_CONFTEST = Path(__file__).with_name("conftest.py")

SKIPPING = """
import pytest

@pytest.fixture
def engine():
    pytest.skip("Docker engine not running: `make dockerd` starts one")

def test_needs_the_engine(engine):
    assert engine is None

def test_skips_itself():
    pytest.skip("bubblewrap is not installed: `make system-run` installs it")

def test_passes():
    assert 1 + 1 == 2
"""

SKIPPING_MODULE = """
import pytest
pytest.skip("Chromium is not installed: `make system-test` installs it",
            allow_module_level=True)

def test_never_collected():
    assert False
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(SUITE_CONFTEST.read_text(encoding="utf-8"))
    pytester.makepyfile(test_skipping=SKIPPING, test_skipping_module=SKIPPING_MODULE)
    return pytester


def test_under_ci_every_skip_fails_the_run_with_its_reason(
        project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "1")
    result = project.runpytest_subprocess("-rs")
    # The fixture's skip is a setup error and the body's a failure; the module that skips as a
    # whole stays a skip (an error there would stop collection) but fails the run at its end.
    result.assert_outcomes(passed=1, failed=1, errors=1, skipped=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([
        "*skipped under CI*`make dockerd` starts one*",
        "*skipped under CI*`make system-run` installs it*",
        "*modules skipped under CI*",
        "test_skipping_module.py*`make system-test` installs it*",
    ])


def test_under_ci_a_module_skip_alone_fails_the_run(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "1")
    pytester.makeconftest(SUITE_CONFTEST.read_text(encoding="utf-8"))
    pytester.makepyfile(test_skipping_module=SKIPPING_MODULE)
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(skipped=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_without_ci_a_skip_is_a_listed_skip(
        project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    result = project.runpytest_subprocess("-rs")
    result.assert_outcomes(passed=1, skipped=3)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines([  # -rs lists the module's skip first
        "SKIPPED*`make system-test` installs it*",
        "SKIPPED*`make dockerd` starts one*",
        "SKIPPED*`make system-run` installs it*",
    ])
