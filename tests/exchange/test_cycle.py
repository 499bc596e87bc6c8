"""The full exchange cycle in local mode: a teacher and three students of one class.

Students use nbgrader's own Assignments panel endpoints on their real single-user
servers (and the ``nbgrader`` command line); the teacher uses the service's API and
``nbgrader collect``. The service stamps submissions with its own clock and computes
lateness against the due date and a per-student extension granted after it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.exchange.conftest import (
    ASSIGNMENT,
    CLASS,
    LIBRARY,
    Classroom,
    Person,
    make_zip,
    read_zip,
)

pytestmark = pytest.mark.integration

NBGRADER = str(Path(sys.executable).parent / "nbgrader")


def panel(person: Person, action: str | None = None) -> list[dict]:
    """What the Assignments panel shows after an action (fetch, submit, fetch_feedback)."""
    if action is None:
        response = person.lab("GET", f"assignments?course_id={CLASS}")
    else:
        response = person.lab("POST", f"assignments/{action}",
                              json={"course_id": CLASS, "assignment_id": ASSIGNMENT})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"], body["value"]
    return body["value"]


def entry(listing: list[dict], status: str) -> dict:
    return next(a for a in listing if a["assignment_id"] == ASSIGNMENT and a["status"] == status)


def nbgrader(room: Classroom, person: Person, workdir: Path, *args: str) -> str:
    """Run the ``nbgrader`` command line as ``person``, configured like their server."""
    profile = "teacher" if person is room.teacher else "student"
    env = {**os.environ,
           "JUPYTER_CONFIG_PATH": str(room.hub.data_dir / "jupyter" / profile),
           "JUPYTERHUB_API_TOKEN": person.token,
           "AICLASS_EXCHANGE_URL": f"{room.hub.url}/services/classroom/"}
    result = subprocess.run([NBGRADER, *args], cwd=workdir, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_students_fetch_submit_and_read_feedback(classroom: Classroom, released: dict,
                                                 tmp_path: Path) -> None:
    assert released["class_id"] == CLASS and released["version"] == 1
    assert released["notebooks"] == ["classify"]
    first, second, third = classroom.students
    courses = first.lab("GET", "courses").json()
    assert courses["success"] and CLASS in courses["value"]
    assert entry(panel(first), "released")["notebooks"][0]["notebook_id"] == "classify"

    for student in (first, second):
        fetched = entry(panel(student, "fetch"), "fetched")
        assert fetched["path"] == ASSIGNMENT
        notebook = classroom.hub.data_dir / "homes" / student.username / ASSIGNMENT / \
            "classify.ipynb"
        text = notebook.read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
        submitted = entry(panel(student, "submit"), "submitted")
        assert submitted["student_id"] == student.username
        assert len(submitted["submissions"]) == 1

    fetch_out = nbgrader(classroom, third, tmp_path, "fetch_assignment", ASSIGNMENT,
                         "--course", CLASS)
    assert (tmp_path / ASSIGNMENT / "classify.ipynb").is_file(), fetch_out
    listed = nbgrader(classroom, third, tmp_path, "list")
    assert f"{CLASS} {ASSIGNMENT} fetched" in listed
    nbgrader(classroom, third, tmp_path, "submit", ASSIGNMENT, "--course", CLASS)
    assert f"{CLASS} {ASSIGNMENT} submitted" in nbgrader(classroom, third, tmp_path, "list",
                                                         "--cached")

    extended = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    grant = classroom.teacher.api("PUT", f"/classes/{CLASS}/assignments/{ASSIGNMENT}/extensions/"
                                  f"{second.username}", json={"due_at": extended})
    assert grant.status_code == 200, grant.text

    collection = classroom.teacher.api("GET", f"/classes/{CLASS}/assignments/{ASSIGNMENT}"
                                       "/collection").json()
    rows = {row["student"]: row for row in collection["students"]}
    for student in (first, second, third):
        assert rows[student.username]["submission"] is not None
    assert rows[first.username]["submission"]["late"] is True
    assert rows[second.username]["submission"]["late"] is False
    assert rows[third.username]["submission"]["late"] is True
    assert rows[classroom.student("never submits").username]["submission"] is None

    submission = rows[first.username]["submission"]
    feedback = classroom.teacher.api("PUT", f"/submissions/{submission['id']}/feedback",
                                     data=make_zip({"classify.html": "<p>很好</p>".encode()}))
    assert feedback.status_code == 200, feedback.text
    after = entry(panel(first, "fetch_feedback"), "submitted")["submissions"][0]
    assert after["has_local_feedback"] and after["has_exchange_feedback"]
    local = classroom.hub.data_dir / "homes" / first.username / after["local_feedback_path"]
    assert (local / "classify.html").read_text(encoding="utf-8") == "<p>很好</p>"
    assert entry(panel(second), "submitted")["submissions"][0]["has_exchange_feedback"] is False


def test_teacher_collects_with_nbgrader(classroom: Classroom, released: dict,
                                        tmp_path: Path) -> None:
    course = tmp_path / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text(
        f"c.CourseDirectory.course_id = {CLASS!r}\n", encoding="utf-8")
    nbgrader(classroom, classroom.teacher, course, "collect", ASSIGNMENT, "--course", CLASS)
    collected = sorted(p.parent.parent.name
                       for p in course.glob(f"submitted/*/{ASSIGNMENT}/classify.ipynb"))
    assert {s.username for s in classroom.students} <= set(collected)
    for name in collected:
        stamp = course / "submitted" / name / ASSIGNMENT / "timestamp.txt"
        assert stamp.read_text().endswith("UTC")


def test_history_choice_and_re_release(classroom: Classroom, released: dict) -> None:
    student = classroom.student("resubmitter")
    fetched = student.api("GET", f"/classes/{CLASS}/assignments/{ASSIGNMENT}/release")
    files = read_zip(fetched.content)
    ids = []
    for text in ("第一次", "第二次"):
        notebook = json.loads(files["classify.ipynb"])
        notebook["cells"][0]["source"] = text
        response = student.api(
            "POST", f"/classes/{CLASS}/assignments/{ASSIGNMENT}/submissions",
            data=make_zip({"classify.ipynb": json.dumps(notebook).encode()}),
            headers={"Idempotency-Key": f"history-{text.encode().hex()}"})
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    history = student.api("GET", f"/classes/{CLASS}/assignments/{ASSIGNMENT}/submissions")
    assert [s["id"] for s in history.json()["submissions"]] == ids
    assert classroom.teacher.api("POST", f"/submissions/{ids[0]}/choice").status_code == 200
    rows = classroom.teacher.api("GET", f"/classes/{CLASS}/assignments/{ASSIGNMENT}"
                                 "/collection").json()["students"]
    counted = next(r for r in rows if r["student"] == student.username)["submission"]
    assert counted["id"] == ids[0] and counted["chosen"]
    first_files = read_zip(classroom.teacher.api("GET", f"/submissions/{ids[0]}/files").content)
    assert json.loads(first_files["classify.ipynb"])["cells"][0]["source"] == "第一次"

    source = Path(__file__).resolve().parents[2] / "assignments" / LIBRARY
    upload = make_zip({p.name: p.read_bytes() for p in source.iterdir() if p.is_file()})
    again = classroom.teacher.api("POST", f"/assignments/{ASSIGNMENT}/releases",
                                  params={"class": CLASS}, data=upload)
    assert again.status_code == 201, again.text
    assert again.json()["releases"][0]["version"] == 2
    newcomer = classroom.student("newcomer after the re-release")
    latest = newcomer.api("GET", f"/classes/{CLASS}/assignments/{ASSIGNMENT}/release")
    assert latest.headers["X-Aiclass-Version"] == "2"
    listing = {(a["class_id"], a["assignment_id"]): a
               for a in student.api("GET", "/assignments").json()["assignments"]}
    assert listing[(CLASS, ASSIGNMENT)]["version"] == 2
    assert listing[(CLASS, ASSIGNMENT)]["fetched_version"] == 1
