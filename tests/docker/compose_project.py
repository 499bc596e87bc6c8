"""One run of ``docker-compose.yml`` as a center runs it, shared by the compose tests.

``docker-compose.yml`` + ``docker-compose.tls.yml`` with a self-signed certificate made by
``openssl`` as the README does, the test override's ports, and a students' network of the run's
own whose gateway is the public address (nothing leaves this machine). No ``AICLASS_DEMO``: the
deployment starts as production does.

Starting it takes a minute or more, so ``tests/docker/test_compose.py``,
``test_compose_loop.py`` and ``test_hub_container_stop.py`` share one project (the
session-scoped ``compose`` fixture in ``tests/docker/conftest.py``), in that order: the first
checks the fresh deployment (before anyone else has signed in), the loop runs a class on it, and
the last stops its hub. Every name a test makes there carries :data:`RUN`, so one clean-up
finds them all.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from docker_classroom import REPO, docker, ensure_image, free_port, wait_for

from hub.spawners.student_network import StudentNetwork, temporary_student_network

RUN = uuid.uuid4().hex[:6]
"""Usernames, schools, containers and home volumes of this run are told apart by it."""


@dataclass
class Compose:
    """A running compose project: its command line, environment, URL, and the database
    password it was given."""

    base: list[str]
    env: dict[str, str]
    url: str
    network: StudentNetwork
    project: str
    password: str

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*self.base, *args], env=self.env, cwd=REPO, check=True,
                              capture_output=True, text=True)

    def container(self, service: str) -> str:
        ids = self.run("ps", "-q", service).stdout.split()
        assert len(ids) == 1, f"expected one {service} container, found {ids}"
        return ids[0]

    def hub_console(self, *args: str) -> str:
        """An ``aiclass`` command at the hub's console, as the center's admin runs it."""
        return docker("exec", self.container("hub"), "aiclass", *args)

    def hub_log(self) -> str:
        return self.run("logs", "--no-color", "hub").stdout


def compose_command() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return ["docker", "compose"]


def shell(script: str, cwd: Path) -> None:
    """A README step, run as written there (``sh -e``)."""
    subprocess.run(["sh", "-ec", script], cwd=cwd, check=True, capture_output=True)


@contextmanager
def running_compose(center: Path) -> Iterator[Compose]:
    """``docker-compose up`` in ``center`` (secrets, certificate, override), then everything
    the run made removed: the project and its volumes, the students' containers and homes.

    ``REQUESTS_CA_BUNDLE`` names the run's certificate meanwhile, so that requests made
    without a ``verify`` of their own (the tests' sessions) trust the deployment's HTTPS.
    """
    ensure_image("postgres")
    ensure_image("hub")
    ensure_image("student")
    project = f"aiclasscompose{RUN}"
    with temporary_student_network(f"aiclass-compose-{RUN}") as network, \
            pytest.MonkeyPatch.context() as patch:
        # the README's steps: the password file, then a test certificate for the address
        shell("install -d -m 700 secrets && openssl rand -hex 24 > secrets/db-password "
              "&& chmod 600 secrets/db-password", center)
        shell("install -d -m 700 tls && openssl req -x509 -newkey rsa:2048 -nodes -days 30 "
              f"-subj /CN=aiclass -addext 'subjectAltName=IP:{network.gateway}' "
              "-keyout tls/key.pem -out tls/cert.pem", center)
        patch.setenv("REQUESTS_CA_BUNDLE", str(center / "tls" / "cert.pem"))
        override = center / "docker-compose.network.yml"
        override.write_text("services:\n  hub:\n    environment:\n"
                            f"      AICLASS_HUB_IP: {network.gateway}\n"
                            f"      AICLASS_DOCKER_NETWORK: {network.name}\n",
                            encoding="utf-8")
        env = {
            **{k: v for k, v in os.environ.items() if k != "AICLASS_DEMO"},
            "AICLASS_SECRETS_DIR": str(center / "secrets"),
            "AICLASS_TLS_DIR": str(center / "tls"),
            "AICLASS_TEST_DB_PORT": str(free_port()),
            "AICLASS_TEST_HUB_PORT": str(free_port()),
            "AICLASS_TEST_HUB_API_PORT": str(free_port()),
            "AICLASS_TEST_PROXY_API_PORT": str(free_port()),
        }
        base = [*compose_command(), "-f", str(REPO / "docker-compose.yml"),
                "-f", str(REPO / "docker-compose.tls.yml"),
                "-f", str(REPO / "docker-compose.test.yml"), "-f", str(override), "-p", project]
        password = (center / "secrets" / "db-password").read_text(encoding="utf-8").strip()
        url = f"https://{network.gateway}:{env['AICLASS_TEST_HUB_PORT']}/"
        try:
            subprocess.run([*base, "up", "-d"], env=env, check=True, cwd=REPO)
            wait_for(f"{url}hub/api/", timeout=240)
            yield Compose(base, env, url, network, project, password)
        finally:
            (center / "compose.log").write_text(subprocess.run(
                [*base, "logs", "--no-color"], env=env, capture_output=True, text=True).stdout,
                encoding="utf-8")
            for container_id in docker("ps", "-aq", "--filter",
                                       f"network={network.name}").split():
                docker("rm", "-f", container_id, check=False)
            subprocess.run([*base, "down", "-v"], env=env, cwd=REPO)
            for volume in docker("volume", "ls", "-q", "--filter", f"name={RUN}").split():
                docker("volume", "rm", "-f", volume, check=False)
