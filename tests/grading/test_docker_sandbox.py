"""The Docker sandbox cleans up after graders that died (the corpus runs in test_malicious)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from grading.sandbox.docker import DockerSandbox
from hub.images import image_reference

REPO = Path(__file__).resolve().parents[2]

STUDENT_IMAGE = image_reference("student")

pytestmark = pytest.mark.skipif(
    not DockerSandbox(image=STUDENT_IMAGE).available(),
    reason="Docker engine or student image missing (.ci/run starts dockerd and builds it)",
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
