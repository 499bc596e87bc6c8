"""The privacy page on a real hub: who may export and erase whom, the confirmation step,
and no real name in any log line or URL after a session of sign-ins, pages and requests."""

from __future__ import annotations

import io
import json
import sqlite3
import zipfile
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field

import pytest
import requests
from sqlalchemy import select

from hub.db import ServiceDatabase
from hub.org.credentials import set_initial_password
from hub.org.models import Person, Role
from hub.service.pages.texts import TEXTS
from hub.settings import load_settings
from tests.hub.hubprocess import RunningHub, running_hub
from tests.pages.pagesession import PagePerson, sign_in

pytestmark = pytest.mark.integration

ZH = TEXTS["zh_CN"]


@dataclass
class Hub:
    hub: RunningHub
    admin_s1: PagePerson
    admin_s2: PagePerson
    teacher: PagePerson
    student: PagePerson
    target: str
    real_names: list[str]
    urls: list[str] = field(default_factory=list)


def _school_admins(hub: RunningHub) -> list[dict[str, str]]:
    """One school admin for each demo school, added to the roster as an import would."""
    database = ServiceDatabase(load_settings(hub.data_dir).database_url)
    accounts = []
    try:
        with database.session() as session:
            for school in ("demo-s1", "demo-s2"):
                username = f"sadm-{school[-2:]}"
                session.add(Person(username=username, display_name=f"{school}校管理员",
                                   role=Role.SCHOOL_ADMIN, school_id=school))
                session.flush()
                accounts.append({"username": username, "role": "school_admin",
                                 "password": set_initial_password(session, username)})
    finally:
        database.engine.dispose()
    return accounts


def _real_names(hub: RunningHub) -> list[str]:
    database = ServiceDatabase(load_settings(hub.data_dir).database_url)
    try:
        with database.session() as session:
            return list(session.scalars(select(Person.display_name)))
    finally:
        database.engine.dispose()


@pytest.fixture(scope="module")
def running() -> Iterator[Hub]:
    with running_hub("aiclass-privacy-i20b-", "[demo]\nstudents = 6\n") as hub:
        admins = _school_admins(hub)
        teacher = next(a for a in hub.accounts if a["role"] == "teacher"
                       and a["school"] == "demo-s1")
        students = [a for a in hub.accounts if a["role"] == "student"
                    and a["school"] == "demo-s1"]
        people = Hub(hub, sign_in(hub, admins[0]), sign_in(hub, admins[1]),
                     sign_in(hub, teacher), sign_in(hub, students[0]),
                     students[1]["username"], _real_names(hub))
        for person in (people.admin_s1, people.admin_s2, people.teacher, people.student):
            person.browser.session.hooks["response"].append(
                lambda response, *_a, **_k: people.urls.extend(
                    [r.url for r in response.history] + [response.url]))
        yield people


def _xsrf(person: PagePerson) -> str:
    """The ``_xsrf`` value a page gives this person: from the privacy page's form where
    they may open it, else from the cookie any page they open sets (what a pupil with a
    browser's developer tools has)."""
    if person.get("privacy").status_code == 200:
        return person.form_xsrf("privacy")
    assert person.get("").status_code == 200
    values = [c.value for c in person.browser.session.cookies
              if c.name == "_xsrf" and not c.path.startswith("/hub")]
    assert values, "no _xsrf cookie from the pages"
    return values[-1]


def _request(person: PagePerson, action: str, username: str, confirm: str | None = None
             ) -> requests.Response:
    return person.post("privacy", {"_xsrf": _xsrf(person), "action": action,
                                   "username": username,
                                   "confirm": username if confirm is None else confirm})


def _on_roster(running: Hub, username: str) -> bool:
    database = ServiceDatabase(load_settings(running.hub.data_dir).database_url)
    try:
        with database.session() as session:
            return session.get(Person, username) is not None
    finally:
        database.engine.dispose()


def test_teacher_student_and_another_schools_admin_are_refused(running: Hub) -> None:
    for person in (running.teacher, running.student):
        page = person.get("privacy")
        assert page.status_code == 403 and ZH["admins_only"] in page.text
        for action in ("export", "erase"):
            refused = _request(person, action, running.target)
            assert refused.status_code == 403 and ZH["admins_only"] in refused.text
    for action in ("export", "erase"):
        refused = _request(running.admin_s2, action, running.target)
        assert refused.status_code == 403 and ZH["not_your_student"] in refused.text
    own_school_teacher = running.teacher.username
    assert _request(running.admin_s1, "erase", own_school_teacher).status_code == 403
    assert _on_roster(running, running.target) and _on_roster(running, own_school_teacher)


def test_school_admin_exports_then_erases_their_student_after_confirming(
        running: Hub) -> None:
    mismatch = _request(running.admin_s1, "erase", running.target, confirm="stu-other")
    assert mismatch.status_code == 400 and ZH["privacy_mismatch"] in mismatch.text
    assert _on_roster(running, running.target)
    export = _request(running.admin_s1, "export", running.target)
    assert export.status_code == 200, export.text[:500]
    with zipfile.ZipFile(io.BytesIO(export.content)) as archive:
        roster = json.loads(archive.read("roster.json"))
        assert roster["username"] == running.target and roster["display_name"] is None
        assert "索引.md" in archive.namelist()
    erased = _request(running.admin_s1, "erase", running.target)
    assert erased.status_code == 200 and 'id="privacy-done"' in erased.text
    assert not _on_roster(running, running.target)
    hub_db = running.hub.data_dir / "jupyterhub.sqlite"
    with closing(sqlite3.connect(hub_db)) as connection:
        assert connection.execute("SELECT count(*) FROM users WHERE name = ?",
                                  (running.target,)).fetchone() == (0,)
        assert connection.execute("SELECT count(*) FROM users WHERE name = ?",
                                  (running.student.username,)).fetchone() == (1,)


def test_no_real_name_in_any_log_or_url(running: Hub) -> None:
    """After sign-ins, the teacher's pages, an export and an erasure (the tests above run
    first in this module), every log and every URL requested is free of real names."""
    own_class = next(a for a in running.hub.accounts
                     if a["username"] == running.teacher.username)["class"].split(";")[0]
    assert running.teacher.get(f"classes/{own_class}").status_code == 200
    assert running.teacher.get(f"classes/{own_class}/gradebook").status_code == 200
    logs = {str(running.hub.log_path): running.hub.log()}
    for path in running.hub.data_dir.rglob("*.log*"):
        if path.is_file():
            logs[str(path)] = path.read_text(encoding="utf-8", errors="replace")
    assert running.urls and len(running.real_names) >= 10
    for name in running.real_names:
        assert [where for where, text in logs.items() if name in text] == [], name
        assert [url for url in running.urls if name in requests.utils.unquote(url)] == [], name
