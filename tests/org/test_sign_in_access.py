"""A sign-in puts the person's groups and role in the hub only when they changed, and lands
in the lab of a server that is already running.

Through a real hub: the mirror's periodic run is a day away, so what the hub holds after a
sign-in came with that sign-in (:mod:`hub.auth.sign_in_access`, :mod:`hub.auth.landing`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from sqlalchemy import delete, select

from hub.db import ServiceDatabase
from hub.org.directory import class_group, role_name
from hub.org.models import Enrollment, Person, Role, SchoolClass
from tests.hub.hubprocess import Browser, RunningHub, post_login, running_hub
from tests.org.orghub import HubREST, mirror_api

pytestmark = pytest.mark.integration

SETTINGS = "[demo]\nstudents = 4\n[org]\nmirror_interval_minutes = 1440\n"
PASSWORD = "i21e-new-password"
PUT = "groups and roles put in the hub"


@pytest.fixture(scope="module")
def hub() -> Iterator[RunningHub]:
    with running_hub("aiclass-i21e-sign-in-access-", SETTINGS) as running:
        yield running


def writes_for(hub: RunningHub, username: str) -> int:
    """How many sign-ins of ``username`` wrote their groups and roles into the hub."""
    return hub.log().count(f"Sign-in of {username}: {PUT}")


def sign_in_again(hub: RunningHub, username: str) -> None:
    """A new browser signs in with the password chosen at the first sign-in."""
    result = post_login(requests.Session(), hub.url, username, PASSWORD)
    assert result.status == 302, result


def service(hub: RunningHub) -> ServiceDatabase:
    return ServiceDatabase(f"sqlite:///{hub.data_dir / 'aiclass.sqlite'}")


def groups_of(api: HubREST, username: str) -> set[str]:
    return {name for name, members in api.groups().items() if username in members}


def test_an_unchanged_sign_in_writes_nothing_and_a_tampered_hub_is_put_right(hub) -> None:
    """Does a second sign-in with nothing changed leave the hub alone, while a student
    whose class group was taken away in the hub gets it back at the next sign-in?"""
    api = mirror_api(hub)
    student = hub.own_account("unchanged")
    Browser(hub).sign_in(student, PASSWORD)
    name = student["username"]
    group = class_group(student["class"])
    assert group in groups_of(api, name)
    before = writes_for(hub, name)

    sign_in_again(hub, name)
    sign_in_again(hub, name)
    assert writes_for(hub, name) == before, "a sign-in with nothing changed wrote"

    removed = api.request("DELETE", f"groups/{group}/users", {"users": [name]})
    assert removed.status_code == 200, removed.text
    assert group not in groups_of(api, name)
    sign_in_again(hub, name)
    assert writes_for(hub, name) == before + 1
    assert group in groups_of(api, name)


def test_a_changed_role_lands_at_sign_in_and_a_lost_one_is_taken_away(hub) -> None:
    """Does a teacher given another class hold its scope from their next sign-in, and a
    teacher made a student lose their role in the hub at theirs (the unchanged-role
    shortcut must never keep a power the roster took away)?"""
    api = mirror_api(hub)
    teacher = hub.own_account("changed", role="teacher")
    name = teacher["username"]
    Browser(hub).sign_in(teacher, PASSWORD)
    role = role_name(Role.TEACHER, name)
    assert role in api.roles()
    sign_in_again(hub, name)
    before = writes_for(hub, name)

    database = service(hub)
    with database.session() as session:
        taught = set(session.scalars(select(Enrollment.class_id).where(
            Enrollment.username == name)))
        other = session.scalars(select(SchoolClass.id).where(
            SchoolClass.id.not_in(taught)).order_by(SchoolClass.id)).first()
        session.add(Enrollment(class_id=other, username=name, role=Role.TEACHER))
    sign_in_again(hub, name)
    assert writes_for(hub, name) == before + 1
    assert f"start:servers!group={class_group(other)}" in api.roles()[role]["scopes"]

    with database.session() as session:
        session.execute(delete(Enrollment).where(Enrollment.username == name))
        session.get(Person, name).role = Role.STUDENT
        session.add(Enrollment(class_id=other, username=name, role=Role.STUDENT))
    database.engine.dispose()
    sign_in_again(hub, name)
    assert writes_for(hub, name) == before + 2
    assert role not in api.roles()
    assert class_group(other) in groups_of(api, name)


def test_a_sign_in_to_a_running_server_lands_in_its_lab(hub) -> None:
    """Does a student whose server runs land straight in its lab (not at the server's root,
    which would redirect once more), while one without a server still goes to the spawn
    page, and an explicit ``next`` still wins?"""
    running, idle = hub.own_account("lands in lab"), hub.own_account("lands on spawn")
    browser = Browser(hub)
    browser.sign_in(running, PASSWORD)
    browser.open_lab(running["username"])
    Browser(hub).sign_in(idle, PASSWORD)

    arriving = requests.Session()
    landed = post_login(arriving, hub.url, running["username"], PASSWORD)
    assert landed.url == f"/user/{running['username']}/lab", landed
    lab = arriving.get(f"{hub.url}{landed.url}", timeout=120)
    assert lab.status_code == 200 and lab.url.endswith(f"/user/{running['username']}/lab")
    assert "jupyter-config-data" in lab.text

    assert post_login(requests.Session(), hub.url, idle["username"], PASSWORD).url == "/hub/spawn"
    asked = requests.Session()
    asked.get(f"{hub.url}/hub/login?next=/hub/home", timeout=30)
    xsrf = next(c.value for c in asked.cookies if c.name == "_xsrf" and c.path == "/hub/")
    explicit = asked.post(f"{hub.url}/hub/login?next=/hub/home", timeout=60,
                          allow_redirects=False,
                          data={"username": running["username"], "password": PASSWORD,
                                "_xsrf": xsrf})
    assert explicit.status_code == 302 and explicit.headers["Location"] == "/hub/home"
