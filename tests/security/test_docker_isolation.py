"""Docker mode: a student's container reaches the hub and the classroom service, nothing else.

A real hub in docker mode on a students' network of its own (an internal Docker network whose
gateway is the hub's address), real student containers, and the attacks a student makes from
a notebook: code run in their own kernel tries the hub's internal API port, the proxy's API, a
PostgreSQL stand-in listening on the host (on loopback and on the host's side of the network),
the cloud metadata address 169.254.169.254, and takes the hub's public port and a port of its
own; the student's own token asks the REST API for another image or the GPU profile. Each test
fails if the attack works. Nothing leaves this machine: the network is the test's, and the
fence refuses what would be routed off it.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import tomllib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import requests

from hub.spawners.student_network import temporary_student_network
from tests.docker.docker_classroom import (
    DockerHub,
    demo_students,
    docker,
    docker_available,
    ensure_image,
    free_port,
    running_docker_hub,
    sign_in,
)
from tests.security.lab_kernel import run_code

pytestmark = pytest.mark.docker

GPU_IMAGE = "aiclass/student-gpu:0.1.0"
METADATA = ("169.254.169.254", 80)


@dataclass
class DatabaseStandIn:
    """Listeners on one port of the host's loopback and gateway, counting who connects."""

    port: int
    sockets: list[socket.socket] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)

    def listen(self, host: str) -> None:
        listener = socket.create_server((host, self.port))
        self.sockets.append(listener)
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                connection, peer = listener.accept()
            except OSError:
                return
            self.accepted.append(peer[0])
            connection.close()

    def close(self) -> None:
        for listener in self.sockets:
            listener.close()


@dataclass
class StudentBox:
    hub: DockerHub
    name: str
    token: str
    hub_port: int
    proxy_api_port: int

    @property
    def api(self) -> str:
        return f"{self.hub.url}hub/api"

    def request(self, method: str, path: str, **kwargs: object) -> requests.Response:
        """The REST API with the student's own token, as a script of theirs would call it."""
        return requests.request(method, f"{self.api}{path}", timeout=60,
                                headers={"Authorization": f"token {self.token}"},
                                **kwargs)  # type: ignore[arg-type]

    def server(self) -> dict | None:
        return self.request("GET", f"/users/{self.name}").json().get("servers", {}).get("")

    def containers(self) -> list[str]:
        """This hub's containers of the student (other hubs' demo students share names)."""
        return docker("ps", "-aq", "--filter", f"label=org.aiclass.owner={self.name}",
                      "--filter", f"name=aiclass-test-{self.hub.run_id}").split()

    def run(self, code: str) -> str:
        return run_code(self.hub.url.rstrip("/"), self.name, self.token, code)


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StudentBox]:
    """A docker-mode hub offering a GPU profile to a group no student is in."""
    if not docker_available():
        pytest.skip("Docker engine not running: `make dockerd` starts one")
    ensure_image("student")
    run_id = uuid.uuid4().hex[:8]
    data_dir = tmp_path_factory.mktemp("isolation-hub")
    gpu = ('[gpu]\nenabled = true\ngroups = ["class-of-nobody"]\n'
           'devices = ["GPU-00000000-0000-0000-0000-000000000001"]\n')
    with temporary_student_network(f"aiclass-test-{run_id}") as network, running_docker_hub(
        data_dir, run_id, network, 'cpu_mem_limit = "1G"\n', gpu
    ) as hub:
        settings = tomllib.loads((data_dir / "aiclass.toml").read_text(encoding="utf-8"))
        name, password, _ = demo_students(data_dir)[0]
        student = sign_in(hub.url, name, password)
        token = student.api("POST", f"/users/{name}/tokens", json={"note": "my script"})
        assert token.status_code == 201, token.text
        yield StudentBox(hub, name, token.json()["token"], settings["hub"]["hub_port"],
                         settings["hub"]["proxy_api_port"])


@pytest.fixture(scope="module")
def running(box: StudentBox) -> StudentBox:
    started = box.request("POST", f"/users/{box.name}/server", json={})
    assert started.status_code in (201, 202), started.text
    deadline = time.monotonic() + 180
    while not (box.server() or {}).get("ready"):
        assert time.monotonic() < deadline, "the student's server did not start"
        time.sleep(0.5)
    return box


