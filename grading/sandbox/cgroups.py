"""Memory (swap included), process and CPU limits through Linux control groups.

Used by the local backend when the grader may write to the cgroup tree (root on
the grading host, or a delegated subtree). Where it may not, the boot code's
rlimits are the fallback, which :func:`grading.sandbox.base.boot_rlimits` knows.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from grading.sandbox.limits import SandboxLimits

ROOT = Path("/sys/fs/cgroup")
GROUP = "aiclass-grading"
#: A classroom service's grading group is ``GROUP/service-<pid>`` (:mod:`.cpu_group`) ...
SERVICE_PREFIX = "service-"
#: ... and its workers run in its leaf ``workers``; their sandboxes' groups go beside it.
WORKERS_LEAF = "workers"


def own_cpu_group(proc_cgroup: str, version: int) -> str | None:
    """The CPU group (``/a/b``) that ``/proc/<pid>/cgroup``'s text names, if any."""
    for line in proc_cgroup.splitlines():
        _, controllers, path = line.split(":", 2)
        if (version == 2 and controllers == "") or (
                version == 1 and "cpu" in controllers.split(",")):
            return path
    return None


def grading_parent(version: int) -> str:
    """Where this process's sandboxes get their CPU group: beside it in a service's, or ``GROUP``.

    A worker the service placed in ``GROUP/service-<pid>/workers`` starts its sandboxes in
    ``GROUP/service-<pid>``, so they count against the limit the service set for all of its
    grading; a grader anywhere else (``aiclass grade``, the tests) makes them in ``GROUP``.
    In cgroup v1 that is the CPU hierarchy alone: memory and pids groups stay in ``GROUP``.
    """
    try:
        path = own_cpu_group(Path("/proc/self/cgroup").read_text(), version)
    except OSError:
        return GROUP
    parts = (path or "").strip("/").split("/")
    if (len(parts) == 3 and parts[0] == GROUP and parts[1].startswith(SERVICE_PREFIX)
            and parts[2] == WORKERS_LEAF):
        return f"{GROUP}/{parts[1]}"
    return GROUP


class CgroupLimits:
    """Creates and removes one control group per sandbox (v1 or v2 hierarchy)."""

    def __init__(self, root: Path = ROOT):
        self.root = root
        self.version = 2 if (root / "cgroup.controllers").exists() else 1
        self.cpu_parent = grading_parent(self.version)
        self.usable = self._probe()

    def _probe(self) -> bool:
        try:
            for directory in self._parents():
                directory.mkdir(exist_ok=True)
            if self.version == 2:
                (self.root / "cgroup.subtree_control").write_text("+memory +pids +cpu")
                (self.root / GROUP / "cgroup.subtree_control").write_text("+memory +pids +cpu")
        except OSError:
            return False
        return True

    def _parents(self) -> list[Path]:
        if self.version == 2:
            return [self.root / self.cpu_parent]
        return [self.root / "memory" / GROUP, self.root / "pids" / GROUP,
                self.root / "cpu" / self.cpu_parent]

    def _dirs(self, name: str) -> list[Path]:
        return [parent / name for parent in self._parents()]

    def create(self, name: str, limits: SandboxLimits) -> list[Path]:
        """Make the groups and return the ``cgroup.procs`` files to join."""
        memory = str(limits.memory_bytes)
        quota = str(int(limits.cpus * 100000))
        for directory in self._dirs(name):
            directory.mkdir(exist_ok=True)
        if self.version == 2:
            group = self.root / self.cpu_parent / name
            settings = {"memory.max": memory, "memory.swap.max": "0",
                        "pids.max": str(limits.pids), "cpu.max": f"{quota} 100000"}
            for key, value in settings.items():
                _write_if_present(group / key, value)
            return [group / "cgroup.procs"]
        memory_dir, pids_dir, cpu_dir = self._dirs(name)
        _write_if_present(memory_dir / "memory.limit_in_bytes", memory)
        # swap = memory: the memory+swap ceiling equals the memory ceiling
        _write_if_present(memory_dir / "memory.memsw.limit_in_bytes", memory)
        _write_if_present(pids_dir / "pids.max", str(limits.pids))
        _write_if_present(cpu_dir / "cpu.cfs_quota_us", _within_parent(cpu_dir, quota))
        return [d / "cgroup.procs" for d in (memory_dir, pids_dir, cpu_dir)]

    def remove(self, name: str, timeout: float = 5.0) -> None:
        """Remove the groups once the kernel has let go of their exited processes.

        A group stays busy for a moment after its last process is killed, until the
        process is reaped: usually a few milliseconds. Removal is retried for up to
        ``timeout`` seconds, first every 2 ms and backing off to every 0.1 s, because the
        grading worker waits here after every notebook (fixed 0.1 s steps cost it 67 ms a
        notebook on average).
        """
        deadline = time.monotonic() + timeout
        for directory in self._dirs(name):
            pause = 0.002
            while True:
                try:
                    os.rmdir(directory)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(pause)
                    pause = min(pause * 2, 0.1)

    def oom_killed(self, name: str) -> bool:
        """Whether the kernel's out-of-memory killer acted inside this group."""
        if self.version == 2:
            events = self.root / self.cpu_parent / name / "memory.events"
            try:
                fields = dict(line.split() for line in events.read_text().splitlines())
            except OSError:
                return False
            return int(fields.get("oom_kill", 0)) > 0
        control = self.root / "memory" / GROUP / name / "memory.oom_control"
        try:
            fields = dict(line.split() for line in control.read_text().splitlines())
        except OSError:
            return False
        return int(fields.get("oom_kill", 0)) > 0


def _within_parent(cpu_dir: Path, quota: str) -> str:
    """cgroup v1 refuses a group a CPU quota above its parent's (v2 takes the lower)."""
    try:
        parent = int((cpu_dir.parent / "cpu.cfs_quota_us").read_text())
    except (OSError, ValueError):
        return quota
    return str(min(int(quota), parent)) if parent > 0 else quota


def _write_if_present(path: Path, value: str) -> None:
    try:
        path.write_text(value)
    except FileNotFoundError:
        pass
