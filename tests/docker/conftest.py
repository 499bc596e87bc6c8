"""Fixtures for docker mode: the engine, the student image (built once if missing), a real hub,
the compose deployment."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from compose_project import Compose, running_compose
from docker_classroom import (
    DockerHub,
    docker_available,
    ensure_image,
    running_docker_hub,
)

from hub.spawners.student_network import temporary_student_network


@pytest.fixture(scope="session")
def engine() -> None:
    if not docker_available():
        pytest.skip("Docker engine not running: `make dockerd` starts one")


@pytest.fixture(scope="session")
def student_image(engine: None) -> str:
    return ensure_image("student")


@pytest.fixture(scope="session")
def compose(engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Compose]:
    """The compose deployment the compose tests share (``compose_project.py`` says why)."""
    with running_compose(tmp_path_factory.mktemp("center")) as running:
        yield running


@pytest.fixture(scope="module")
def docker_hub(student_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerHub]:
    """``aiclass up --mode docker`` on its own students' network with small, checkable limits.

    The proxy listens on the network's gateway, an address of this host that the containers
    reach, and no other.
    """
    data_dir = tmp_path_factory.mktemp("docker-hub")
    course = tmp_path_factory.mktemp("course-data")
    (course / "readme.txt").write_text("课程数据 / course data\n", encoding="utf-8")
    course.chmod(0o755)
    (course / "readme.txt").chmod(0o644)
    run_id = uuid.uuid4().hex[:8]
    with temporary_student_network(f"aiclass-test-{run_id}") as network:
        docker_settings = (
            'cpu_mem_limit = "1G"\ncpu_cpu_limit = 0.5\ncpu_pids_limit = 256\n'
            f'course_data = "{course}"\n'
        )
        with running_docker_hub(data_dir, run_id, network, docker_settings) as hub:
            yield hub
