"""``docker-compose.yml`` as a center runs it: the README's docker-mode walkthrough, with TLS.

``docker-compose.yml`` + ``docker-compose.tls.yml`` with a self-signed certificate made by
``openssl`` as the README does, the test override's ports, and a students' network of the
test's own whose gateway is the public address (nothing leaves this machine). The project
name, the password file and the volumes are unique to the run and removed afterwards. No
``AICLASS_DEMO``: the deployment must start as production does, with no demo region, both
databases in PostgreSQL, the password only in its file, the first region admin's initial
password printed once to the hub's log, and a student's lab over HTTPS.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from docker_classroom import REPO, docker, ensure_image, free_port, sign_in, wait_for

from hub.spawners.student_network import temporary_student_network

pytestmark = pytest.mark.docker

INITIAL_PASSWORD = re.compile(r"region admin: (\S+)\s+初始密码 / initial password: (\S+)")


def compose_command() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return ["docker", "compose"]


def shell(script: str, cwd: Path) -> None:
    """A README step, run as written there (``sh -e``)."""
    subprocess.run(["sh", "-ec", script], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def compose_hub(engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    ensure_image("postgres")
    ensure_image("hub")
    ensure_image("student")
    run = uuid.uuid4().hex[:6]
    project = f"aiclasspartc{run}"
    center = tmp_path_factory.mktemp("center")
    with temporary_student_network(f"aiclass-partc-{run}") as network, \
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
            yield {"url": url, "project": project, "env": env, "base": base,
                   "password": password, "run": run}
        finally:
            (center / "compose.log").write_text(subprocess.run(
                [*base, "logs", "--no-color"], env=env, capture_output=True, text=True).stdout)
            for container_id in docker("ps", "-aq", "--filter",
                                       f"label=org.aiclass.owner=stu-{run}").split():
                docker("rm", "-f", container_id, check=False)
            subprocess.run([*base, "down", "-v"], env=env, cwd=REPO)
            for volume in docker("volume", "ls", "-q", "--filter", f"name=stu-{run}").split():
                docker("volume", "rm", "-f", volume, check=False)


def container(compose: dict, service: str) -> str:
    found = docker("ps", "-q", "--filter", f"name={compose['project']}_{service}_")
    assert found, f"the {service} service is not running"
    return found


def psql(compose: dict, database: str, query: str) -> str:
    return docker("exec", container(compose, "postgres"), "psql", "-h", "/var/run/postgresql",
                  "-p", compose["env"]["AICLASS_TEST_DB_PORT"], "-U", "aiclass", "-d", database,
                  "-Atc", query)


def hub_log(compose: dict) -> str:
    return subprocess.run([*compose["base"], "logs", "--no-color", "hub"], env=compose["env"],
                          capture_output=True, text=True, cwd=REPO).stdout


def log_in(url: str, username: str, password: str, new_password: str = "") -> requests.Response:
    session = requests.Session()
    session.get(f"{url}hub/login", timeout=30)
    form = {"username": username, "password": password,
            "_xsrf": session.cookies.get("_xsrf", "")}
    if new_password:
        form |= {"new_password": new_password, "new_password_confirm": new_password}
    return session.post(f"{url}hub/login", data=form, timeout=30, allow_redirects=False)


def test_both_services_report_healthy_and_the_hub_waited_for_the_database(
    compose_hub: dict,
) -> None:
    deadline = time.monotonic() + 240
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        states = {service: docker("inspect", "-f", "{{.State.Health.Status}}",
                                  container(compose_hub, service))
                  for service in ("postgres", "hub")}
        if set(states.values()) == {"healthy"}:
            break
        time.sleep(2)
    assert states == {"postgres": "healthy", "hub": "healthy"}
    hub = json.loads(docker("inspect", container(compose_hub, "hub")))[0]
    postgres = json.loads(docker("inspect", container(compose_hub, "postgres")))[0]
    # the hub was created only once PostgreSQL had answered pg_isready (depends_on healthy)
    assert hub["State"]["StartedAt"] > postgres["State"]["StartedAt"]
    assert hub["Config"]["Healthcheck"]["Test"][-1].count("/hub/health") == 1
    assert "pg_isready" in postgres["Config"]["Healthcheck"]["Test"][-1]
    assert hub["HostConfig"]["LogConfig"]["Config"]["max-size"]


def test_jupyterhubs_tables_live_in_postgresql_not_sqlite(compose_hub: dict) -> None:
    hub_tables = psql(compose_hub, "jupyterhub", "select table_name from "
                      "information_schema.tables where table_schema = 'public'").split()
    assert {"users", "servers", "api_tokens", "alembic_version"} <= set(hub_tables)
    service_tables = psql(compose_hub, "aiclass", "select table_name from "
                          "information_schema.tables where table_schema = 'public'").split()
    assert "people" in service_tables and "users" not in service_tables
    files = docker("exec", container(compose_hub, "hub"), "ls", "-A", "/srv/aiclass").split()
    assert not [name for name in files if name.endswith(".sqlite")], files


def test_the_database_password_is_only_in_its_file(compose_hub: dict) -> None:
    hub = container(compose_hub, "hub")
    settings = docker("exec", hub, "cat", "/srv/aiclass/aiclass.toml")
    assert compose_hub["password"] not in settings
    assert 'password_file = "/run/secrets/aiclass-db-password"' in settings
    assert compose_hub["password"] not in docker("inspect", hub)
    assert compose_hub["password"] not in docker("inspect", container(compose_hub, "postgres"))
    refused = docker("exec", "-e", "PGPASSWORD=aiclass", container(compose_hub, "postgres"),
                     "psql", "-h", "127.0.0.1", "-p", compose_hub["env"]["AICLASS_TEST_DB_PORT"],
                     "-U", "aiclass", "-d", "aiclass", "-c", "select 1", check=False)
    assert refused == "", "PostgreSQL let a guessed password in"


def test_production_starts_without_the_demo_region(compose_hub: dict) -> None:
    assert psql(compose_hub, "aiclass", "select count(*) from regions") == "0"
    assert psql(compose_hub, "aiclass", "select username, role from people") == \
        "admin|region_admin"
    files = docker("exec", container(compose_hub, "hub"), "ls", "-A", "/srv/aiclass").split()
    assert "demo-accounts.csv" not in files


def test_the_first_admins_password_is_printed_once_and_must_be_changed(
    compose_hub: dict,
) -> None:
    url = compose_hub["url"]
    subprocess.run([*compose_hub["base"], "restart", "hub"], env=compose_hub["env"],
                   check=True, cwd=REPO)
    wait_for(f"{url}hub/api/", timeout=180)
    printed = INITIAL_PASSWORD.findall(hub_log(compose_hub))
    assert len(printed) == 1, f"the initial password was printed {len(printed)} times"
    ((username, password),) = printed

    asked = log_in(url, username, password)
    assert asked.status_code == 403 and "new_password" in asked.text, \
        "the initial password signed in without being changed"
    assert "jupyterhub-session-id" not in asked.cookies
    new_password = f"{password}-changed"
    changed = log_in(url, username, password, new_password)
    assert changed.status_code == 302, changed.text
    assert log_in(url, username, password, f"{password}-again").status_code != 302
    assert log_in(url, username, new_password).status_code == 302


def test_a_student_imported_on_the_console_reaches_their_lab_over_https(
    compose_hub: dict,
) -> None:
    hub, student = container(compose_hub, "hub"), f"stu-{compose_hub['run']}"
    roster = ("学校代码,学校名称,城乡,学段,班级代码,班级名称,学年,年级,用户名,姓名,角色\n"
              f"c-{compose_hub['run']},中心测试中学,城市,高中,c-{compose_hub['run']}-g10c1,"
              f"高一（1）班,2026-2027,10,{student},王同学,学生\n")
    subprocess.run(["docker", "exec", "-i", hub, "sh", "-c", "cat > /tmp/roster.csv"],
                   input=roster, text=True, check=True)
    imported = docker("exec", hub, "aiclass", "roster", "import", "--data", "/srv/aiclass",
                      "/tmp/roster.csv")
    assert "已同步 / mirrored" in imported, imported
    reset = docker("exec", hub, "aiclass", "roster", "reset-password", "--data",
                   "/srv/aiclass", student)
    password = reset.rsplit(":", 1)[1].strip()

    person = sign_in(compose_hub["url"], student, password)
    session_cookie = next(c for c in person.session.cookies if c.name == "jupyterhub-session-id")
    assert session_cookie.secure, "the session cookie would travel over plain HTTP"
    person.start(timeout=240)
    lab = person.lab()
    assert lab.status_code == 200 and "JupyterLab" in lab.text, lab.text[:500]
    assert lab.url.startswith(compose_hub["url"])
    assert all(c.secure for c in person.session.cookies)
