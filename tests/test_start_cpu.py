"""The login storm's CPU accounting (benchmarks/start_cpu.py), checked without Docker."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from benchmarks.start_cpu import StartCost, process_cpu_seconds, storm_floor

BURN = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\n"


def test_a_process_is_charged_for_the_children_it_reaped() -> None:
    """Is the CPU of a finished child (runc under a shim, a shim's start under containerd)
    counted to the process that waited for it, as the engine's share of a start needs?"""
    before = process_cpu_seconds(os.getpid())
    subprocess.run([sys.executable, "-c", BURN], check=True, timeout=60)
    assert process_cpu_seconds(os.getpid()) - before >= 0.25


def test_a_gone_process_costs_nothing_and_the_floor_shares_the_work_over_the_cores() -> None:
    """Does a process that has exited read as 0, and is the floor students x one start's
    CPU over the cores?"""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=60)
    assert process_cpu_seconds(child.pid) == 0.0
    one = StartCost({"container": 0.8, "hub": 0.1, "engine": 0.1})
    assert storm_floor(one, 40, cores=2) == pytest.approx(20.0)
    assert storm_floor(one, 40, cores=4) == pytest.approx(10.0)
