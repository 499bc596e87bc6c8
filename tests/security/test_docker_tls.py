"""Docker mode behind ``[tls]``: browsers get HTTPS, students' containers stay fenced in.

A real docker-mode hub with a self-signed certificate made by ``openssl`` for this run, on a
students' network of its own. A student signs in over HTTPS and must get only ``Secure``
cookies; their container's server starts and answers through the proxy over HTTPS. From
inside the container (``docker exec`` as its own user, what the student's terminal is) the
hub's API and the classroom service answer on the gateway, and every other port of the host
(the proxy's public and API ports, a database stand-in, loopback) and the metadata address
is refused at once. Plain HTTP to the public port and the hub's API port on the host's other
addresses must not serve a sign-in page. Each test fails if the attack works.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

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
from tests.security.test_docker_isolation import METADATA, PROBES, DatabaseStandIn

pytestmark = pytest.mark.docker


def self_signed_certificate(directory: Path, address: str) -> tuple[Path, Path]:
    """A throwaway certificate for ``address``, as a center would test before its real one."""
    certificate, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=aiclass-test", "-addext", f"subjectAltName=IP:{address}",
         "-keyout", str(key), "-out", str(certificate)],
        check=True, capture_output=True,
    )
    return certificate, key


@pytest.fixture(scope="module")
def tls_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerHub]:
    if not docker_available():
        pytest.skip("Docker engine not running: `make dockerd` starts one")
    ensure_image("student")
    run_id = f"partc-{uuid.uuid4().hex[:8]}"
    data_dir = tmp_path_factory.mktemp("tls-hub")
    with temporary_student_network(f"aiclass-test-{run_id}") as network, \
            pytest.MonkeyPatch.context() as env:
        certificate, key = self_signed_certificate(tmp_path_factory.mktemp("tls"),
                                                   network.gateway)
        # requests (sign_in, wait_for) trusts the test certificate and nothing else new
        env.setenv("REQUESTS_CA_BUNDLE", str(certificate))
        with running_docker_hub(data_dir, run_id, network, 'cpu_mem_limit = "1G"',
                                tls=(certificate, key), students=2) as hub:
            yield hub


@pytest.fixture(scope="module")
def student_container(tls_hub: DockerHub) -> tuple[str, str]:
    """(student, container id) after the student signed in over HTTPS and started a server."""
    name, password, _ = demo_students(tls_hub.data_dir)[0]
    student = sign_in(tls_hub.url, name, password)
    student.start(timeout=180)
    (container,) = docker("ps", "-q", "--filter", f"label=org.aiclass.owner={name}",
                          "--filter", f"name=aiclass-test-{tls_hub.run_id}").split()
    return name, container


def test_a_student_signs_in_over_https_gets_secure_cookies_and_reaches_the_lab(
    tls_hub: DockerHub,
) -> None:
    name, password, _ = demo_students(tls_hub.data_dir)[1]
    student = sign_in(tls_hub.url, name, password)
    cookies = list(student.session.cookies)
    assert {"jupyterhub-session-id", "jupyterhub-hub-login"} <= {c.name for c in cookies}
    insecure = [c.name for c in cookies if not c.secure]
    assert not insecure, f"cookies a plain-HTTP request would carry: {insecure}"

    student.start(timeout=180)
    lab = student.lab()
    assert lab.status_code == 200, lab.text[:500]
    assert lab.url.startswith(tls_hub.url) and "JupyterLab" in lab.text
    # the server's own cookies, set through the proxy, are Secure too
    assert all(c.secure for c in student.session.cookies)


def test_the_public_port_speaks_only_tls_and_the_hub_api_is_not_on_loopback(
    tls_hub: DockerHub,
) -> None:
    plain = f"http://{tls_hub.network.gateway}:{tls_hub.port}/hub/login"
    try:
        answer = requests.get(plain, timeout=10)
    except requests.ConnectionError:
        answer = None
    assert answer is None or "password" not in answer.text, "a sign-in page over plain HTTP"
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{tls_hub.hub_port}/hub/login", timeout=10)


def test_inside_the_container_only_the_hub_api_and_the_service_answer(
    tls_hub: DockerHub, student_container: tuple[str, str],
) -> None:
    name, container = student_container
    gateway = tls_hub.network.gateway
    database = DatabaseStandIn(free_port())
    database.listen("127.0.0.1")
    database.listen(gateway)
    targets = {
        "public port on gateway": (gateway, tls_hub.port),
        "proxy api on gateway": (gateway, tls_hub.proxy_api_port),
        "hub api on its own loopback": ("127.0.0.1", tls_hub.hub_port),
        "database on loopback": ("127.0.0.1", database.port),
        "database on gateway": (gateway, database.port),
        "cloud metadata": METADATA,
    }
    try:
        output = docker("exec", "-u", "1000", container, "python3", "-c",
                        f"TARGETS = {targets!r}\n{PROBES}")
    finally:
        database.close()
    found = json.loads(output.splitlines()[-1])

    hub_url, service_url = found["urls"]
    assert hub_url.startswith(f"http://{gateway}:{tls_hub.hub_port}/"), hub_url
    assert service_url.startswith(f"http://{gateway}:"), service_url
    assert "version" in found["hub"], "the hub's API on the gateway must answer"
    assert found["service"]["user"] == name, "the classroom service must answer"
    for target in targets:
        outcome, seconds = found[target]
        assert outcome != "connected", f"the student's container reached the {target}"
        assert seconds < 3, f"{target}: refused only after {seconds:.1f} s, not at once"
    assert database.accepted == [], "the PostgreSQL stand-in saw a connection"
