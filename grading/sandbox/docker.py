"""Docker sandbox: one container per notebook, from the student image.

The container has no network, a read-only root, tmpfs work and temp dirs, a
non-root uid, memory with swap equal to memory, a pids limit and a CPU share.
Only the connection directory is mounted from the host. The image (built by
``images/``) must hold python3, ipykernel and nbgrader.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from traitlets import Unicode

from grading.limits import SandboxLimits
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

DEFAULT_IMAGE = "aiclass/student:latest"


class DockerSandbox(SandboxBackend):
    """Sandboxes made with ``docker run``."""

    name = "docker"
    docker = Unicode("docker", help="The docker client executable").tag(config=True)
    image = Unicode(DEFAULT_IMAGE, help="Image with python3, ipykernel, nbgrader").tag(
        config=True
    )
    python = Unicode("python3", help="Python inside the image").tag(config=True)

    def available(self) -> bool:
        """An engine answers and the grading image is present."""
        if shutil.which(self.docker) is None:
            return False
        result = subprocess.run(
            [self.docker, "image", "inspect", self.image],
            capture_output=True,
            timeout=20,
            check=False,
        )
        return result.returncode == 0

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
            "--tmpfs", f"/tmp:rw,nosuid,size={limits.work_bytes},mode=1777",
            "--tmpfs", f"{WORK_DIR_INSIDE}:rw,nosuid,size={limits.work_bytes},"
                       f"uid={NOBODY},gid={NOBODY},mode=0700",
            "-v", f"{conn_dir}:{CONN_DIR_INSIDE}", "--workdir", WORK_DIR_INSIDE,
            "--log-driver", "none",
        ]
        for key, value in sandbox_environment().items():
            argv += ["-e", f"{key}={value}"]
        argv += [self.image, self.python, "-c", BOOT_SOURCE,
                 boot_argument(limits, memory_by_cgroup=True)]
        return argv

    def kill(self, sandbox: WarmSandbox) -> None:
        """Remove the container itself: killing ``docker run`` alone leaves it running."""
        if sandbox.process.poll() is None:
            subprocess.run(
                [self.docker, "rm", "-f", self.container_name(sandbox.id)],
                capture_output=True,
                timeout=30,
                check=False,
            )
        super().kill(sandbox)

    def out_of_memory(self, sandbox: WarmSandbox) -> bool:
        return sandbox.process.returncode == 137 and sandbox.killed_for is None
