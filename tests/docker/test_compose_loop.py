"""The shipped compose deployment runs a whole class, driven over HTTP as people do it.

``docker-compose.yml`` with the built images and TLS, and nothing of this checkout but an
override that keeps the test on its own ports and its own students' network (the deployment
``compose_project.py`` starts, shared with ``test_compose.py``): the region admin (the first one,
whose initial password the hub prints once to its log) imports a roster on the roster page; the
center's admin issues the teacher's password and the class's sign-in slips at the hub's console
(``aiclass roster reset-password``, ``aiclass roster slips``, as the README tells them to); the
teacher releases a library lesson; two students sign in, their containers start, and inside them
they fetch, answer (one with the instructor's code, one leaves the release as it came) and submit
with nbgrader. The classroom service inside the hub container grades both in Docker sandboxes;
the teacher's gradebook shows full marks and zero; the teacher releases feedback and the
student's container fetches it. Then ``docker-compose restart``: the class, both submissions,
their grades and the feedback are all still there, and ``aiclass backup`` in the hub container
takes both PostgreSQL databases, the exchange's files and both students' home volumes.

Prints the time from the region admin's sign-in to both submissions graded.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import nbformat
import pytest
import requests
from compose_project import RUN, Compose
from docker_classroom import REPO, Student, docker, sign_in, wait_for
from test_compose import INITIAL_PASSWORD

from hub.home_volumes import home_volume_name
from hub.settings import DockerSettings

pytestmark = pytest.mark.docker

LESSON = "sorting-with-neighbours"
LIBRARY = f"primary/{LESSON}"
NOTEBOOK = "neighbours.ipynb"
SOURCE = REPO / "assignments" / "primary" / LESSON / NOTEBOOK
SERVICE = "services/classroom/"
HOME_VOLUME = DockerSettings().home_volume
API = f"{SERVICE}api/v1"
SCHOOL, CLASS = f"loop-{RUN}", f"loop-{RUN}-g10c1"
TEACHER, RIGHT, BLANK = f"tch-{RUN}", f"stu-{RUN}a", f"stu-{RUN}b"


def first_region_admin(compose: Compose) -> tuple[str, str]:
    """The first region admin's username, which the hub printed at its first start, and a new
    initial password for them from the hub's console (the printed one may have been used:
    ``test_compose.py`` changes it on this deployment)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = INITIAL_PASSWORD.search(compose.hub_log())
        if found:
            reset = compose.hub_console("roster", "reset-password", found.group(1))
            return found.group(1), reset.rsplit(":", 1)[1].strip()
        time.sleep(1)
    raise AssertionError("the hub's log never showed the first region admin's password")


def roster_csv(school_class: str) -> bytes:
    rows = [
        ["学校代码", "学校名称", "城乡", "学段", "班级代码", "班级名称", "学年", "年级", "用户名",
         "姓名", "角色"],
        [SCHOOL, "联调市第一中学", "城市", "高中", school_class, "高一（1）班", "2026-2027", "10",
         TEACHER, "李老师", "教师"],
        [SCHOOL, "联调市第一中学", "城市", "高中", school_class, "高一（1）班", "2026-2027", "10",
         RIGHT, "王同学", "学生"],
        [SCHOOL, "联调市第一中学", "城市", "高中", school_class, "高一（1）班", "2026-2027", "10",
         BLANK, "陈同学", "学生"],
    ]
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def page_xsrf(person: Student, path: str) -> str:
    page = person.session.get(f"{person.hub}{SERVICE}{path}", timeout=120)
    assert page.status_code == 200, f"{path}: {page.status_code}"
    found = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
    assert found, f"no form on {path}"
    return found.group(1)


def import_roster(admin: Student) -> None:
    """Check the file, then confirm it, as the roster page's two forms do (``_xsrf`` in the
    action URL too: the page streams the upload, so Tornado checks it before the body)."""
    xsrf = page_xsrf(admin, "roster")
    checked = admin.session.post(
        f"{admin.hub}{SERVICE}roster", params={"_xsrf": xsrf},
        data={"_xsrf": xsrf, "action": "dry_run"},
        files={"roster": ("roster.csv", roster_csv(CLASS))}, timeout=300)
    assert checked.status_code == 200, checked.text[:2000]
    upload = re.search(r'name="upload" value="([^"]+)"', checked.text)
    assert upload, "the checked roster offers nothing to confirm"
    applied = admin.session.post(
        f"{admin.hub}{SERVICE}roster", params={"_xsrf": xsrf},
        data={"_xsrf": xsrf, "action": "apply",
              "upload": upload.group(1)}, timeout=300)
    assert applied.status_code == 200, applied.text[:2000]


