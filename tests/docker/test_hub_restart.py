"""A docker-mode hub stopped or killed mid-lesson: the students' containers go on.

Does SIGTERM stop the hub within ``docker stop``'s 10 s while a student's container keeps
running? Does a hub started again, or one that was SIGKILLed, adopt that same container,
so the student's lab answers throughout, with no new container and nothing restarted?
"""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from docker_classroom import (
    DockerHub,
    demo_students,
    docker,
    running_docker_hub,
    sign_in,
)

from hub.spawners.student_network import temporary_student_network

pytestmark = pytest.mark.docker


@pytest.fixture
def docker_hub(student_image: str, tmp_path: Path) -> Iterator[DockerHub]:
    run_id = f"e{uuid.uuid4().hex[:7]}"
    with temporary_student_network(f"aiclass-test-{run_id}") as network, \
            running_docker_hub(tmp_path, run_id, network) as hub:
        yield hub


def containers(hub: DockerHub) -> list[str]:
    """Ids of the hub's running student containers."""
    return docker("ps", "-q", "--no-trunc", "--filter",
                  f"name=aiclass-test-{hub.run_id}").split()


def test_stopped_or_killed_hub_leaves_the_lab_running_and_adopts_it(
        docker_hub: DockerHub) -> None:
    username, password, _class = demo_students(docker_hub.data_dir)[0]
    student = sign_in(docker_hub.url, username, password)
    student.start()
    assert student.lab().status_code == 200
    (container,) = containers(docker_hub)

    started = time.monotonic()
    docker_hub.process.send_signal(signal.SIGTERM)
    try:
        docker_hub.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail("the docker-mode hub was still running 10 s after SIGTERM")
    print(f"docker-mode hub stopped in {time.monotonic() - started:.1f} s")
    assert containers(docker_hub) == [container], "the hub's stop stopped the class"

    docker_hub.start_again()
    assert student.wait(lambda server: server and server.get("ready"), 60)
    assert student.lab().status_code == 200
    assert containers(docker_hub) == [container], "the restarted hub made a new container"

    docker_hub.process.kill()
    docker_hub.process.wait()
    docker_hub.start_again()
    assert student.lab().status_code == 200
    assert containers(docker_hub) == [container], "the hub killed mid-lesson lost the lab"
    log = (docker_hub.data_dir / "hub.log").read_text(encoding="utf-8", errors="replace")
    assert log.count(f"{username} still running") == 2, log[-3000:]