@pytest.mark.parametrize("options", [
    {"image": GPU_IMAGE},
    {"profile": "cpu", "image": "aiclass/hub:0.1.0"},
    {"profile": "gpu"},
    {"profile": "gpu", "image": GPU_IMAGE},
])
def test_user_options_cannot_pick_an_image_or_a_gpu_the_class_is_not_given(
    box: StudentBox, options: dict
) -> None:
    if box.server():
        box.request("DELETE", f"/users/{box.name}/server")
    refused = box.request("POST", f"/users/{box.name}/server", json=options)
    assert refused.status_code in (400, 403), f"{options}: {refused.status_code} {refused.text}"
    deadline = time.monotonic() + 30
    while box.server() is not None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert box.server() is None, f"{options} left a server behind"
    assert box.containers() == [], f"{options} started a container"


def test_the_server_runs_the_cpu_image_without_a_gpu(running: StudentBox) -> None:
    (container,) = running.containers()
    info = json.loads(docker("inspect", container))[0]
    assert info["Config"]["Image"].startswith("aiclass/student:")
    assert not info["HostConfig"].get("DeviceRequests")
    assert info["HostConfig"]["NetworkMode"] == running.hub.network.name


PROBES = """
import json, os, socket, time
from urllib.request import Request, urlopen

def probe(host, port):
    began = time.monotonic()
    try:
        socket.create_connection((host, port), timeout=10).close()
        outcome = "connected"
    except OSError as error:
        outcome = type(error).__name__
    return [outcome, time.monotonic() - began]

def get(url):
    token = os.environ["JUPYTERHUB_API_TOKEN"]
    with urlopen(Request(url, headers={"Authorization": "token " + token}), timeout=10) as r:
        return json.load(r)

found = {name: probe(host, port) for name, (host, port) in TARGETS.items()}
found["hub"] = get(os.environ["JUPYTERHUB_API_URL"] + "/")
found["service"] = get(os.environ["AICLASS_EXCHANGE_URL"] + "api/v1/")
found["urls"] = [os.environ["JUPYTERHUB_API_URL"], os.environ["AICLASS_EXCHANGE_URL"]]
print(json.dumps(found))
"""


def test_a_students_kernel_reaches_the_hub_and_the_service_and_nothing_else(
    running: StudentBox,
) -> None:
    gateway = running.hub.network.gateway
    database = DatabaseStandIn(free_port())
    database.listen("127.0.0.1")
    database.listen(gateway)
    targets = {
        "hub api on loopback": ("127.0.0.1", running.hub_port),
        "hub api on gateway": (gateway, running.hub_port),
        "proxy api on loopback": ("127.0.0.1", running.proxy_api_port),
        "proxy api on gateway": (gateway, running.proxy_api_port),
        "database on loopback": ("127.0.0.1", database.port),
        "database on gateway": (gateway, database.port),
        "cloud metadata": METADATA,
    }
    try:
        output = running.run(f"TARGETS = {targets!r}\n{PROBES}")
    finally:
        database.close()
    found = json.loads(output.strip().splitlines()[-1])

    assert "version" in found["hub"], "the hub's API through the proxy must answer"
    assert found["service"]["user"] == running.name, "the classroom service must answer"
    for name in targets:
        outcome, seconds = found[name]
        assert outcome != "connected", f"the student's kernel reached the {name}"
        assert seconds < 3, f"{name}: refused only after {seconds:.1f} s, not at once"
    assert database.accepted == [], "the PostgreSQL stand-in saw a connection"


def test_a_student_cannot_listen_on_the_hubs_address(running: StudentBox) -> None:
    gateway, hub_port = running.hub.network.gateway, int(running.hub.url.rsplit(":", 1)[1][:-1])
    own_port = free_port()
    output = running.run(f"""
import socket
results = {{}}
addresses = {{"public": ({gateway!r}, {hub_port}), "own": ({gateway!r}, {own_port}),
             "any": ("0.0.0.0", {own_port}), "any public": ("0.0.0.0", {hub_port})}}
for name, address in addresses.items():
    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        squatter.bind(address)
        squatter.listen()
        globals().setdefault("squatters", []).append(squatter)
        results[name] = "listening"
    except OSError as error:
        results[name] = type(error).__name__
print(results)
""")
    # the host's addresses are not the container's to bind
    assert "'public': 'OSError'" in output, output
    assert "'own': 'OSError'" in output, output
    # what it binds in its own namespace is not reachable from the host
    for host in (gateway, "127.0.0.1"):
        with pytest.raises(OSError):
            socket.create_connection((host, own_port), timeout=3).close()
    answer = requests.get(f"{running.hub.url}hub/api/", timeout=10)
    assert answer.status_code == 200 and "version" in answer.json(), "the proxy lost its port"
