"""The benchmark runner hands each benchmark its own options (``python -m benchmarks NAME ...``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.__main__ import available

REPO = Path(__file__).resolve().parents[1]
OPTIONS = {
    "assignments": ["--band", "--only"],
    "audit": ["--rows"],
    "backup": ["--students", "--submissions"],
    "cnn": ["--repeats"],
    "demo": ["--students"],
    "competition": ["--entries", "--participants", "--runs"],
    "exchange": ["--students", "--concurrency", "--no-ngshare", "--at-bell"],
    "explainers": ["--quick"],
    "grading": ["--submissions", "--jobs", "--sandbox"],
    "login_storm": ["--students"],
    "pages": [],
    "privacy": ["--students", "--region-submissions", "--submissions"],
    "programme": ["--students", "--runs"],
    "regional_load": ["--students", "--servers", "--soak-minutes", "--mode"],
    "roster": ["--schools"],
    "shared_library": ["--items", "--students", "--runs"],
    "training": ["--cohorts", "--per-cohort", "--students", "--runs"],
}


def runner(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "benchmarks", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_every_benchmark_is_listed_here() -> None:
    """Does this test know each benchmark's options (a new one must be added)?"""
    assert sorted(OPTIONS) == available()


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_the_runner_passes_help_to_the_benchmark(name: str) -> None:
    """Does ``python -m benchmarks NAME --help`` show that benchmark's options, running nothing?"""
    result = runner(name, "--help")
    assert result.returncode == 0, result.stderr
    assert f"usage: python -m benchmarks {name}" in result.stdout
    for option in OPTIONS[name]:
        assert option in result.stdout


def test_an_unknown_benchmark_is_refused_with_the_list() -> None:
    """Is a misspelt name refused with exit 2, naming the benchmarks there are?"""
    result = runner("gradng")
    assert result.returncode == 2
    assert "grading" in result.stderr
