"""``docker-compose.yml`` as a center runs it: the README's docker-mode walkthrough, with TLS.

The deployment (``compose_project.py``: the README's password file and self-signed certificate,
the test override's ports, a students' network of the run's own) starts as production does,
with no demo region, both databases in PostgreSQL, the password only in its file, the first
region admin's initial password printed once to the hub's log, and a student's lab over HTTPS.
These tests see it fresh: they run first on the project the compose tests share.
"""

from __future__ import annotations

import json
import re
import subprocess
import time

import pytest
import requests
from compose_project import RUN, Compose
from docker_classroom import REPO, docker, sign_in, wait_for

from tests.hub.hubprocess import LoginResult, post_login

pytestmark = pytest.mark.docker

INITIAL_PASSWORD = re.compile(r"region admin: (\S+)\s+初始密码 / initial password: (\S+)")


def psql(compose: Compose, database: str, query: str) -> str:
    return docker("exec", compose.container("postgres"), "psql", "-h", "/var/run/postgresql",
                  "-p", compose.env["AICLASS_TEST_DB_PORT"], "-U", "aiclass", "-d", database,
                  "-Atc", query)


def log_in(url: str, username: str, password: str,
           new_password: str | None = None) -> tuple[LoginResult, requests.Session]:
    """One sign-in on the login form at ``url``, in a session of its own."""
    session = requests.Session()
    return post_login(session, url.rstrip("/"), username, password, new_password), session


def test_both_services_report_healthy_and_the_hub_waited_for_the_database(
    compose: Compose,
) -> None:
    deadline = time.monotonic() + 240
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        states = {service: docker("inspect", "-f", "{{.State.Health.Status}}",
                                  compose.container(service))
                  for service in ("postgres", "hub")}
        if set(states.values()) == {"healthy"}:
            break
        time.sleep(2)
    assert states == {"postgres": "healthy", "hub": "healthy"}
    hub = json.loads(docker("inspect", compose.container("hub")))[0]
    postgres = json.loads(docker("inspect", compose.container("postgres")))[0]
    # the hub was created only once PostgreSQL had answered pg_isready (depends_on healthy)
    assert hub["State"]["StartedAt"] > postgres["State"]["StartedAt"]
    assert hub["Config"]["Healthcheck"]["Test"][-1].count("/hub/health") == 1
    assert "pg_isready" in postgres["Config"]["Healthcheck"]["Test"][-1]
    assert hub["HostConfig"]["LogConfig"]["Config"]["max-size"]


def test_jupyterhubs_tables_live_in_postgresql_not_sqlite(compose: Compose) -> None:
    hub_tables = psql(compose, "jupyterhub", "select table_name from "
                      "information_schema.tables where table_schema = 'public'").split()
    assert {"users", "servers", "api_tokens", "alembic_version"} <= set(hub_tables)
    service_tables = psql(compose, "aiclass", "select table_name from "
                          "information_schema.tables where table_schema = 'public'").split()
    assert "people" in service_tables and "users" not in service_tables
    files = docker("exec", compose.container("hub"), "ls", "-A", "/srv/aiclass").split()
    assert not [name for name in files if name.endswith(".sqlite")], files


def test_the_database_password_is_only_in_its_file(compose: Compose) -> None:
    hub = compose.container("hub")
    settings = docker("exec", hub, "cat", "/srv/aiclass/aiclass.toml")
    assert compose.password not in settings
    assert 'password_file = "/run/secrets/aiclass-db-password"' in settings
    assert compose.password not in docker("inspect", hub)
    assert compose.password not in docker("inspect", compose.container("postgres"))
    refused = docker("exec", "-e", "PGPASSWORD=aiclass", compose.container("postgres"),
                     "psql", "-h", "127.0.0.1", "-p", compose.env["AICLASS_TEST_DB_PORT"],
                     "-U", "aiclass", "-d", "aiclass", "-c", "select 1", check=False)
    assert refused == "", "PostgreSQL let a guessed password in"


def test_production_starts_without_the_demo_region(compose: Compose) -> None:
    assert psql(compose, "aiclass", "select count(*) from regions") == "0"
    assert psql(compose, "aiclass", "select username, role from people") == \
        "admin|region_admin"
    files = docker("exec", compose.container("hub"), "ls", "-A", "/srv/aiclass").split()
    assert "demo-accounts.csv" not in files


def test_the_first_admins_password_is_printed_once_and_must_be_changed(
    compose: Compose,
) -> None:
    url = compose.url
    subprocess.run([*compose.base, "restart", "hub"], env=compose.env, check=True, cwd=REPO)
    wait_for(f"{url}hub/api/", timeout=180)
    printed = INITIAL_PASSWORD.findall(compose.hub_log())
    assert len(printed) == 1, f"the initial password was printed {len(printed)} times"
    ((username, password),) = printed

    asked, session = log_in(url, username, password)
    assert asked.status == 403 and asked.asks_new_password, \
        "the initial password signed in without being changed"
    assert "jupyterhub-session-id" not in session.cookies
    new_password = f"{password}-changed"
    changed, _ = log_in(url, username, password, new_password)
    assert changed.status == 302, changed
    assert log_in(url, username, password, f"{password}-again")[0].status != 302
    assert log_in(url, username, new_password)[0].status == 302


def test_a_student_imported_on_the_console_reaches_their_lab_over_https(
    compose: Compose,
) -> None:
    hub, student = compose.container("hub"), f"stu-{RUN}"
    roster = ("学校代码,学校名称,城乡,学段,班级代码,班级名称,学年,年级,用户名,姓名,角色\n"
              f"c-{RUN},中心测试中学,城市,高中,c-{RUN}-g10c1,"
              f"高一（1）班,2026-2027,10,{student},王同学,学生\n")
    subprocess.run(["docker", "exec", "-i", hub, "sh", "-c", "cat > /tmp/roster.csv"],
                   input=roster, text=True, check=True)
    imported = docker("exec", hub, "aiclass", "roster", "import", "--data", "/srv/aiclass",
                      "/tmp/roster.csv")
    assert "已同步 / mirrored" in imported, imported
    reset = docker("exec", hub, "aiclass", "roster", "reset-password", "--data",
                   "/srv/aiclass", student)
    password = reset.rsplit(":", 1)[1].strip()

    person = sign_in(compose.url, student, password)
    session_cookie = next(c for c in person.session.cookies if c.name == "jupyterhub-session-id")
    assert session_cookie.secure, "the session cookie would travel over plain HTTP"
    person.start(timeout=240)
    lab = person.lab()
    assert lab.status_code == 200 and "JupyterLab" in lab.text, lab.text[:500]
    assert lab.url.startswith(compose.url)
    assert all(c.secure for c in person.session.cookies)
