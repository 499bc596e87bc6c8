"""Docker sandbox: one container per notebook, from the student image, through the SDK.

The grader may itself run in a container (the hub image with the engine's socket
mounted, as the compose deployment runs it). So the engine is reached with the Docker
SDK over that socket, never a ``docker`` CLI the hub image lacks, and nothing of the
grader's filesystem is bind-mounted: a folder of the hub container is no host path.

How the submission and the kernel reach the sandbox: over the container's attached
stdin and stdout (:mod:`grading.sandbox.stdio_relay`). Not ``put_archive``: a warm
sandbox is started before its submission is known, and the engine cannot write into a
running container's read-only root or its tmpfs work directory. Not a named volume:
the grader's own container would need that volume mounted, and its kernel's sockets
are live traffic, not files to copy. The attach stream works wherever the grader runs
and needs no network in the sandbox. Each sandbox has a launcher process (the
relay's grader end) that creates, attaches, starts and finally removes its container;
it stands where ``docker run`` stood, so the pool and kernel manager are unchanged.

The container has no network, a read-only root, tmpfs work, temp and connection dirs,
a non-root uid, no capabilities, memory with swap equal to memory, a pids limit and a
CPU share. The image (built by ``images/``) must hold python3, ipykernel and nbgrader;
the hub names it (the student image of this version, under the center's registry prefix).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import docker
from docker.errors import DockerException
from traitlets import Unicode

from grading.sandbox import stdio_relay
from grading.sandbox.base import (
    BOOT_SOURCE,
    CONN_DIR_INSIDE,
    NOBODY,
    WORK_DIR_INSIDE,
    SandboxBackend,
    WarmSandbox,
    boot_argument,
    sandbox_environment,
)
from grading.sandbox.limits import SandboxLimits
from grading.sandbox.proc_stat import proc_stat
from grading.sandbox.registry import register_backend

RELAY_SOURCE = Path(stdio_relay.__file__).read_text(encoding="utf-8")
#: How much the sandbox's connection dir (the kernel's sockets and kernel.json) may hold.
CONN_BYTES = 1024 * 1024
#: How long :meth:`DockerSandbox.kill` keeps removing a container before it kills the launcher.
REMOVAL_SECONDS = 30
#: Names the grading process that started a container, as ``place:pid:start-time``.
OWNER_LABEL = "org.aiclass.grading-owner"


def owner_place() -> str:
    """Where this process's pids mean something: the host name and the PID namespace.

    A hub in a container (compose's, on the host's network, so with the host's name) and a
    grader on the host share one engine but not their pids: a pid read in the other
    namespace says nothing about whether that grader lives, and taking it for dead would
    remove sandboxes in the middle of someone else's grading.
    """
    return f"{socket.gethostname()}+{os.stat('/proc/self/ns/pid').st_ino}"


def _start_time(pid: int | str) -> str:
    """The process's start time in clock ticks since boot (a pid alone may be reused)."""
    return proc_stat(pid)[19]


def owner_token() -> str:
    """This process, as written in :data:`OWNER_LABEL`."""
    return f"{owner_place()}:{os.getpid()}:{_start_time(os.getpid())}"


def owner_alive(token: str) -> bool:
    """Whether the grader that wrote ``token`` still runs (another host's or another PID
    namespace's: assumed so)."""
    place, _, rest = token.partition(":")
    pid, _, started = rest.partition(":")
    if place != owner_place():
        return True
    try:
        return _start_time(pid) == started
    except (OSError, IndexError):
        return False


@register_backend("docker")
class DockerSandbox(SandboxBackend):
    """Sandboxes made with the Docker SDK, one container each."""

    name = "docker"
    image = Unicode(help="""Image with python3, ipykernel, nbgrader: the student image.

        Given by the caller, which knows this version and the center's registry prefix
        (``hub.images.image_reference``); the grading library does not.""").tag(config=True)
    python = Unicode("/opt/venv/bin/python3", help="Python inside the image (the student "
                     "image's environment, not Debian's bare python3)").tag(config=True)

    @classmethod
    def for_run(cls, limits: SandboxLimits, image: str | None) -> DockerSandbox:
        return cls(limits=limits, image=image or "")

    def engine(self) -> docker.DockerClient:
        """The engine named by the SDK's own environment (``DOCKER_HOST``, else the socket)."""
        return docker.from_env(timeout=30)

    def available(self) -> bool:
        """An engine answers and the grading image is named and present."""
        if not self.image:
            return False
        try:
            self.engine().images.get(self.image)
        except (DockerException, OSError):
            return False
        return True

    def unavailable_reason(self) -> str:
        if not self.image:
            return "未指定 Docker 沙箱镜像 / no image was given for the Docker sandbox"
        return (f"Docker 引擎或镜像 {self.image} 不可用 / "
                f"the Docker engine or image {self.image} is not available")

    def remove_orphans(self) -> list[str]:
        """Remove the sandboxes of graders that died (killed services, crashed workers).

        A launcher outlives its grader (its own session, as ``docker run`` did) and keeps
        its container running, with a kernel nobody will ever stop; the label says whose
        each container is.
        """
        orphans = []
        for container in self.engine().containers.list(
                all=True, filters={"label": OWNER_LABEL}):
            if owner_alive(container.labels.get(OWNER_LABEL, "")):
                continue
            try:
                container.remove(force=True)
            except DockerException:
                pass  # already gone, or its own launcher is removing it
            orphans.append(container.name)
        return orphans

    def container_name(self, sandbox_id: str) -> str:
        return f"aiclass-grade-{sandbox_id}"

    def container_spec(self, sandbox_id: str, conn_dir: Path, limits: SandboxLimits) -> dict:
        """What the launcher creates: the container and every limit it runs under."""
        memory = limits.memory_bytes
        argument = json.loads(boot_argument(limits, limited_by_cgroup=True))
        argument["relay_source"] = RELAY_SOURCE
        return {
            "conn_dir": str(conn_dir),
            "create": {
                "image": self.image,
                "command": [self.python, "-c", BOOT_SOURCE, json.dumps(argument)],
                "name": self.container_name(sandbox_id),
                "user": f"{NOBODY}:{NOBODY}",
                "environment": sandbox_environment(),
                "working_dir": WORK_DIR_INSIDE,
                "labels": {OWNER_LABEL: owner_token()},
                "stdin_open": True,
                "network_disabled": True,
            },
            "host_config": {
                "network_mode": "none",
                "read_only": True,
                "cap_drop": ["ALL"],
                "security_opt": ["no-new-privileges"],
                "mem_limit": memory,
                "memswap_limit": memory,
                "pids_limit": limits.pids,
                "nano_cpus": round(limits.cpus * 1e9),
                "cpu_shares": limits.cpu_shares,
                "tmpfs": {
                    "/tmp": f"rw,nosuid,size={limits.work_bytes},mode=1777",
                    WORK_DIR_INSIDE: f"rw,nosuid,size={limits.work_bytes},"
                                     f"uid={NOBODY},gid={NOBODY},mode=0700",
                    CONN_DIR_INSIDE: f"rw,nosuid,noexec,size={CONN_BYTES},"
                                     f"uid={NOBODY},gid={NOBODY},mode=0700",
                },
                "log_config": {"type": "none"},
            },
        }

    def command(
        self, sandbox_id: str, conn_dir: Path, limits: SandboxLimits, cgroup_procs: list[Path]
    ) -> list[str]:
        """The launcher: :mod:`~grading.sandbox.stdio_relay`'s source, run isolated.

        ``-I -c`` rather than ``-m``: importing the ``grading`` package costs seconds per
        sandbox, and this directory's ``docker.py`` would shadow the SDK on ``sys.path``.
        """
        spec = self.container_spec(sandbox_id, conn_dir, limits)
        return [sys.executable, "-I", "-c", RELAY_SOURCE, json.dumps(spec)]

    def launcher_environment(self) -> dict[str, str]:
        """The launcher reaches the engine this process does (the SDK's ``DOCKER_*``)."""
        docker_variables = {key: value for key, value in os.environ.items()
                            if key.startswith("DOCKER_")}
        return {**super().launcher_environment(), **docker_variables}

    def _remove(self, sandbox: WarmSandbox) -> None:
        try:
            self.engine().api.remove_container(self.container_name(sandbox.id), force=True)
        except (DockerException, OSError):
            pass  # not created yet, already gone, or being removed

    def kill(self, sandbox: WarmSandbox) -> None:
        """Remove the container itself: killing the launcher alone leaves it running.

        A sandbox can be killed before the engine has even created its container (a busy
        engine takes seconds), when removal finds nothing; so removal is repeated until
        the launcher exits on its own, which it does once its container is gone.
        Killing the launcher is the last resort.
        """
        deadline = time.monotonic() + REMOVAL_SECONDS
        while sandbox.process.poll() is None and time.monotonic() < deadline:
            self._remove(sandbox)
            try:
                sandbox.process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                continue
        super().kill(sandbox)

    def release(self, sandbox: WarmSandbox) -> None:
        """Remove the container once more after the launcher has exited.

        The launcher can be gone while its container still runs (jupyter_client signals the
        process it was given), or the engine may have created the container just after the
        first removal; either would leave a kernel running with nobody to stop it.
        """
        self._remove(sandbox)

    def out_of_memory(self, sandbox: WarmSandbox) -> bool:
        return sandbox.process.returncode == 137 and sandbox.killed_for is None
