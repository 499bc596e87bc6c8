"""Docker mode as a center runs it: both databases in the compose PostgreSQL image, a boot
gate of one, GPUs offered, and a hub restarted mid-lesson on the same data dir.

One hub for the module (a PostgreSQL container, a students' network, three students'
containers), since each costs minutes on a busy CI machine. The questions:

- Do containers boot one at a time with ``[docker] concurrent_boots = 1``? Read from Docker's
  own record: a container is created only after the previous one's server had loaded.
- Does the exchange run on PostgreSQL's code paths (the fetch upsert, the group commit without
  SQLite's lock), with the rows in PostgreSQL and no SQLite file anywhere?
- After SIGTERM and ``aiclass up`` again: nothing seeded twice, passwords as the people chose
  them, the hub's groups and roles as before, the same containers (same process) still
  serving through the proxy, and the GPU pool rebuilt from the running containers' labels.

The GPU is faked at the device only: ``[gpu] devices`` names a UUID, and a container labelled
as :class:`~hub.spawners.gpu.GpuPool` labels its slots holds it (no device is requested).
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import requests
from docker_classroom import (
    DockerHub,
    Student,
    demo_accounts,
    demo_students,
    docker,
    ensure_image,
    running_docker_hub,
    sign_in,
)
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from test_docker_exchange import ASSIGNMENT, LIBRARY, SERVICE, panel

from hub.spawners.docker import OWNER_LABEL
from hub.spawners.gpu import GpuAssignment, GpuDevice
from hub.spawners.student_network import temporary_student_network
from tests.postgres import running_postgres

pytestmark = pytest.mark.docker

GPU_CLASS = "demo-s2-g8c1"
LOADED = "extension was successfully loaded"


@dataclass
class Center:
    hub: DockerHub
    database_url: str
    gpu_device: str
    image: str

    def container(self, username: str) -> dict:
        """``docker inspect`` of the person's container of this hub (never another run's)."""
        ids = docker("ps", "-aq", "--filter", f"label={OWNER_LABEL}={username}",
                     "--filter", f"name=aiclass-test-{self.hub.run_id}-").split()
        assert len(ids) == 1, f"expected one container for {username}, found {ids}"
        return json.loads(docker("inspect", ids[0]))[0]

    def api(self, path: str) -> requests.Response:
        """The hub's REST API with the org mirror's token, through the proxy."""
        token = (self.hub.data_dir / "org-mirror.token").read_text().strip()
        return requests.get(f"{self.hub.url}hub/api/{path}", timeout=60,
                            headers={"Authorization": f"token {token}"})


@pytest.fixture(scope="module")
def center(student_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Center]:
    data_dir = tmp_path_factory.mktemp("center")
    run_id = f"c{uuid.uuid4().hex[:7]}"
    device = f"GPU-{uuid.uuid4()}"
    password_file = data_dir / "db-password"
    ensure_image("postgres")  # the compose file's database image
    with running_postgres("aiclass-center", databases=("jupyterhub",)) as url, \
            temporary_student_network(f"aiclass-test-{run_id}") as network:
        server = make_url(url)
        password_file.write_text(f"{server.password}\n", encoding="utf-8")
        bare = server.set(password=None)
        databases = f"""
[database]
url = "{bare.render_as_string()}"
hub_url = "{bare.set(database="jupyterhub").render_as_string()}"
password_file = "{password_file}"

[gpu]
enabled = true
groups = ["class-{GPU_CLASS}"]
devices = ["{device}"]
max_students_per_device = 1
"""
        with running_docker_hub(data_dir, run_id, network, "concurrent_boots = 1",
                                databases) as hub:
            try:
                yield Center(hub, url, device, student_image)
            finally:
                docker("rm", "-f", f"aiclass-test-{run_id}-gpu-held", check=False)


@pytest.fixture(scope="module")
def booted(center: Center) -> dict[str, tuple[Student, str]]:
    """Three students (none of the GPU class) start their servers at the same moment:
    username → (their signed-in session, their initial password)."""
    chosen = [s for s in demo_students(center.hub.data_dir) if s[2] != GPU_CLASS][:3]
    assert len(chosen) == 3
    students = [sign_in(center.hub.url, name, password) for name, password, _class in chosen]
    with ThreadPoolExecutor(len(students)) as starting:  # three POSTs in flight together
        list(starting.map(lambda student: student.start(timeout=600), students))
    return {student.name: (student, password)
            for student, (_name, password, _class) in zip(students, chosen, strict=True)}


def docker_time(stamp: str) -> datetime:
    """Docker's RFC 3339 time with nanoseconds, to the microsecond."""
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{whole}.{(fraction + '000000')[:6]}+00:00")


