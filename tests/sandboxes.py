"""The grading sandboxes a test runs in: both backends, Docker's only where it can run.

Under CI the engine and the student image are always there (``.ci/run`` starts dockerd and
builds the image), so the Docker cases run; elsewhere they are skipped with the reason.
"""

from __future__ import annotations

import pytest

from grading.sandbox.docker import DockerSandbox
from hub.images import image_reference

STUDENT_IMAGE = image_reference("student")
SANDBOXES = [
    "local",
    pytest.param("docker", marks=pytest.mark.skipif(
        not DockerSandbox(image=STUDENT_IMAGE).available(),
        reason="Docker engine or student image missing: `make images` starts the engine "
               "and builds it")),
]
