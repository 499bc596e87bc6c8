"""The classroom loop on a real local-mode hub leaves no real name in any log or URL.

The exchange tests' class (a roster with real names, signed-in teacher and students with
their labs open, the library's assignment released) goes through fetch, submit, grading,
the teacher's gradebook page and its export, and a privacy export with names;
then every log (the hub's, which carries the proxy's, the service's and the servers'
output, and every log in the data dir) and every URL any browser requested is searched
for every real name on the roster.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from hub.cli import main
from hub.db import ServiceDatabase
from hub.org.models import Person
from hub.settings import load_settings
from tests.exchange.conftest import ASSIGNMENT, CLASS, Classroom
from tests.exchange.conftest import classroom as classroom  # noqa: F401 (a fixture)
from tests.exchange.conftest import released as released  # noqa: F401 (a fixture)
from tests.exchange.test_cycle import panel

pytestmark = pytest.mark.integration


def _real_names(data_dir: Path) -> list[str]:
    database = ServiceDatabase(load_settings(data_dir).database_url)
    try:
        with database.session() as session:
            return list(session.scalars(select(Person.display_name)))
    finally:
        database.engine.dispose()


def _graded(room: Classroom, timeout: float = 240) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = room.teacher.api(
            "GET", f"/classes/{CLASS}/assignments/{ASSIGNMENT}/grading")
        assert response.status_code == 200, response.text
        states = response.json()
        if states["done"] + states["failed"] >= 1 and not states["queued"] + states["running"]:
            return states
        time.sleep(1)
    raise TimeoutError(f"grading did not finish: {states}")


def test_the_classroom_loop_logs_and_requests_no_real_name(
        classroom: Classroom, released: dict, tmp_path: Path) -> None:  # noqa: F811
    urls: list[str] = []
    people = [classroom.teacher, *classroom.students]
    for person in people:
        person.browser.session.hooks["response"].append(
            lambda response, *_a, **_k: urls.extend(
                [r.url for r in response.history] + [response.url]))
    student = classroom.students[0]
    panel(student, "fetch")
    panel(student, "submit")
    assert _graded(classroom)["done"] >= 1
    pages = f"{classroom.hub.url}/services/classroom/classes/{CLASS}"
    teacher = classroom.teacher.browser.session
    gradebook = teacher.get(f"{pages}/gradebook", timeout=120)
    assert gradebook.status_code == 200
    export = classroom.teacher.api("GET", f"/classes/{CLASS}/grades.csv")
    assert export.status_code == 200
    urls.append(export.url)
    names = _real_names(classroom.hub.data_dir)
    assert main(["privacy", "export", student.username, "--with-names", "--out",
                 str(tmp_path), "--data", str(classroom.hub.data_dir)]) == 0
    logs = {str(classroom.hub.log_path): classroom.hub.log()}
    for path in classroom.hub.data_dir.rglob("*.log*"):
        if path.is_file():
            logs[str(path)] = path.read_text(encoding="utf-8", errors="replace")
    assert len(names) >= 60
    for name in names:
        assert [where for where, text in logs.items() if name in text] == [], name
        assert [url for url in urls if name in requests.utils.unquote(url)] == [], name