def last_loaded(container: str) -> datetime:
    """When the server in ``container`` logged its last extension loaded, by Docker's clock.

    Extensions load before the server binds its port, so this is a lower bound of the moment
    it answered: the moment the boot gate lets the next container be created.
    """
    logs = subprocess.run(["docker", "logs", "--timestamps", container], capture_output=True,
                          text=True, check=True)
    stamps = [line.split(" ", 1)[0] for line in (logs.stdout + logs.stderr).splitlines()
              if LOADED in line]
    assert stamps, f"container {container[:12]} never logged {LOADED!r}"
    return max(docker_time(stamp) for stamp in stamps)


def test_one_boot_at_a_time_with_a_gate_of_one(center: Center,
                                               booted: dict[str, tuple[Student, str]]) -> None:
    """Without the gate the three creates land within a second, before any server loaded."""
    boots = sorted((docker_time(info["Created"]), last_loaded(info["Id"]), name)
                   for name in booted for info in [center.container(name)])
    for (_created, loaded, name), (created_next, _loaded, next_name) in zip(
            boots, boots[1:], strict=False):
        assert created_next > loaded, (
            f"{next_name}'s container was created at {created_next:%H:%M:%S.%f}, before "
            f"{name}'s server had loaded ({loaded:%H:%M:%S.%f}): two boots overlapped")


@dataclass
class Exchanged:
    klass: str
    student: str


@pytest.fixture(scope="module")
def exchanged(center: Center, booted: dict[str, tuple[Student, str]]) -> Exchanged:
    """A teacher releases, a student fetches through the lab and submits with nbgrader."""
    accounts = demo_accounts(center.hub.data_dir)
    student, _password = next(iter(booted.values()))
    klass = accounts[student.name]["class"]
    teacher = next(row for row in accounts.values()
                   if row["role"] == "teacher" and klass in row["class"].split(";"))
    lead = sign_in(center.hub.url, teacher["username"], teacher["password"])
    token = lead.api("POST", f"/users/{lead.name}/tokens", json={"note": "center test"})
    assert token.status_code == 201, token.text
    released = requests.post(
        f"{center.hub.url}{SERVICE}/assignments/{ASSIGNMENT}/releases",
        params={"class": klass, "library": LIBRARY,
                "due": (datetime.now(UTC) + timedelta(days=1)).isoformat()},
        headers={"Authorization": f"token {token.json()['token']}"}, timeout=120)
    assert released.status_code == 201, released.text
    assert student.lab().status_code == 200  # the server's own cookies, as a browser has
    assert [a["status"] for a in panel(student, klass)] == ["released"]
    assert [a["status"] for a in panel(student, klass, "fetch")] == ["fetched"]
    submitted = docker("exec", "-w", "/home/jovyan", center.container(student.name)["Id"],
                       "sh", "-c", f"nbgrader submit {ASSIGNMENT} --course {klass} 2>&1")
    assert "error" not in submitted.lower(), submitted
    return Exchanged(klass, student.name)


def test_the_exchange_runs_on_postgresql(center: Center, exchanged: Exchanged) -> None:
    """The fetch went through PostgreSQL's upsert and the submission through the group
    commit that takes no lock there; both rows are in PostgreSQL, no SQLite file exists."""
    engine = create_engine(center.database_url)
    try:
        assert engine.dialect.name == "postgresql"
        where = {"klass": exchanged.klass, "assignment": ASSIGNMENT,
                 "student": exchanged.student}
        with engine.connect() as connection:
            fetches = connection.execute(text(
                "SELECT version FROM exchange_fetches WHERE class_id = :klass AND "
                "assignment_id = :assignment AND username = :student"), where).all()
            submissions = connection.execute(text(
                "SELECT release_version, total_bytes FROM exchange_submissions WHERE "
                "class_id = :klass AND assignment_id = :assignment AND username = :student"),
                where).all()
    finally:
        engine.dispose()
    assert [version for (version,) in fetches] == [1]
    assert len(submissions) == 1 and submissions[0].release_version == 1
    assert submissions[0].total_bytes > 0
    assert not list(center.hub.data_dir.glob("*.sqlite*")), "a SQLite database was used"


@dataclass
class Snapshot:
    """What a restart must leave as it was."""

    groups: dict[str, list[str]]
    roles: dict[str, dict]
    containers: dict[str, tuple[str, int, str]]
    password_hashes: dict[str, str]
    accounts_file: bytes


def snapshot(center: Center, usernames: list[str]) -> Snapshot:
    groups = center.api("groups?limit=200")
    roles = center.api("aiclass/roles")
    assert groups.status_code == 200 and roles.status_code == 200, (groups.text, roles.text)
    containers = {}
    for name in usernames:
        info = center.container(name)
        containers[name] = (info["Id"], info["State"]["Pid"], info["State"]["StartedAt"])
    engine = create_engine(center.database_url)
    try:
        with engine.connect() as connection:
            hashes = dict(connection.execute(text(
                "SELECT username, password_hash FROM credentials")).all())
    finally:
        engine.dispose()
    return Snapshot({g["name"]: sorted(g["users"]) for g in groups.json()},
                    {r["name"]: r for r in roles.json()}, containers, hashes,
                    (center.hub.data_dir / "demo-accounts.csv").read_bytes())


