"""Docker sandbox: one container per notebook, from the student image.

The container has no network, a read-only root, tmpfs work and temp dirs, a
non-root uid, memory with swap equal to memory, a pids limit and a CPU share.
Only the connection directory is mounted from the host. The image (built by
``images/``) must hold python3, ipykernel and nbgrader; the hub names it (the
student image of this version, under the center's registry prefix).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from traitlets import Unicode

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
from grading.sandbox.registry import register_backend

#: How long :meth:`DockerSandbox.kill` keeps removing a container before it kills the client.
REMOVAL_SECONDS = 30
#: Names the grading process that started a container, as ``host:pid:start-time``.
OWNER_LABEL = "org.aiclass.grading-owner"


def _start_time(pid: int | str) -> str:
    """The process's start time in clock ticks since boot (a pid alone may be reused)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]


def owner_token() -> str:
    """This process, as written in :data:`OWNER_LABEL`."""
    return f"{socket.gethostname()}:{os.getpid()}:{_start_time(os.getpid())}"


def owner_alive(token: str) -> bool:
    """Whether the grader that wrote ``token`` still runs (another host's: assumed so)."""
    host, _, rest = token.partition(":")
    pid, _, started = rest.partition(":")
    if host != socket.gethostname():
        return True
    try:
        return _start_time(pid) == started
    except (OSError, IndexError):
        return False


@register_backend("docker")
class DockerSandbox(SandboxBackend):
    """Sandboxes made with ``docker run``."""

    name = "docker"
    docker = Unicode("docker", help="The docker client executable").tag(config=True)
    image = Unicode(help="""Image with python3, ipykernel, nbgrader: the student image.

        Given by the caller, which knows this version and the center's registry prefix
        (``hub.images.image_reference``); the grading library does not.""").tag(config=True)
    python = Unicode("/opt/venv/bin/python3", help="Python inside the image (the student "
                     "image's environment, not Debian's bare python3)").tag(config=True)

    @classmethod
    def for_run(cls, limits: SandboxLimits, image: str | None) -> DockerSandbox:
        return cls(limits=limits, image=image or "")

    def available(self) -> bool:
        """An engine answers and the grading image is named and present."""
        if not self.image or shutil.which(self.docker) is None:
            return False
        result = subprocess.run(
            [self.docker, "image", "inspect", self.image],
            capture_output=True,
            timeout=20,
            check=False,
        )
        return result.returncode == 0

    def unavailable_reason(self) -> str:
        if not self.image:
            return "未指定 Docker 沙箱镜像 / no image was given for the Docker sandbox"
        return (f"Docker 引擎或镜像 {self.image} 不可用 / "
                f"the Docker engine or image {self.image} is not available")

    def remove_orphans(self) -> list[str]:
        """Remove the sandboxes of graders that died (killed services, crashed workers).

        A ``docker run`` client killed with its grader leaves its container running, with a
        kernel nobody will ever stop; the label says whose each container is.
        """
        listing = subprocess.run(
            [self.docker, "ps", "-a", "--filter", f"label={OWNER_LABEL}",
             "--format", f'{{{{.Names}}}} {{{{.Label "{OWNER_LABEL}"}}}}'],
            capture_output=True, text=True, timeout=30, check=False,
        ).stdout.split("\n")
        orphans = [name for name, _, owner in (line.partition(" ") for line in listing if line)
                   if not owner_alive(owner)]
        if orphans:
            subprocess.run([self.docker, "rm", "-f", *orphans], capture_output=True,
                           timeout=60, check=False)
        return orphans

    def container_name(self, sandbox_id: str) -> str:
        return f"aiclass-grade-{sandbox_id}"

    def command(
        self, sandbox_id: str, conn_dir: Path, limits: SandboxLimits, cgroup_procs: list[Path]
    ) -> list[str]:
        memory = str(limits.memory_bytes)
        argv = [
            self.docker, "run", "--rm", "-i", "--name", self.container_name(sandbox_id),
            "--network", "none", "--read-only", "--user", f"{NOBODY}:{NOBODY}",
            "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
            "--memory", memory, "--memory-swap", memory,
            "--pids-limit", str(limits.pids), "--cpus", str(limits.cpus),
            "--cpu-shares", str(limits.cpu_shares),
            "--tmpfs", f"/tmp:rw,nosuid,size={limits.work_bytes},mode=1777",
            "--tmpfs", f"{WORK_DIR_INSIDE}:rw,nosuid,size={limits.work_bytes},"
                       f"uid={NOBODY},gid={NOBODY},mode=0700",
            "-v", f"{conn_dir}:{CONN_DIR_INSIDE}", "--workdir", WORK_DIR_INSIDE,
            "--log-driver", "none", "--label", f"{OWNER_LABEL}={owner_token()}",
        ]
        for key, value in sandbox_environment().items():
            argv += ["-e", f"{key}={value}"]
        argv += [self.image, self.python, "-c", BOOT_SOURCE,
                 boot_argument(limits, limited_by_cgroup=True)]
        return argv

    def _remove(self, sandbox: WarmSandbox) -> None:
        subprocess.run(
            [self.docker, "rm", "-f", self.container_name(sandbox.id)],
            capture_output=True,
            timeout=30,
            check=False,
        )

    def kill(self, sandbox: WarmSandbox) -> None:
        """Remove the container itself: killing ``docker run`` alone leaves it running.

        A sandbox can be killed before the engine has even created its container (a busy
        engine takes seconds), when ``docker rm`` finds nothing; so removal is repeated
        until ``docker run`` exits on its own, which it does once its container is gone.
        Killing the client is the last resort.
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
        """Remove the container once more after ``docker run`` has exited.

        The client can be gone while its container still runs (jupyter_client signals the
        process it was given), or the engine may have created the container just after the
        first removal; either would leave a kernel running with nobody to stop it.
        """
        self._remove(sandbox)

    def out_of_memory(self, sandbox: WarmSandbox) -> bool:
        return sandbox.process.returncode == 137 and sandbox.killed_for is None
