"""What the docker-mode tests do as a student or an operator: the docker CLI, images, sign-in.

Nothing leaves this machine: the engine runs with ``--bridge=none``; each test hub gets an
internal students' network of its own
(:func:`hub.spawners.student_network.temporary_student_network`), listens on its gateway (an
address of this host) and fences it in, so containers reach nothing but the hub's proxy.
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import requests

from hub.images import image_reference
from hub.spawners.student_network import StudentNetwork
from tests.hub.hubprocess import free_port, post_login

REPO = Path(__file__).resolve().parents[2]


def docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


def docker(*args: str, check: bool = True) -> str:
    """Run the docker CLI and return its stdout."""
    result = subprocess.run(["docker", *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed: {result.stderr}")
    return result.stdout.strip()


def ensure_image(name: str) -> str:
    """The image ``name``, built with ``aiclass images build --only NAME`` if it is missing."""
    tag = image_reference(name)
    if subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode:
        subprocess.run(
            [sys.executable, "-m", "hub.cli", "images", "build", "--only", name],
            cwd=REPO,
            check=True,
        )
    return tag


def wait_for(url: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {timeout:.0f} s")


@dataclass
class Student:
    """A signed-in student: their browser session and XSRF token for the hub API."""

    name: str
    session: requests.Session
    hub: str

    def api(self, method: str, path: str, **kwargs: object) -> requests.Response:
        xsrf = self.session.cookies.get("_xsrf", path="/hub/") or ""
        return self.session.request(
            method,
            f"{self.hub}hub/api{path}",
            headers={"X-XSRFToken": xsrf},
            timeout=60,
            **kwargs,  # type: ignore[arg-type]
        )

    def start(self, timeout: float = 120.0) -> dict:
        response = self.api("POST", f"/users/{self.name}/server", json={})
        assert response.status_code in (201, 202), response.text
        return self.wait(lambda server: server.get("ready"), timeout)

    def stop(self, timeout: float = 60.0) -> None:
        response = self.api("DELETE", f"/users/{self.name}/server")
        assert response.status_code in (202, 204), response.text
        self.wait(lambda server: server is None, timeout)

    def wait(self, done: object, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            model = self.api("GET", f"/users/{self.name}").json()
            server = model.get("servers", {}).get("")
            if done(server):  # type: ignore[operator]
                return server or {}
            time.sleep(0.5)
        raise AssertionError(f"{self.name}'s server did not settle in {timeout:.0f} s")

    def lab(self, owner: str | None = None) -> requests.Response:
        """Open ``owner``'s lab (default: one's own), following the hub's OAuth redirects."""
        return self.session.get(f"{self.hub}user/{owner or self.name}/lab", timeout=60)

    def contents(self, method: str, path: str, **kwargs: object) -> requests.Response:
        prefix = f"{self.hub}user/{self.name}/"
        xsrf = self.session.cookies.get("_xsrf", path=f"/user/{self.name}/") or ""
        return self.session.request(
            method,
            urljoin(prefix, f"api/contents/{path}"),
            headers={"X-XSRFToken": xsrf},
            timeout=60,
            **kwargs,  # type: ignore[arg-type]
        )


def sign_in(hub: str, username: str, password: str) -> Student:
    """Sign in through the roster login, replacing the initial password as it demands."""
    session = requests.Session()
    result = post_login(session, hub.rstrip("/"), username, password, f"{password}-new")
    assert result.status == 302, f"sign-in of {username} failed: {result}"
    return Student(username, session, hub)


def demo_accounts(data_dir: Path) -> dict[str, dict[str, str]]:
    """Every seeded demo account by username (password, role, school, class)."""
    with (data_dir / "demo-accounts.csv").open(encoding="utf-8") as f:
        return {row["username"]: row for row in csv.DictReader(f)}


def demo_students(data_dir: Path) -> list[tuple[str, str, str]]:
    """(username, password, class) of the seeded demo students."""
    with (data_dir / "demo-accounts.csv").open(encoding="utf-8") as f:
        return [
            (row["username"], row["password"], row["class"])
            for row in csv.DictReader(f)
            if row["role"] == "student"
        ]


@dataclass
class DockerHub:
    url: str
    data_dir: Path
    run_id: str
    process: subprocess.Popen
    network: StudentNetwork
    port: int
    """The proxy's public port, on the network's gateway."""
    hub_port: int
    proxy_api_port: int

    def start_again(self) -> None:
        """``aiclass up`` once more on the same data dir, after a stop (``SIGTERM`` first
        if it still runs), appending to the same log; :func:`running_docker_hub` stops
        whichever process runs at the end."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)
        self.process = _aiclass_up(self.data_dir, "a")
        wait_for(f"{self.url}hub/api/", timeout=300)


def _aiclass_up(data_dir: Path, mode: str) -> subprocess.Popen:
    with (data_dir / "hub.log").open(mode) as log:
        return subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "up", "--data", str(data_dir)],
            cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(REPO)})


@contextmanager
def running_docker_hub(
    data_dir: Path, run_id: str, network: StudentNetwork, docker_settings: str = "",
    more_settings: str = "", tls: tuple[Path, Path] | None = None, students: int = 4,
    hub_settings: str = "",
) -> Iterator[DockerHub]:
    """``aiclass up --mode docker`` listening on ``network``'s gateway, removed with its
    containers and volumes after: the one way the tests make a docker-mode hub.

    ``hub_settings`` go into ``[hub]``, ``docker_settings`` into ``[docker]``,
    ``more_settings`` (whole sections) after it; ``tls`` (certificate, key) serves HTTPS.
    """
    port, hub_port, proxy_api_port = free_port(), free_port(), free_port()
    tls_section = (f'[tls]\ncertificate = "{tls[0]}"\nkey = "{tls[1]}"\n' if tls else "")
    (data_dir / "aiclass.toml").write_text(
        f"""
[hub]
mode = "docker"
ip = "{network.gateway}"
port = {port}
hub_port = {hub_port}
proxy_api_port = {proxy_api_port}
{hub_settings}
{tls_section}
[demo]
students = {students}

[docker]
home_volume = "aiclass-test-{run_id}-{{username}}"
cull_idle_minutes = 0
container_prefix = "aiclass-test-{run_id}"
network = "{network.name}"
{docker_settings}
{more_settings}
""",
        encoding="utf-8",
    )
    scheme = "https" if tls else "http"
    hub = DockerHub(f"{scheme}://{network.gateway}:{port}/", data_dir, run_id,
                    _aiclass_up(data_dir, "w"), network, port, hub_port, proxy_api_port)
    try:
        wait_for(f"{hub.url}hub/api/", timeout=300)  # seeding and services take long on a busy CI
        yield hub
    finally:
        hub.process.terminate()
        try:
            hub.process.wait(120)  # students' containers outlive the hub: removed below
        except subprocess.TimeoutExpired:
            hub.process.kill()
            hub.process.wait()
        volumes = docker("volume", "ls", "-q", "--filter", f"name=aiclass-test-{run_id}-")
        for volume in volumes.split():
            for container in docker("ps", "-aq", "--filter", f"volume={volume}").split():
                docker("rm", "-f", container, check=False)
            docker("volume", "rm", "-f", volume, check=False)