def slips(compose: Compose) -> dict[str, str]:
    """Students' initial passwords from the class's slips, printed at the hub's console."""
    out = f"/tmp/slips-{uuid.uuid4().hex[:6]}"
    compose.hub_console("roster", "slips", CLASS, "--out", out)
    hub = compose.container("hub")
    name = next(n for n in docker("exec", hub, "ls", out).split() if n.endswith(".csv"))
    text = docker("exec", hub, "cat", f"{out}/{name}").lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    user, password = rows[0].index("用户名"), rows[0].index("初始密码")
    return {row[user]: row[password] for row in rows[1:] if row}


def container_of(username: str) -> str:
    ids = docker("ps", "-q", "--filter", f"label=org.aiclass.owner={username}").split()
    assert len(ids) == 1, f"expected one running container for {username}, found {ids}"
    return ids[0]


def in_container(person: Student, *command: str) -> str:
    return docker("exec", "-w", "/home/jovyan", container_of(person.name), *command)


def panel(person: Student, action: str) -> list[dict]:
    """What the Assignments panel shows after ``action`` (fetch, fetch_feedback)."""
    xsrf = person.session.cookies.get("_xsrf", path=f"/user/{person.name}/") or ""
    response = person.session.post(
        f"{person.hub}user/{person.name}/assignments/{action}",
        json={"course_id": CLASS, "assignment_id": LESSON},
        headers={"X-XSRFToken": xsrf}, timeout=180)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"], body["value"]
    return [a for a in body["value"] if a["assignment_id"] == LESSON]


