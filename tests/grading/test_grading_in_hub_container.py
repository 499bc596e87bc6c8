"""Grading from inside the hub container, as the compose deployment grades.

The hub image is run with the engine's socket mounted and nothing else: the assignment and
the submissions reach it as a tar on stdin, so no host path is shared with it or with the
sandboxes it starts. The old sandbox failed here twice over (no ``docker`` CLI in the image,
and a bind mount of a folder that exists only inside the hub container); this test grades
one correct and one wrong submission there and checks the scores and the clean-up.
"""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
import uuid
from pathlib import Path

import pytest

from grading.sandbox.docker import OWNER_LABEL
from tests.docker.docker_classroom import docker, docker_available, ensure_image
from tests.grading.conftest import CORRECT, write_submission

pytestmark = [
    pytest.mark.docker,
    pytest.mark.timeout(600),
    pytest.mark.skipif(not docker_available(),
                       reason="Docker engine not running: `make dockerd` starts one"),
]

SOCKET = "/var/run/docker.sock"
#: Squares off by one: fails ``correct_squares``, ``squares_invalid_input`` (no ValueError)
#: and ``correct_sum_of_squares``: 1 + 1 + 2 of problem1's points.
WRONG = {**CORRECT, "squares": "def squares(n):\n    return [i * i for i in range(n)]"}


def course_tar(course: Path, scratch: Path) -> bytes:
    """``source/ps1`` and ``submitted/{good,wrong}/ps1`` as one tar, for the container's stdin."""
    release, submitted = course / "release" / "ps1", scratch / "submitted"
    write_submission(release, submitted, "good", CORRECT)
    write_submission(release, submitted, "wrong", WRONG)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(course / "source" / "ps1", arcname="source/ps1")
        tar.add(submitted, arcname="submitted")
    return buffer.getvalue()


def cell_score(student: dict, grade_id: str) -> float | None:
    return next(cell["score"] for notebook in student["notebooks"] for cell in notebook["cells"]
                if cell["grade_id"] == grade_id)


def test_the_hub_container_grades_through_the_socket_alone(released_ps1: Path,
                                                          tmp_path: Path) -> None:
    hub_image, student_image = ensure_image("hub"), ensure_image("student")
    name = f"aiclass-r5a-grader-{uuid.uuid4().hex[:8]}"
    script = ("mkdir /tmp/course && tar -x -C /tmp/course && "
              f"aiclass grade /tmp/course/source/ps1 /tmp/course/submitted --jobs 2 "
              f"--sandbox docker --image {student_image}")
    try:
        graded = subprocess.run(
            ["docker", "run", "--rm", "-i", "--name", name, "--hostname", name,
             "--network", "none",
             "-v", f"{SOCKET}:{SOCKET}", "--entrypoint", "sh", hub_image, "-c", script],
            input=course_tar(released_ps1, tmp_path), capture_output=True, timeout=540, check=False)
    finally:
        docker("rm", "-f", name, check=False)
    assert graded.returncode == 0, graded.stderr.decode(errors="replace")[-3000:]
    students = {s["student"]: s for s in json.loads(graded.stdout)["students"]}

    good, wrong = students["good"], students["wrong"]
    assert good["flags"] == [] and wrong["flags"] == []
    assert good["score"] == 6.0
    assert cell_score(good, "correct_squares") == 1.0
    for grade_id in ("correct_squares", "squares_invalid_input", "correct_sum_of_squares"):
        assert cell_score(wrong, grade_id) == 0.0, grade_id
    assert wrong["score"] == good["score"] - 4.0
    assert cell_score(wrong, "correct_mean") == 2.0

    owners = docker("ps", "-a", "--filter", f"label={OWNER_LABEL}",
                    "--format", f'{{{{.Label "{OWNER_LABEL}"}}}}').split()
    assert [owner for owner in owners if owner.startswith(f"{name}:")] == []
