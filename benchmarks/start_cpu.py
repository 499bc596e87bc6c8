"""The CPU seconds one server start costs, summed over every process that works for it.

A login storm cannot finish sooner than the machine can do the work of all its starts:
``students × CPU seconds of one start / cores`` is its floor, whatever the scheduling.
One start's work is spread over the container itself (its cgroup's cpuacct), the Docker
engine (dockerd, containerd, and the container's shim with the runc calls it reaps), the
hub and the proxy. Counting CPU time, not wall time, keeps the figure honest on a machine
that is busy with other work.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from grading.sandbox.proc_stat import proc_stat

T = TypeVar("T")
CGROUP_ROOTS = (Path("/sys/fs/cgroup/cpuacct/docker"), Path("/sys/fs/cgroup/system.slice"))


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and of its children it has reaped (runc, shim starts):
    0 when the process is gone."""
    try:
        fields = proc_stat(pid)
    except FileNotFoundError:
        return 0.0
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def pids_named(name: str) -> list[int]:
    """The processes whose command is exactly ``name`` (``dockerd``, ``containerd``)."""
    out = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def container_cpu_seconds(container_id: str) -> float:
    """CPU the container's own processes have used, from its control group (v1 or v2)."""
    full = subprocess.run(["docker", "inspect", "-f", "{{.Id}}", container_id],
                          capture_output=True, text=True).stdout.strip()
    v1 = CGROUP_ROOTS[0] / full / "cpuacct.usage"
    if v1.exists():
        return int(v1.read_text()) / 1e9
    v2 = CGROUP_ROOTS[1] / f"docker-{full}.scope" / "cpu.stat"
    for line in v2.read_text().splitlines():
        if line.startswith("usage_usec"):
            return int(line.split()[1]) / 1e6
    raise RuntimeError(f"no CPU accounting found for container {container_id}")


def shim_of(container_id: str) -> int:
    """The containerd shim of a running container: the parent of its first process."""
    pid = subprocess.run(["docker", "inspect", "-f", "{{.State.Pid}}", container_id],
                         capture_output=True, text=True).stdout.strip()
    return int(proc_stat(pid)[1])


@dataclass
class StartCost:
    """CPU seconds of one server start (or one sign-in), by who did the work."""

    parts: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.parts.values())

    def describe(self) -> str:
        shares = ", ".join(f"{name} {seconds:.3f}" for name, seconds in self.parts.items())
        return f"{self.total:.3f} CPU s ({shares})"


def measure_start(start: Callable[[], str], hub_pid: int, proxy_pid: int) -> StartCost:
    """CPU of one start: ``start`` starts a server, waits for its lab and returns its
    container's id; the hub and proxy are ``hub_pid`` and ``proxy_pid``.

    The engine's share is whatever dockerd and containerd did meanwhile, so the figure is
    an upper bound when other containers are being started on the machine at the time.
    """
    engine = pids_named("dockerd") + pids_named("containerd")
    before = {"hub": process_cpu_seconds(hub_pid), "proxy": process_cpu_seconds(proxy_pid),
              "engine": sum(process_cpu_seconds(pid) for pid in engine)}
    container = start()
    after = {"hub": process_cpu_seconds(hub_pid), "proxy": process_cpu_seconds(proxy_pid),
             "engine": sum(process_cpu_seconds(pid) for pid in engine)}
    parts = {name: after[name] - before[name] for name in before}
    parts["shim"] = process_cpu_seconds(shim_of(container))
    parts["container"] = container_cpu_seconds(container)
    return StartCost(parts)


def storm_floor(one_start: StartCost, students: int, cores: int | None = None) -> float:
    """Seconds the machine needs, at the least, for ``students`` starts at once."""
    return students * one_start.total / (cores or os.cpu_count() or 1)


def proxy_of(hub_pid: int) -> int:
    """The configurable-http-proxy the hub ``hub_pid`` started."""
    out = subprocess.run(["pgrep", "-P", str(hub_pid), "-f", "configurable-http-proxy"],
                         capture_output=True, text=True).stdout.split()
    if not out:
        raise RuntimeError(f"hub {hub_pid} has no proxy process")
    return int(out[0])


def containers_of(volume_prefix: str) -> set[str]:
    """The ids of the running containers that mount a volume named ``volume_prefix…``
    (the homes of a benchmark's students: the spawner escapes the name after the prefix)."""
    volumes = subprocess.run(["docker", "volume", "ls", "-q", "--filter",
                              f"name={volume_prefix}"], capture_output=True, text=True).stdout
    return {container for volume in volumes.split() for container in subprocess.run(
        ["docker", "ps", "-q", "--filter", f"volume={volume}"],
        capture_output=True, text=True).stdout.split()}


def only_container_of(volume_prefix: str) -> str:
    """The id of the one running container with a ``volume_prefix…`` volume."""
    running = containers_of(volume_prefix)
    if len(running) != 1:
        raise RuntimeError(f"expected one container with a {volume_prefix}* volume: {running}")
    return running.pop()


def measure_sign_ins(sign_ins: Callable[[], T], count: int, hub_pid: int, proxy_pid: int,
                     volume_prefix: str) -> tuple[T, StartCost]:
    """What ``sign_ins`` returns, and the CPU per sign-in of ``count`` people signing in
    to their running servers (the ``volume_prefix…`` containers): the hub's share, the
    proxy's, and the servers' own (their OAuth callback, the lab page)."""
    containers = containers_of(volume_prefix)

    def now() -> dict[str, float]:
        return {"hub": process_cpu_seconds(hub_pid), "proxy": process_cpu_seconds(proxy_pid),
                "servers": sum(container_cpu_seconds(c) for c in containers)}

    before = now()
    result = sign_ins()
    after = now()
    return result, StartCost({name: (after[name] - before[name]) / count for name in before})
