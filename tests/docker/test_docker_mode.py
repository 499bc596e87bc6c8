"""The real hub in docker mode spawning real student containers on 127.0.0.1.

Two students of one demo class sign in through the roster login and start their servers; each
reaches only their own lab, cannot read the other's files, keeps a saved file across a stop and
start (the container is removed, the home volume is not), and ``docker inspect`` shows the
limits, dropped capabilities, no-new-privileges and user that the settings ask for.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from docker_classroom import DockerHub, Student, demo_accounts, demo_students, docker, sign_in
from dockerspawner import DockerSpawner

from hub.service.prepare import prepare_class

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def two_students(docker_hub: DockerHub) -> tuple[Student, Student]:
    students = demo_students(docker_hub.data_dir)
    first_class = students[0][2]
    (a_name, a_password, _), (b_name, b_password, _) = [s for s in students if s[2] == first_class][
        :2
    ]
    a = sign_in(docker_hub.url, a_name, a_password)
    b = sign_in(docker_hub.url, b_name, b_password)
    a.start()
    b.start()
    return a, b


def container_of(username: str) -> dict:
    ids = docker("ps", "-q", "--filter", f"label=org.aiclass.owner={username}").split()
    assert len(ids) == 1, f"expected one running container for {username}, found {ids}"
    return json.loads(docker("inspect", ids[0]))[0]


def test_each_student_reaches_only_their_own_lab(two_students: tuple[Student, Student]) -> None:
    a, b = two_students
    own = a.lab()
    assert own.status_code == 200
    assert "JupyterLab" in own.text
    assert b.lab().status_code == 200
    other = a.lab(owner=b.name)
    assert other.status_code == 403
    assert a.api("GET", f"/users/{b.name}").status_code == 404


def test_student_cannot_read_another_students_files(
    two_students: tuple[Student, Student],
) -> None:
    a, b = two_students
    b.lab()
    secret = {"type": "file", "format": "text", "content": "b 的秘密 / b's secret"}
    assert b.contents("PUT", "secret.txt", json=secret).status_code in (200, 201)

    a.lab()
    stolen = a.session.get(f"{a.hub}user/{b.name}/api/contents/secret.txt", timeout=30)
    assert stolen.status_code in (403, 302) or "b's secret" not in stolen.text
    assert "b's secret" not in stolen.text

    a_container, b_container = container_of(a.name), container_of(b.name)
    # homes are named volumes; the shared course data is a read-only bind mount
    a_volumes = {m["Name"] for m in a_container["Mounts"] if m.get("Type") == "volume"}
    b_volumes = {m["Name"] for m in b_container["Mounts"] if m.get("Type") == "volume"}
    assert a_volumes and b_volumes
    assert a_volumes.isdisjoint(b_volumes)
    found = docker(
        "exec", a_container["Id"], "sh", "-c", "grep -rl 'secret' /home /srv /tmp || true"
    )
    assert found == ""
    # B's server has an address on the students' network, but the fence keeps containers
    # from reaching one another: A's container cannot even connect to it
    b_ip = next(iter(b_container["NetworkSettings"]["Networks"].values()))["IPAddress"]
    probe = docker(
        "exec",
        a_container["Id"],
        "python3",
        "-c",
        "import socket\n"
        "try:\n"
        f"    socket.create_connection(('{b_ip}', 8888), timeout=3)\n"
        "    print('connected')\n"
        "except OSError as e:\n    print(type(e).__name__)\n",
    )
    assert probe != "connected", f"A's container reached B's server at {b_ip}:8888"


def test_saved_work_survives_stop_and_start(two_students: tuple[Student, Student]) -> None:
    a, _ = two_students
    a.lab()
    note = {"type": "file", "format": "text", "content": "第一课笔记 / lesson 1 notes"}
    assert a.contents("PUT", "notes.txt", json=note).status_code in (200, 201)
    first_container = container_of(a.name)["Id"]

    a.stop()
    deadline = time.monotonic() + 30  # the engine may list it while it removes it
    while docker("ps", "-aq", "--filter", f"id={first_container}") != "":
        assert time.monotonic() < deadline, "the stopped server's container was not removed"
        time.sleep(0.2)
    a.start()
    assert container_of(a.name)["Id"] != first_container

    a.lab()
    saved = a.contents("GET", "notes.txt")
    assert saved.status_code == 200
    assert saved.json()["content"] == "第一课笔记 / lesson 1 notes"


def test_container_limits_capabilities_and_user_follow_the_settings(
    two_students: tuple[Student, Student], docker_hub: DockerHub
) -> None:
    a, _ = two_students
    info = container_of(a.name)
    host = info["HostConfig"]
    assert host["Memory"] == 1024**3
    assert host["CpuQuota"] == 50_000 and host["CpuPeriod"] == 100_000
    assert host["PidsLimit"] == 256
    assert host["CapDrop"] == ["ALL"]
    assert not host.get("CapAdd")
    assert "no-new-privileges:true" in host["SecurityOpt"]
    assert host["NetworkMode"] == docker_hub.network.name
    assert not host.get("Privileged")
    assert info["Config"]["User"] == "1000:1000"
    assert info["Config"]["Image"] == "aiclass/student:" + info["Config"]["Image"].split(":")[-1]
    home = [m for m in info["Mounts"] if m["Destination"] == "/home/jovyan"]
    assert home and home[0]["Type"] == "volume"
    assert home[0]["Name"] == f"aiclass-test-{docker_hub.run_id}-{DockerSpawner._escape(a.name)}"
    assert docker("exec", info["Id"], "id", "-u") == "1000"
    assert docker("exec", info["Id"], "cat", "/srv/course/readme.txt") == "课程数据 / course data"
    write = subprocess.run(
        ["docker", "exec", info["Id"], "touch", "/srv/course/mine.txt"], capture_output=True
    )
    assert write.returncode != 0, "course data must be read-only"
    status = docker("exec", info["Id"], "grep", "-E", "^(CapEff|NoNewPrivs)", "/proc/1/status")
    assert "CapEff:\t0000000000000000" in status
    assert "NoNewPrivs:\t1" in status


def test_prepare_class_starts_servers_before_students_sign_in(
    two_students: tuple[Student, Student], docker_hub: DockerHub
) -> None:
    a, b = two_students
    a.stop()
    b.stop()
    accounts = demo_accounts(docker_hub.data_dir)
    klass = accounts[a.name]["class"]
    teacher = next(
        row for row in accounts.values() if row["role"] == "teacher" and klass in row["class"]
    )
    lead = sign_in(docker_hub.url, teacher["username"], teacher["password"])
    token = lead.api("POST", f"/users/{lead.name}/tokens", json={"note": "prepare class"})
    assert token.status_code == 201, token.text

    states = prepare_class(f"{docker_hub.url}hub/api", token.json()["token"], [a.name, b.name])
    assert states == {a.name: "ready", b.name: "ready"}
    # already running: a second call changes nothing and still reports ready
    assert prepare_class(f"{docker_hub.url}hub/api", token.json()["token"], [a.name]) == {
        a.name: "ready"
    }
    # Prepared means running: the lab opens without passing the hub's spawn or pending pages
    # (which also answer 200), instead of a time bound a busy machine could break.
    lab = a.lab()
    assert lab.status_code == 200 and lab.url.endswith(f"/user/{a.name}/lab"), lab.url
    passed = [step.headers.get("Location", "") for step in lab.history]
    assert not [url for url in passed if "/hub/spawn" in url], passed

    other = demo_accounts(docker_hub.data_dir)
    outsider = next(
        row["username"]
        for row in other.values()
        if row["role"] == "student" and row["class"] not in teacher["class"].split(";")
    )
    refused = prepare_class(f"{docker_hub.url}hub/api", token.json()["token"], [outsider])
    assert refused[outsider].startswith("error 40"), "a teacher may only prepare their classes"
