"""Grading yields the CPU to interactive work: sandboxes run at the limits' niceness."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from grading.sandbox.bubblewrap import BubblewrapSandbox
from grading.sandbox.docker import DockerSandbox
from grading.sandbox.limits import SandboxLimits
from grading.sandbox.proc_stat import proc_stat
from hub.images import image_reference

STUDENT_IMAGE = image_reference("student")


def niceness(pid: int) -> int:
    """Field 19 of ``/proc/<pid>/stat`` (after the command name, which may hold spaces)."""
    fields = proc_stat(pid)
    return int(fields[16])


def descendants(pid: int) -> list[int]:
    found = []
    for child in map(int, Path(f"/proc/{pid}/task/{pid}/children").read_text().split()):
        found += [child, *descendants(child)]
    return found


@pytest.mark.skipif(not BubblewrapSandbox().available(),
                    reason="bubblewrap is not installed: `make system-run` installs it")
def test_a_bubblewrap_kernel_runs_at_the_limits_niceness() -> None:
    limits = SandboxLimits(nice=7)
    sandbox = BubblewrapSandbox(limits=limits).start()
    try:
        sandbox.wait_booted(timeout=120)
        tree = [sandbox.process.pid, *descendants(sandbox.process.pid)]
        assert len(tree) >= 2, tree  # the launcher and the kernel under it
        assert {niceness(pid) for pid in tree} == {7}
    finally:
        sandbox.close()


@pytest.mark.skipif(not DockerSandbox(image=STUDENT_IMAGE).available(),
                    reason="Docker engine or student image missing: `make images` "
                    "starts the engine and builds it")
def test_a_docker_sandbox_gets_the_cpu_shares_of_its_niceness() -> None:
    backend = DockerSandbox(limits=SandboxLimits(nice=5), image=STUDENT_IMAGE)
    sandbox = backend.start()
    try:
        sandbox.wait_booted(timeout=120)
        inspected = json.loads(subprocess.run(
            ["docker", "inspect", backend.container_name(sandbox.id)],
            capture_output=True, text=True, check=True).stdout)[0]
        assert inspected["HostConfig"]["CpuShares"] == 336  # 1024 / 1.25 ** 5, rounded
    finally:
        sandbox.close()
