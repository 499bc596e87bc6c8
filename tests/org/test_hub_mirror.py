"""The organisation mirrored into a real hub, and the hub enforcing it (local mode)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.hub_api import HubAPI
from hub.org.mirror import mirror_from_settings
from hub.settings import load_settings
from tests.hub.hubprocess import (
    RunningHub,
    running_hub,
)
from tests.org.orghub import HubREST, aiclass, hub_api_url, mirror_api, new_password, user_token
from tests.org.rosterfiles import TEMPLATE_CSV, TEMPLATE_XLSX, template_rows, write_csv

pytestmark = pytest.mark.integration

CHOSEN = "xuexi-2026-ok"
CLASS_A = "s2-2026-g8c1"
CLASS_B = "s1-2026-g10c1"


@pytest.fixture(scope="module")
def hub() -> Iterator[RunningHub]:
    with running_hub("aiclass-org-hub-") as running:
        yield running


@pytest.fixture(scope="module")
def imported(hub: RunningHub) -> HubREST:
    api = mirror_api(hub)
    api.wait_for_group("class-demo-s1-g10c1")
    result = aiclass(hub, "roster", "import", TEMPLATE_CSV)
    assert result.returncode == 0, result.stderr
    assert "已同步 / mirrored" in result.stdout
    return api


def test_the_mirror_service_reconciles_as_the_hub_starts(hub: RunningHub) -> None:
    demo_students = {a["username"] for a in hub.accounts if a["role"] == "student"}
    api = mirror_api(hub)
    members = api.wait_for_group("class-demo-s2-g8c1")
    assert members and set(members) <= demo_students
    teachers = [a["username"] for a in hub.accounts if a["role"] == "teacher"]
    roles = api.roles()
    assert {f"aiclass-teacher-{t}" for t in teachers} <= roles.keys()


def test_import_mirrors_groups_and_roles(imported: HubREST) -> None:
    groups = imported.groups()
    assert groups[f"class-{CLASS_B}"] == ["stu-a3k9d", "stu-b7n2f", "stu-c5r8h"]
    assert groups["school-sample-s2"] == ["stu-f4y7m", "stu-g8z2n"]
    role = imported.roles()["aiclass-teacher-tch-r6v3x"]
    assert role["users"] == ["tch-r6v3x"]
    assert f"start:servers!group=class-{CLASS_A}" in role["scopes"]
    assert not any(CLASS_B in scope for scope in role["scopes"])


def test_mirroring_again_changes_nothing(hub: RunningHub, imported: HubREST) -> None:
    settings = load_settings(hub.data_dir)
    token = (hub.data_dir / "org-mirror.token").read_text().strip()
    report = mirror_from_settings(settings, HubAPI(hub_api_url(hub), token))
    assert not report.changed, report.summary()
    result = aiclass(hub, "roster", "import", TEMPLATE_XLSX)
    assert result.returncode == 0 and "+0 -0" in result.stdout


@pytest.mark.parametrize("edit", ["bad-grade", "duplicate", "unknown-school"])
def test_a_bad_file_leaves_the_hub_unchanged(hub: RunningHub, imported: HubREST,
                                             tmp_path: Path, edit: str) -> None:
    rows = template_rows()
    if edit == "bad-grade":
        rows[6][7] = "0"
    elif edit == "duplicate":
        rows.append(list(rows[6]))
    else:
        rows[10][0], rows[10][1] = "nowhere", ""
    before = (imported.groups(), imported.roles())
    result = aiclass(hub, "roster", "import", write_csv(tmp_path / f"{edit}.csv", rows, "gbk"))
    assert result.returncode == 1
    assert "nothing was changed" in result.stderr and " row " in result.stderr
    assert (imported.groups(), imported.roles()) == before


def test_removing_a_student_removes_the_membership(hub: RunningHub, imported: HubREST,
                                                   tmp_path: Path) -> None:
    rows = [row for row in template_rows() if row[8] != "stu-e9w4k"]
    result = aiclass(hub, "roster", "import", write_csv(tmp_path / "without.csv", rows))
    assert result.returncode == 0, result.stderr
    groups = imported.groups()
    assert "stu-e9w4k" not in groups["class-s1-2026-g10c2"]
    assert "stu-e9w4k" not in groups["school-sample-s1"]
    assert aiclass(hub, "roster", "import", TEMPLATE_CSV).returncode == 0
    assert "stu-e9w4k" in imported.groups()["class-s1-2026-g10c2"]


def _server_ready(api: HubREST, username: str, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        model = api.request("GET", f"users/{username}").json()
        server = model.get("servers", {}).get("")
        if server and server.get("ready"):
            return server
        time.sleep(1)
    raise TimeoutError(f"{username}'s server did not become ready")


def test_teacher_reaches_their_class_and_not_another(hub: RunningHub,
                                                     imported: HubREST) -> None:
    teacher = HubREST(hub, user_token(hub, "tch-r6v3x", new_password(hub, "tch-r6v3x"),
                                      CHOSEN))
    listed = {u["name"] for u in teacher.request("GET", "users").json()}
    assert {"stu-f4y7m", "stu-g8z2n"} <= listed
    assert not listed & {"stu-a3k9d", "stu-b7n2f", "tch-m4p8q", "sadm-x7k2m"}

    started = teacher.request("POST", "users/stu-f4y7m/server")
    assert started.status_code in (201, 202), started.text
    assert _server_ready(teacher, "stu-f4y7m")["url"] == "/user/stu-f4y7m/"
    stopped = teacher.request("DELETE", "users/stu-f4y7m/server")
    assert stopped.status_code in (202, 204), stopped.text

    refused = teacher.request("POST", "users/stu-a3k9d/server")
    assert refused.status_code in (403, 404)
    assert teacher.request("GET", "users/stu-a3k9d").status_code == 404
    assert teacher.request("DELETE", "users/stu-a3k9d/server").status_code in (403, 404)
    assert (hub.data_dir / "homes" / "stu-f4y7m").is_dir()
    assert not (hub.data_dir / "homes" / "stu-a3k9d").exists()
    assert teacher.request("GET", "groups").status_code == 403


def test_student_cannot_list_users(hub: RunningHub, imported: HubREST) -> None:
    student = HubREST(hub, user_token(hub, "stu-g8z2n", new_password(hub, "stu-g8z2n"),
                                      CHOSEN))
    assert student.request("GET", "users").status_code == 403
    assert student.request("GET", "users/stu-f4y7m").status_code == 404
    assert student.request("POST", "users/stu-f4y7m/server").status_code in (403, 404)
    assert student.request("GET", "users/stu-g8z2n").status_code == 200


def test_school_admin_sees_their_school_only(hub: RunningHub, imported: HubREST) -> None:
    admin = HubREST(hub, user_token(hub, "sadm-x7k2m", new_password(hub, "sadm-x7k2m"),
                                    CHOSEN))
    listed = {u["name"] for u in admin.request("GET", "users").json()}
    assert listed == {"stu-a3k9d", "stu-b7n2f", "stu-c5r8h", "stu-d2t6j", "stu-e9w4k"}
    assert admin.request("GET", "users/stu-f4y7m").status_code == 404
    assert admin.request("POST", "users/stu-f4y7m/server").status_code in (403, 404)


def test_region_admin_is_not_a_superuser(hub: RunningHub, imported: HubREST) -> None:
    region_admin = hub.account("region_admin")["username"]
    model = imported.request("GET", f"users/{region_admin}").json()
    assert model["admin"] is False
    assert f"aiclass-region-admin-{region_admin}" in model["roles"]


def test_the_mirror_cannot_make_superusers_unless_the_settings_say_so(
        hub: RunningHub, imported: HubREST) -> None:
    region_admin = hub.account("region_admin")["username"]
    refused = imported.request("PATCH", f"users/{region_admin}", {"admin": True})
    assert refused.status_code == 403
    assert imported.request("GET", f"users/{region_admin}").json()["admin"] is False


@pytest.mark.parametrize(("role", "status"), [
    ({"name": "admin", "scopes": ["admin:users"], "users": []}, 400),
    ({"name": "aiclass-sneaky", "scopes": ["admin:users"], "users": []}, 403),
    ({"name": "aiclass-sneaky", "scopes": ["read:users"], "users": ["nobody-here"]}, 400),
])
def test_the_roles_endpoint_refuses_escalation(hub: RunningHub, imported: HubREST,
                                               role: dict, status: int) -> None:
    before = imported.roles()
    answer = imported.request("PUT", "aiclass/roles", {"roles": [*before.values(), role]})
    assert answer.status_code == status, answer.text
    assert imported.roles() == before


def test_users_cannot_use_the_roles_endpoint(hub: RunningHub, imported: HubREST) -> None:
    teacher = HubREST(hub, user_token(hub, "tch-m4p8q", new_password(hub, "tch-m4p8q"),
                                      CHOSEN))
    assert teacher.request("GET", "aiclass/roles").status_code == 403
    assert teacher.request("PUT", "aiclass/roles", {"roles": []}).status_code == 403
    assert "aiclass-teacher-tch-m4p8q" in imported.roles()


def test_the_users_endpoint_creates_plain_users_in_one_request(hub: RunningHub,
                                                              imported: HubREST) -> None:
    names = ["bulk-a1", "bulk-a2", "tch-m4p8q"]
    answer = imported.request("POST", "aiclass/users", {"usernames": names})
    assert answer.status_code == 201, answer.text
    assert answer.json() == {"created": ["bulk-a1", "bulk-a2"], "existing": 1}
    model = imported.request("GET", "users/bulk-a1").json()
    assert model["roles"] == ["user"] and model["admin"] is False
    again = imported.request("POST", "aiclass/users", {"usernames": names})
    assert again.status_code == 200 and again.json() == {"created": [], "existing": 3}


@pytest.mark.parametrize("body", [{"usernames": "bulk-b1"}, {"usernames": [1]}, ["bulk-b1"],
                                  {"usernames": ["bulk-b1", "bad/name"]}])
def test_the_users_endpoint_refuses_bad_bodies(hub: RunningHub, imported: HubREST,
                                               body: object) -> None:
    assert imported.request("POST", "aiclass/users", body).status_code == 400
    assert imported.request("GET", "users/bulk-b1").status_code == 404


def test_users_cannot_use_the_users_endpoint(hub: RunningHub, imported: HubREST) -> None:
    teacher = HubREST(hub, user_token(hub, "tch-m4p8q", new_password(hub, "tch-m4p8q"),
                                      CHOSEN))
    answer = teacher.request("POST", "aiclass/users", {"usernames": ["bulk-c1"]})
    assert answer.status_code == 403
    assert imported.request("GET", "users/bulk-c1").status_code == 404


@pytest.mark.parametrize("change", [{"jupyterhub-admins": ["bulk-a1"]},
                                    {"class-new": ["nobody-here"]}, {"class-new": "bulk-a1"}])
def test_the_groups_endpoint_refuses_other_groups_and_unknown_users(
        hub: RunningHub, imported: HubREST, change: dict) -> None:
    before = imported.request("GET", "aiclass/groups").json()
    answer = imported.request("PUT", "aiclass/groups", {"groups": {**before, **change}})
    assert answer.status_code == 400, answer.text
    assert imported.request("GET", "aiclass/groups").json() == before


def test_users_cannot_use_the_groups_endpoint(hub: RunningHub, imported: HubREST) -> None:
    teacher = HubREST(hub, user_token(hub, "tch-m4p8q", new_password(hub, "tch-m4p8q"),
                                      CHOSEN))
    assert teacher.request("GET", "aiclass/groups").status_code == 403
    assert teacher.request("PUT", "aiclass/groups", {"groups": {}}).status_code == 403
    assert imported.groups()


def test_region_admins_are_superusers_when_the_settings_say_so() -> None:
    with running_hub("aiclass-org-superusers-",
                     "[org]\nregion_admins_are_superusers = true\n") as running:
        api = mirror_api(running)
        region_admin = running.account("region_admin")["username"]
        teacher = running.account("teacher")["username"]
        deadline = time.monotonic() + 120
        while not api.request("GET", f"users/{region_admin}").json().get("admin"):
            assert time.monotonic() < deadline, "the mirror never made the region admin admin"
            time.sleep(1)
        assert api.request("GET", f"users/{teacher}").json()["admin"] is False
