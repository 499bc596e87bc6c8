"""One CPU control group for all of a service's grading: its workers and their sandboxes.

The grading workers run niced (+10), but niceness weighs a process only against others
in its own scheduling group. The bubblewrap sandboxes run in control groups of their own
under ``aiclass-grading``, which weighs as much as one process at niceness 0, like the
busy classroom service: on a 2-core host a class's graded submissions took CPU from the
service at full weight, and the exchange benchmark's submit p95 went from 154 ms to
284 ms with grading on (154 ms with it off).

So the service makes ``aiclass-grading/service-<pid>`` with

- the CPU weight one process gets at the workers' niceness (1024 / 1.25**10 ≈ 110
  shares, cgroup v2 weight 11), given to ``aiclass-grading`` as well (weights count
  among siblings only): while requests wait, grading has what they leave;
- a quota of ``cores`` (``[service] grading_cpus``; by default all but one of the host's
  cores): whatever the weights, a core stays free for requests and students' servers.

The workers join its leaf ``workers`` (cgroup v2 keeps processes in leaves only); the
sandboxes a worker starts are made beside it, inside the group
(:func:`grading.sandbox.cgroups.grading_parent`), so the limit holds for the whole of
grading. Where the group cannot be made (no root, a read-only or absent hierarchy: a
container, most laptops), grading runs niced only, and the log says so.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from grading.sandbox.cgroups import GROUP, ROOT, SERVICE_PREFIX, WORKERS_LEAF
from grading.sandbox.limits import weight_of_niceness

log = logging.getLogger("aiclass.grading")
#: cgroup v1's CFS period (its default), and the period written with cgroup v2's quota.
PERIOD_US = 100_000
#: How long removal waits for the kernel to let go of killed processes' groups.
REMOVE_SECONDS = 5.0


def grading_cores(setting: float, host_cores: int) -> float:
    """The cores grading may use: ``setting``, or for 0 all but one of ``host_cores``.

    A single-core host keeps its one core for grading too: with no quota to give, the
    group's low weight alone lets requests go first.
    """
    if setting > 0:
        return setting
    return float(host_cores - 1 if host_cores >= 2 else host_cores)


@dataclass(frozen=True)
class GradingCpuGroup:
    """The control group of one service's grading: made, joined by workers, removed."""

    directory: Path
    version: int
    cores: float
    niceness: int

    @classmethod
    def for_service(cls, cores: float, niceness: int, pid: int | None = None,
                    root: Path = ROOT) -> GradingCpuGroup | None:
        """Make the group of service ``pid`` (this process): ``cores``, weighed at ``niceness``.

        None, with a warning in the log, where this host does not let us: grading then
        runs at the workers' niceness only, as it did before there was a group.
        """
        pid = os.getpid() if pid is None else pid
        version = 2 if (root / "cgroup.controllers").exists() else 1
        parent = root / GROUP if version == 2 else root / "cpu" / GROUP
        group = cls(parent / f"{SERVICE_PREFIX}{pid}", version, cores, niceness)
        try:
            group.remove_abandoned()
            group.make()
        except OSError as error:
            log.warning("评分未放入 CPU 控制组，仅以较低优先级运行 / grading is not in a CPU "
                        "control group (%s: %s); it runs niced only, without the limit of "
                        "%.2f cores", group.directory, error.strerror or error, cores)
            group.remove(seconds=0)
            return None
        log.info("grading in CPU control group %s: %.2f cores, weighed as niceness %d",
                 group.directory, cores, niceness)
        return group

    @property
    def workers(self) -> Path:
        return self.directory / WORKERS_LEAF

    def make(self) -> None:
        """Make the group and its workers' leaf, with the weight and the quota.

        The weight is given to ``GROUP`` too: a group's weight counts among its siblings
        only, and ``GROUP``, at the top of the hierarchy beside the service's own
        scheduling group, would otherwise weigh as much as the service (measured: with
        the service's group alone weighed, the worker, no longer niced within the
        service's session, made the exchange's fetch p95 26 % slower). All grading on
        the host is batch work, so all of it weighs as one niced process.

        A directory where the kernel made no control files is no control group (a plain
        directory, or a hierarchy without the CPU controller): that counts as failure.
        """
        self.directory.parent.mkdir(parents=True, exist_ok=True)
        quota = max(1000, int(self.cores * PERIOD_US))
        if self.version == 2:
            for level in (self.directory.parent.parent, self.directory.parent):
                (level / "cgroup.subtree_control").write_text("+memory +pids +cpu")
            self.directory.mkdir(exist_ok=True)
            (self.directory / "cgroup.subtree_control").write_text("+memory +pids +cpu")
            # v2's weights are v1's shares scaled: 100 for niceness 0, as 1024 there.
            weight = ("cpu.weight",
                      str(max(1, round(weight_of_niceness(self.niceness) * 100 / 1024))))
            settings = {self.directory.parent / weight[0]: weight[1],
                        self.directory / weight[0]: weight[1],
                        self.directory / "cpu.max": f"{quota} {PERIOD_US}"}
        else:
            self.directory.mkdir(exist_ok=True)
            shares = str(weight_of_niceness(self.niceness))
            settings = {self.directory.parent / "cpu.shares": shares,
                        self.directory / "cpu.shares": shares,
                        self.directory / "cpu.cfs_period_us": str(PERIOD_US),
                        self.directory / "cpu.cfs_quota_us": str(quota)}
        for control, value in settings.items():
            if not control.exists():
                raise FileNotFoundError(2, "no CPU controller here", str(control))
            control.write_text(value)
        self.workers.mkdir(exist_ok=True)

    def join(self, pid: int) -> bool:
        """Move process ``pid`` (all its threads) into the workers' leaf; whether it went."""
        try:
            (self.workers / "cgroup.procs").write_text(str(pid))
        except OSError as error:
            log.warning("grading worker (pid %d) not moved into %s: %s; it runs niced only",
                        pid, self.workers, error)
            return False
        return True

    def remove(self, seconds: float = REMOVE_SECONDS) -> None:
        """Remove the group once its processes are gone: sandbox groups first, then it.

        A killed process's group stays busy for a moment, until the process is reaped, so
        removal is retried for up to ``seconds``.
        """
        deadline = time.monotonic() + seconds
        while self.directory.is_dir():
            for directory in [*self.directory.iterdir(), self.directory]:
                if directory.is_dir():
                    try:
                        os.rmdir(directory)
                    except OSError:
                        pass
            if not self.directory.is_dir() or time.monotonic() > deadline:
                return
            time.sleep(0.1)

    def remove_abandoned(self) -> None:
        """Remove the groups of services on this host whose process is gone (killed)."""
        for directory in self.directory.parent.glob(f"{SERVICE_PREFIX}*"):
            pid = directory.name.removeprefix(SERVICE_PREFIX)
            if pid.isdigit() and directory != self.directory and not _alive(int(pid)):
                GradingCpuGroup(directory, self.version, 0, 0).remove(seconds=0)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
