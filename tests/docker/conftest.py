"""Fixtures for docker mode: the engine, the student image (built once if missing), a real hub."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from docker_classroom import (
    REPO,
    DockerHub,
    docker,
    docker_available,
    ensure_image,
    free_port,
    students_network,
    wait_for,
)

from hub.spawners.student_network import StudentNetwork


@pytest.fixture(scope="session")
def engine() -> None:
    if not docker_available():
        pytest.skip("Docker engine not running (.ci/run starts dockerd --bridge=none)")


@pytest.fixture(scope="session")
def student_image(engine: None) -> str:
    return ensure_image("student")


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
    port = free_port()
    with students_network(f"aiclass-test-{run_id}") as network:
        yield from _docker_hub(data_dir, course, run_id, port, network)


def _docker_hub(
    data_dir: Path, course: Path, run_id: str, port: int, network: StudentNetwork
) -> Iterator[DockerHub]:
    (data_dir / "aiclass.toml").write_text(
        f"""
[hub]
mode = "docker"
ip = "{network.gateway}"
port = {port}
hub_port = {free_port()}
proxy_api_port = {free_port()}

[demo]
students = 4

[docker]
home_volume = "aiclass-test-{run_id}-{{username}}"
cpu_mem_limit = "1G"
cpu_cpu_limit = 0.5
cpu_pids_limit = 256
cull_idle_minutes = 0
container_prefix = "aiclass-test-{run_id}"
course_data = "{course}"
network = "{network.name}"
""",
        encoding="utf-8",
    )
    log = (data_dir / "hub.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "up", "--data", str(data_dir)],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    url = f"http://{network.gateway}:{port}/"
    try:
        wait_for(f"{url}hub/api/", timeout=300)  # seeding and services take long on a busy CI
        yield DockerHub(url, data_dir, run_id, process, network)
    finally:
        process.terminate()
        try:
            process.wait(120)  # the hub stops every server it started before it exits
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        volumes = docker("volume", "ls", "-q", "--filter", f"name=aiclass-test-{run_id}-")
        for volume in volumes.split():
            for container in docker("ps", "-aq", "--filter", f"volume={volume}").split():
                docker("rm", "-f", container, check=False)
            docker("volume", "rm", "-f", volume, check=False)
