"""The Docker sandbox cleans up after graders that died (the corpus runs in test_malicious)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import docker
import pytest

from grading.sandbox.docker import OWNER_LABEL, DockerSandbox, owner_place
from hub.images import image_reference

REPO = Path(__file__).resolve().parents[2]

STUDENT_IMAGE = image_reference("student")

pytestmark = pytest.mark.skipif(
    not DockerSandbox(image=STUDENT_IMAGE).available(),
    reason="Docker engine or student image missing: `make images` starts the engine and builds it",
)

GRADER = f"""
import time
from grading.sandbox.docker import DockerSandbox
backend = DockerSandbox(image={STUDENT_IMAGE!r})
sandbox = backend.start()
sandbox.wait_booted(timeout=120)
print(backend.container_name(sandbox.id), flush=True)
time.sleep(600)
"""


def containers(name: str) -> list[str]:
    return subprocess.run(["docker", "ps", "-aq", "--filter", f"name=^{name}$"],
                          capture_output=True, text=True, check=True).stdout.split()


def test_sandboxes_of_a_killed_grader_are_removed_and_a_live_ones_kept() -> None:
    live = DockerSandbox(image=STUDENT_IMAGE)
    kept = live.start()
    grader = subprocess.Popen([sys.executable, "-c", GRADER], cwd=REPO,
                              stdout=subprocess.PIPE, text=True)
    try:
        name = grader.stdout.readline().strip()
        kept.wait_booted(timeout=120)
        grader.kill()
        grader.wait()
        assert containers(name), "killing the grader alone leaves its container running"
        removed = DockerSandbox(image=STUDENT_IMAGE).remove_orphans()
        assert name in removed
        assert containers(name) == []
        assert containers(live.container_name(kept.id))
    finally:
        grader.kill()
        kept.close()
    assert containers(live.container_name(kept.id)) == []


def test_sandboxes_of_a_grader_in_another_pid_namespace_are_kept() -> None:
    """Does a grader leave alone a sandbox whose grader runs in another PID namespace (the
    compose hub's container beside a grader on the host, sharing one engine and one host
    name), where the pid it was given names nothing here; while a sandbox of a grader that
    died here is still removed?"""

    engine = docker.from_env()
    here_dead = f"{owner_place()}:999999999:1"
    elsewhere = f"{socket.gethostname()}+1:{os.getpid()}:1"
    made = {token: engine.containers.create(
        STUDENT_IMAGE, command=["sleep", "600"], network_mode="none",
        labels={OWNER_LABEL: token}, name=f"aiclass-sandbox-test-{uuid.uuid4().hex[:8]}")
        for token in (here_dead, elsewhere)}
    try:
        removed = DockerSandbox(image=STUDENT_IMAGE).remove_orphans()
        assert made[here_dead].name in removed
        assert made[elsewhere].name not in removed
        assert containers(made[elsewhere].name), "another namespace's sandbox was removed"
    finally:
        for container in made.values():
            subprocess.run(["docker", "rm", "-f", container.id], capture_output=True)