def instructor_answers() -> dict[str, str]:
    """The instructor's code for every code answer cell, the solution markers removed."""
    answers = {}
    for cell in nbformat.read(SOURCE, as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            answers[meta["grade_id"]] = "\n".join(
                line for line in cell.source.splitlines() if "### " not in line)
    return answers


def points() -> tuple[float, float]:
    """The lesson's autograded points (its test cells) and all its points (with the
    teacher-graded reflection, which the sandbox leaves at zero)."""
    auto = everything = 0.0
    for cell in nbformat.read(SOURCE, as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            everything += meta["points"]
            if not meta.get("solution"):
                auto += meta["points"]
    return auto, everything


ANSWER = (
    "import json, sys\n"
    "path, answers = sys.argv[1], json.loads(sys.argv[2])\n"
    "with open(path, encoding='utf-8') as f:\n    notebook = json.load(f)\n"
    "for cell in notebook['cells']:\n"
    "    grade_id = cell['metadata'].get('nbgrader', {}).get('grade_id')\n"
    "    if grade_id in answers:\n        cell['source'] = answers[grade_id]\n"
    "with open(path, 'w', encoding='utf-8') as f:\n    json.dump(notebook, f)\n"
)


def submit(student: Student, answers: dict[str, str]) -> None:
    assert [a["status"] for a in panel(student, "fetch")] == ["fetched"]
    path = f"{LESSON}/{NOTEBOOK}"
    in_container(student, "python", "-c", ANSWER, path, json.dumps(answers))
    out = in_container(student, "sh", "-c", f"nbgrader submit {LESSON} --course {CLASS} 2>&1")
    assert "error" not in out.lower(), out


def service(teacher: Student, token: str, method: str, path: str,
            **kwargs: object) -> requests.Response:
    return requests.request(method, f"{teacher.hub}{API}{path}",
                            headers={"Authorization": f"token {token}"}, timeout=120,
                            **kwargs)  # type: ignore[arg-type]


def wait_graded(teacher: Student, token: str, count: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    progress: dict = {}
    while time.monotonic() < deadline:
        progress = service(teacher, token, "GET",
                           f"/classes/{CLASS}/assignments/{LESSON}/grading").json()
        assert progress.get("failed", 0) == 0, progress
        if progress.get("done", 0) >= count:
            return
        time.sleep(2)
    raise AssertionError(f"grading did not finish in {timeout:.0f} s: {progress}")


def gradebook(teacher: Student, token: str) -> dict[str, dict[str, str]]:
    """The teacher's gradebook export, row by student."""
    response = service(teacher, token, "GET", f"/classes/{CLASS}/grades.csv")
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    return {row["学生 / student"]: row for row in rows}


def test_a_class_runs_end_to_end_on_the_compose_deployment(compose: Compose) -> None:
    began = time.monotonic()
    admin_name, admin_password = first_region_admin(compose)
    admin = sign_in(compose.url, admin_name, admin_password)
    import_roster(admin)

    teacher_password = re.search(r":\s*(\S+)\s*$", compose.hub_console(
        "roster", "reset-password", TEACHER)).group(1)  # type: ignore[union-attr]
    teacher = sign_in(compose.url, TEACHER, teacher_password)
    token = teacher.api("POST", f"/users/{TEACHER}/tokens", json={"note": "loop"}).json()["token"]
    due = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    released = service(teacher, token, "POST", f"/assignments/{LESSON}/releases",
                       params={"class": CLASS, "library": LIBRARY, "due": due})
    assert released.status_code == 201, released.text

    passwords = slips(compose)
    right = sign_in(compose.url, RIGHT, passwords[RIGHT])
    blank = sign_in(compose.url, BLANK, passwords[BLANK])
    for student in (right, blank):
        student.start(timeout=240)
        assert student.lab().status_code == 200
    submit(right, instructor_answers())
    submit(blank, {})
    wait_graded(teacher, token, 2)
    print(f"\ncompose: the admin's sign-in to both submissions graded: "
          f"{time.monotonic() - began:.0f} s")

    book = gradebook(teacher, token)
    final = f"{LESSON} 原始分 / raw"
    maximum = f"{LESSON} 满分 / max"
    auto, everything = points()
    assert float(book[RIGHT][maximum]) == everything
    assert float(book[RIGHT][final]) == auto > 0, book[RIGHT]
    assert float(book[BLANK][final]) == 0, book[BLANK]

    submissions = service(teacher, token, "GET",
                          f"/classes/{CLASS}/assignments/{LESSON}/collection").json()
    key = {row["student"]: row["submission"]["id"] for row in submissions["students"]}[RIGHT]
    feedback = service(teacher, token, "POST", f"/submissions/{key}/feedback/release")
    assert feedback.status_code == 200, feedback.text
    fetched = panel(right, "fetch_feedback")
    entry = next(a for a in fetched if a["status"] == "submitted")["submissions"][0]
    assert entry["has_local_feedback"], entry
    html = in_container(right, "cat", entry["local_feedback_path"].rstrip("/") + "/"
                        + NOTEBOOK.replace(".ipynb", ".html"))
    assert book[RIGHT][final].split(".")[0] in html

    compose.run("restart")
    wait_for(f"{compose.url}hub/api/", timeout=240)
    after = sign_in(compose.url, TEACHER, f"{teacher_password}-new")
    token = after.api("POST", f"/users/{TEACHER}/tokens", json={"note": "after"}).json()["token"]
    assert gradebook(after, token) == book
    again = service(after, token, "GET", f"/submissions/{key}/feedback")
    assert again.status_code == 200 and again.content[:2] == b"PK"

    # the center's backup, taken from the hub container while the class runs
    compose.hub_console("backup", "/tmp/aiclass-backup")
    manifest = json.loads(docker("exec", compose.container("hub"), "sh", "-c",
                                 "cat /tmp/aiclass-backup/sets/*/manifest.json"))
    assert manifest["mode"] == "docker"
    files = list(manifest["files"])
    for database in ("service", "hub"):
        assert any(name.startswith(f"{database}.") for name in files), files
    homes = {name for name in files if name.startswith("homes/")}
    assert {f"homes/{home_volume_name(HOME_VOLUME, person)}.tar"
            for person in (RIGHT, BLANK)} <= homes, files
    # Other homes of the shared deployment (test_compose.py's student) are this run's too.
    assert all(RUN in name for name in homes), files
    assert len(manifest["blobs"]) >= 3, "the release and both submissions"
