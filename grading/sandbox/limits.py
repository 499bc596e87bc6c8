"""Resource limits for one grading sandbox.

One set of numbers drives every backend (bubblewrap, Docker), so a teacher's
notebook behaves the same on a laptop and on the regional server.
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class SandboxLimits:
    """What one sandboxed notebook may use before it is stopped.

    ``wall_seconds`` bounds the whole notebook (the assignment's ``time_budget_s``);
    ``cell_timeout`` bounds one cell, as nbgrader's own ``Execute.timeout`` does.
    ``output_bytes`` is what the gradebook keeps; past ``kill_output_bytes`` the
    sandbox is stopped, because nobody reads a gigabyte of ``print``. Grading is batch
    work: at niceness ``nice`` (in Docker, the CPU shares of that niceness) it yields
    the CPU to the hub, the classroom service and students' labs while they are busy,
    and takes all it likes when they are not.
    """

    memory_bytes: int = 1024 * MIB
    pids: int = 64
    cpus: float = 1.0
    wall_seconds: float = 120.0
    cell_timeout: int = 30
    output_bytes: int = 1 * MIB
    kill_output_bytes: int = 32 * MIB
    file_bytes: int = 64 * MIB
    work_bytes: int = 256 * MIB
    open_files: int = 256
    nice: int = 5

    @property
    def cpu_shares(self) -> int:
        """Docker's ``--cpu-shares`` for ``nice``."""
        return weight_of_niceness(self.nice)


def weight_of_niceness(niceness: int) -> int:
    """The CPU shares (cgroup v1, Docker) of one process at ``niceness``: the kernel weighs
    each step by 1.25, from 1024 at niceness 0."""
    return max(2, round(1024 / 1.25 ** niceness))
