"""``docker-compose.yml`` with the test override: hub + PostgreSQL start, a student signs in.

The override keeps everything on 127.0.0.1 with ports of its own; the project name and volumes
are unique to the run and removed afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest
from docker_classroom import REPO, docker, ensure_image, free_port, sign_in, wait_for

pytestmark = pytest.mark.docker


def compose_command() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return ["docker", "compose"]


@pytest.fixture(scope="module")
def compose_hub(engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    ensure_image("postgres")
    ensure_image("hub")
    project = f"aiclasstest{uuid.uuid4().hex[:6]}"
    env = {
        **os.environ,
        "AICLASS_DB_PASSWORD": uuid.uuid4().hex,
        "AICLASS_TEST_DB_PORT": str(free_port()),
        "AICLASS_TEST_HUB_PORT": str(free_port()),
        "AICLASS_TEST_HUB_API_PORT": str(free_port()),
        "AICLASS_TEST_PROXY_API_PORT": str(free_port()),
    }
    base = [
        *compose_command(),
        "-f",
        str(REPO / "docker-compose.yml"),
        "-f",
        str(REPO / "docker-compose.test.yml"),
        "-p",
        project,
    ]
    subprocess.run([*base, "up", "-d"], env=env, check=True, cwd=REPO)
    url = f"http://127.0.0.1:{env['AICLASS_TEST_HUB_PORT']}/"
    log = tmp_path_factory.mktemp("compose") / "compose.log"
    try:
        wait_for(f"{url}hub/api/", timeout=180)
        yield {"url": url, "project": project, "env": env, "base": base}
    finally:
        log.write_text(
            subprocess.run([*base, "logs"], env=env, capture_output=True, text=True).stdout
        )
        subprocess.run([*base, "down", "-v"], env=env, cwd=REPO)


def test_compose_starts_hub_on_postgres_and_a_student_signs_in(compose_hub: dict) -> None:
    project = compose_hub["project"]
    hub_container = docker("ps", "-q", "--filter", f"name={project}_hub")
    assert hub_container, "the hub service is not running"
    accounts = ""
    deadline = time.monotonic() + 60
    while not accounts and time.monotonic() < deadline:
        accounts = docker(
            "exec", hub_container, "cat", "/srv/aiclass/demo-accounts.csv", check=False
        )
        time.sleep(1)
    rows = [line.split(",") for line in accounts.splitlines()[1:]]
    username, password = next((r[0], r[1]) for r in rows if r[2] == "student")
    student = sign_in(compose_hub["url"], username, password)
    me = student.api("GET", "/user")
    assert me.status_code == 200
    assert me.json()["name"] == username

    settings = docker("exec", hub_container, "cat", "/srv/aiclass/aiclass.toml")
    assert "postgresql+psycopg2://aiclass:" in settings
    postgres = docker("ps", "-q", "--filter", f"name={project}_postgres")
    tables = docker(
        "exec",
        postgres,
        "psql",
        "-h",
        "/var/run/postgresql",
        "-p",
        compose_hub["env"]["AICLASS_TEST_DB_PORT"],
        "-U",
        "aiclass",
        "-d",
        "aiclass",
        "-Atc",
        "select count(*) from information_schema.tables where table_schema = 'public'",
    )
    assert int(tables) > 0, "the hub wrote nothing to PostgreSQL"
