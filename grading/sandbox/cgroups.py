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


class CgroupLimits:
    """Creates and removes one control group per sandbox (v1 or v2 hierarchy)."""

    def __init__(self, root: Path = ROOT):
        self.root = root
        self.version = 2 if (root / "cgroup.controllers").exists() else 1
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
            return [self.root / GROUP]
        return [self.root / c / GROUP for c in ("memory", "pids", "cpu")]

    def _dirs(self, name: str) -> list[Path]:
        return [parent / name for parent in self._parents()]

    def create(self, name: str, limits: SandboxLimits) -> list[Path]:
        """Make the groups and return the ``cgroup.procs`` files to join."""
        memory = str(limits.memory_bytes)
        quota = str(int(limits.cpus * 100000))
        for directory in self._dirs(name):
            directory.mkdir(exist_ok=True)
        if self.version == 2:
            group = self.root / GROUP / name
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
        _write_if_present(cpu_dir / "cpu.cfs_quota_us", quota)
        return [d / "cgroup.procs" for d in (memory_dir, pids_dir, cpu_dir)]

    def remove(self, name: str, attempts: int = 50) -> None:
        """Remove the groups once the kernel has let go of their exited processes.

        A group stays busy for a moment after its last process is killed, until the
        process is reaped; removal is retried for up to ``attempts`` × 0.1 s.
        """
        for directory in self._dirs(name):
            for _ in range(attempts):
                try:
                    os.rmdir(directory)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)

    def oom_killed(self, name: str) -> bool:
        """Whether the kernel's out-of-memory killer acted inside this group."""
        if self.version == 2:
            events = self.root / GROUP / name / "memory.events"
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


def _write_if_present(path: Path, value: str) -> None:
    try:
        path.write_text(value)
    except FileNotFoundError:
        pass