@dataclass
class Restart:
    before: Snapshot
    after: Snapshot
    gpu_student: Student


@pytest.fixture(scope="module")
def restarted(center: Center, booted: dict[str, tuple[Student, str]],
              exchanged: Exchanged) -> Restart:
    """SIGTERM mid-lesson, with a GPU slot held by a running container; ``aiclass up`` again."""
    hub = center.hub
    gpu_name, gpu_password, _class = next(
        s for s in demo_students(hub.data_dir) if s[2] == GPU_CLASS)
    gpu_student = sign_in(hub.url, gpu_name, gpu_password)
    slot = GpuAssignment(gpu_name, GpuDevice(center.gpu_device, center.gpu_device), 1.0)
    docker("run", "-d", "--name", f"aiclass-test-{hub.run_id}-gpu-held", "--network", "none",
           *[arg for key, value in slot.labels().items() for arg in ("--label", f"{key}={value}")],
           "--entrypoint", "sleep", center.image, "infinity")
    before = snapshot(center, list(booted))

    hub.start_again()
    for student, _password in booted.values():
        student.wait(lambda server: server and server.get("ready"), 120)
    return Restart(before, snapshot(center, list(booted)), gpu_student)


def test_a_restart_seeds_nothing_again(center: Center, booted: dict[str, tuple[Student, str]],
                                       restarted: Restart) -> None:
    assert restarted.after.accounts_file == restarted.before.accounts_file
    assert restarted.after.password_hashes == restarted.before.password_hashes
    log = (center.hub.data_dir / "hub.log").read_text(encoding="utf-8", errors="replace")
    assert log.count("AI 课堂 / aiclass:") == 2, "the hub did not start twice"
    assert log.count("demo accounts:") == 1, "the demo region was seeded again"
    assert "region admin:" not in log, "a first admin was made in a region with people"

    name, (_student, initial) = next(iter(booted.items()))
    again = sign_in(center.hub.url, name, f"{initial}-new")  # the password they chose
    assert again.api("GET", f"/users/{name}").status_code == 200
    refused = requests.Session()
    refused.get(f"{center.hub.url}hub/login", timeout=30)
    answer = refused.post(f"{center.hub.url}hub/login", allow_redirects=False, timeout=30,
                          data={"username": name, "password": initial,
                                "_xsrf": refused.cookies.get("_xsrf", "")})
    assert answer.status_code != 302, "the initial password signs in again after a restart"


def test_groups_and_roles_are_as_before(booted: dict[str, tuple[Student, str]],
                                        restarted: Restart) -> None:
    before, after = restarted.before, restarted.after
    classes = {name for name in before.groups if name.startswith("class-")}
    assert classes, before.groups
    assert any(set(booted) & set(before.groups[name]) for name in classes)
    assert after.groups == before.groups
    assert any(name.startswith("aiclass-") for name in before.roles), before.roles
    assert after.roles == before.roles


def test_running_servers_are_adopted(center: Center, booted: dict[str, tuple[Student, str]],
                                     restarted: Restart) -> None:
    assert restarted.after.containers == restarted.before.containers, (
        "a container was replaced or restarted")
    for student, _password in booted.values():
        lab = student.lab()
        assert lab.status_code == 200 and f"/user/{student.name}/lab" in lab.url
    log = (center.hub.data_dir / "hub.log").read_text(encoding="utf-8", errors="replace")
    for name in booted:
        assert f"{name} still running" in log


def gpu_slots_in_use(center: Center) -> dict[str, float]:
    """``aiclass_gpu_slots_in_use`` by device, from ``/hub/metrics`` with Prometheus's token."""
    token = (center.hub.data_dir / "metrics.token").read_text().strip()
    page = requests.get(f"{center.hub.url}hub/metrics", timeout=60,
                        headers={"Authorization": f"token {token}"})
    assert page.status_code == 200, page.status_code
    return {device: float(value) for device, value in re.findall(
        r'^aiclass_gpu_slots_in_use\{device="([^"]+)"\} (\S+)$', page.text, re.MULTILINE)}


def test_the_gpu_pool_is_rebuilt_from_running_containers(center: Center,
                                                         restarted: Restart) -> None:
    """The one slot is held by a running container: the restarted hub must not offer it."""
    assert gpu_slots_in_use(center).get(center.gpu_device) == 1.0
    student = restarted.gpu_student
    form = student.session.get(f"{center.hub.url}hub/spawn/{student.name}", timeout=60)
    assert form.status_code == 200
    page = form.content.decode("utf-8")  # the page says so in a <meta>, not in its header
    offered = page[page.find("<form"):page.find("</form>")]
    assert 'value="gpu" disabled' in offered and "暂无空闲 GPU" in offered, (
        offered, restarted.after.groups.get(f"class-{GPU_CLASS}"))
