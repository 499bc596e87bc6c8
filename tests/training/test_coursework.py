"""A cohort's course end to end, the classes' own way, against the real hub and service: the
district admin who runs the cohort releases a teacher-track course to it; the trainee (a
teacher of their own class) sees it in their own lab's 我的作业 panel and nbgrader's
list, fetches it there, answers it and submits it over the HTTP exchange; the service's
grading worker grades it in the local sandbox, the admin grades the open answer by hand,
and only then do the course's declared hours count in the trainee's year total and its
certificate open. Meanwhile the trainee still teaches (releases to their own class).

The attacks are a curious trainee's, a trainee of another cohort's, another district
admin's and a pupil's, each with their own token: listing, fetching or submitting the
cohort's course, reading the trainee's submission, releasing to the cohort, grading their
own work, and an alias of the cohort's class id.
"""

from __future__ import annotations

import io
import json
import re
import sqlite3
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import requests

from tests.hub.hubprocess import RunningHub, running_hub
from tests.org.orghub import aiclass, new_password
from tests.pages.pagesession import PagePerson, sign_in

pytestmark = pytest.mark.integration

HEADER = ("school,school_name,locality,stage,class,class_name,school_year,grade,username,"
          "display_name,role,district,district_name\n")
PEOPLE = ("demo-s1,,,,,,,,sadm-cone,周校长,学校管理员,dist-a,甲区\n"
          "demo-s2,,,,,,,,sadm-ctwo,李校长,学校管理员,dist-b,乙县\n"
          ",,,,,,,,dadm-caa,钱局长,区县管理员,dist-a,\n"
          ",,,,,,,,dadm-cbb,孙局长,区县管理员,dist-b,\n")
COURSE = "read-gradebook"
NOTEBOOK = "read_gradebook"
SOURCE = Path(__file__).resolve().parents[2] / "assignments" / "teacher" / COURSE
SERVICE = "/services/classroom/api/v1"
YEAR = datetime.now().year


@dataclass
class Member:
    """A signed-in person with an API token of their own."""

    page: PagePerson
    token: str

    @property
    def username(self) -> str:
        return self.page.username

    def api(self, method: str, path: str, **kwargs: object) -> requests.Response:
        headers = {"Authorization": f"token {self.token}", **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.page.hub.url}{SERVICE}{path}",
                                headers=headers, timeout=300, **kwargs)

    def lab(self, method: str, path: str, **kwargs: object) -> requests.Response:
        """A call to this person's own single-user server, as JupyterLab makes it."""
        browser = self.page.browser
        return browser.session.request(
            method, f"{self.page.hub.url}/user/{self.username}/{path}",
            headers={"X-XSRFToken": browser.xsrf(f"/user/{self.username}/")},
            timeout=300, allow_redirects=False, **kwargs)


@dataclass
class Coursework:
    hub: RunningHub
    admin: Member
    """dadm-caa, who runs the dist-a cohort."""
    other_admin: Member
    trainee: Member
    """The demo teacher of demo-s1 (dist-a), enrolled in the dist-a cohort."""
    fellow: Member
    """The demo teacher of demo-s2 (dist-b), a trainee of the dist-b cohort."""
    student: Member
    own_class: str
    """A class the trainee teaches."""
    mine: int
    theirs: int

    @property
    def class_id(self) -> str:
        return f"training-{self.mine}"

    def rows(self, query: str, *args: object) -> list[tuple]:
        database = self.hub.data_dir / "aiclass.sqlite"
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            return connection.execute(query, args).fetchall()


def post_form(person: Member, form_page: str, path: str, data: dict) -> requests.Response:
    return person.page.post(path, {"_xsrf": person.page.form_xsrf(form_page), **data})


def new_cohort(admin: Member, name: str) -> int:
    response = post_form(admin, "training", "training",
                         {"name": name, "track": "lead_teacher", "year": str(YEAR),
                          "course": [COURSE, "author-nbgrader-assignment"]})
    assert response.status_code == 303, response.text[-1500:]
    return int(re.search(r"training/cohorts/([0-9]+)$", response.headers["Location"]).group(1))


def enrolled(admin: Member, cohort: int, username: str) -> None:
    page = f"training/cohorts/{cohort}"
    response = post_form(admin, page, f"{page}/trainees", {"usernames": username})
    assert response.status_code == 303, response.text[-1500:]


@pytest.fixture(scope="module")
def coursework() -> Iterator[Coursework]:
    with running_hub("aiclass-i19d-coursework-", "[demo]\nstudents = 4\n") as hub:
        roster = hub.data_dir.parent / "people.csv"
        roster.write_text(HEADER + PEOPLE, encoding="utf-8")
        created = aiclass(hub, "roster", "import", roster)
        assert created.returncode == 0, created.stderr

        def member(account: dict[str, str]) -> Member:
            page = sign_in(hub, account)
            return Member(page, page.token())

        def staff(username: str) -> Member:
            return member({"username": username, "password": new_password(hub, username)})

        teachers = {a["school"]: a for a in hub.accounts if a["role"] == "teacher"}
        admin, other_admin = staff("dadm-caa"), staff("dadm-cbb")
        trainee, fellow = member(teachers["demo-s1"]), member(teachers["demo-s2"])
        mine = new_cohort(admin, "甲区骨干教师研修班")
        theirs = new_cohort(other_admin, "乙县骨干教师研修班")
        enrolled(admin, mine, trainee.username)
        enrolled(other_admin, theirs, fellow.username)
        yield Coursework(hub, admin, other_admin, trainee, fellow,
                         member(next(a for a in hub.accounts if a["role"] == "student")),
                         teachers["demo-s1"]["class"].split(";")[0], mine, theirs)


def answered(notebook: dict) -> dict:
    """The fetched notebook with the trainee's answers: the course's own solutions typed
    into its answer cells, and a reflection in its open one."""
    source = json.loads((SOURCE / f"{NOTEBOOK}.ipynb").read_text(encoding="utf-8"))
    solutions = {cell["metadata"]["nbgrader"]["grade_id"]: cell["source"]
                 for cell in source["cells"]
                 if cell["metadata"].get("nbgrader", {}).get("solution")}
    for cell in notebook["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in solutions and cell["cell_type"] == "code":
            text = "".join(solutions[grade_id])
            cell["source"] = re.sub(r"### (BEGIN|END) SOLUTION\n", "", text)
        elif grade_id in solutions:
            cell["source"] = "A* 得分率最低：下节课用纸笔模拟展开顺序；只讲匿名汇总，不公开排名。"
    return notebook


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_the_admin_releases_a_course_of_the_cohort_only(coursework: Coursework) -> None:
    """Can only the cohort's own admin release, only a course of the cohort, and does a
    refused release leave nothing behind?"""
    page = f"training/cohorts/{coursework.mine}"
    released = "SELECT count(*) FROM exchange_releases WHERE class_id = ?"
    other_course = post_form(coursework.admin, page, f"{page}/releases",
                             {"course": "lead-ai-lab"})
    assert other_course.status_code == 422 and "不是本研修班的课程" in other_course.text
    for outsider, form_page in ((coursework.trainee, "library"),
                                (coursework.other_admin, "training")):
        assert post_form(outsider, form_page, f"{page}/releases",
                         {"course": COURSE}).status_code == 403, outsider.username
    by_api = coursework.trainee.api("POST", f"/assignments/{COURSE}/releases",
                                    params={"class": coursework.class_id,
                                            "library": f"teacher/{COURSE}"})
    assert by_api.status_code == 403, "a trainee is the cohort's student, not its teacher"
    bad_due = post_form(coursework.admin, page, f"{page}/releases",
                        {"course": COURSE, "due": "<b>next friday"})
    assert bad_due.status_code == 422 and "截止时间“&lt;b&gt;next friday”" in bad_due.text
    assert coursework.rows(released, coursework.class_id) == [(0,)]

    done = post_form(coursework.admin, page, f"{page}/releases",
                     {"course": COURSE, "due": "2099-06-30T18:00"})
    assert done.status_code == 303, done.text[-1500:]
    assert coursework.rows(released, coursework.class_id) == [(1,)]
    # School time (UTC+8) is stored as UTC and shown back as school time.
    assert coursework.rows("SELECT due_at FROM exchange_releases WHERE class_id = ?",
                           coursework.class_id)[0][0].startswith("2099-06-30 10:00")
    assert (f'data-course="{COURSE}" data-released="1" data-due="2099-06-30 18:00"'
            in coursework.admin.page.get(page).text)
    as_trainee = coursework.trainee.page.get(page).text
    assert 'id="fetch-in-lab"' in as_trainee and "release-form" not in as_trainee


def test_a_trainee_fetches_submits_and_earns_the_hours(coursework: Coursework) -> None:
    """Released → fetched and submitted from the trainee's own lab → graded in the sandbox
    → the open answer graded by the admin → hours and a certificate; not before."""
    trainee, admin, class_id = coursework.trainee, coursework.admin, coursework.class_id
    trainee.page.browser.open_lab(trainee.username)
    panel = trainee.lab("GET", "aiclass/assignments")
    assert panel.status_code == 200, panel.text
    rows = [r for r in panel.json()["assignments"] if r["class_id"] == class_id]
    assert [r["assignment_id"] for r in rows] == [COURSE]
    listed = trainee.lab("GET", f"assignments?course_id={class_id}").json()
    assert [a["status"] for a in listed["value"]] == ["released"], listed

    fetched = trainee.lab("POST", f"aiclass/assignments/{class_id}/{COURSE}/fetch")
    assert fetched.status_code == 200, fetched.text
    path = f"api/contents/{rows[0]['folder']}/{NOTEBOOK}.ipynb"
    notebook = trainee.lab("GET", path).json()["content"]
    assert "BEGIN HIDDEN TESTS" not in json.dumps(notebook, ensure_ascii=False)
    saved = trainee.lab("PUT", path, json={"type": "notebook", "format": "json",
                                           "content": answered(notebook)})
    assert saved.status_code == 200, saved.text
    submitted = trainee.lab("POST", f"aiclass/assignments/{class_id}/{COURSE}/submit")
    assert submitted.status_code == 200, submitted.text

    progress = f"/classes/{class_id}/assignments/{COURSE}/grading"
    deadline = time.monotonic() + 240
    while (state := admin.api("GET", progress).json())["done"] < 1:
        assert state["failed"] == 0 and time.monotonic() < deadline, (
            state, coursework.hub.log()[-3000:])
        time.sleep(1)

    hours = trainee.page.get("training/hours").text
    assert f'data-course="{COURSE}" data-completed="no"' in hours, "the open answer is pending"
    assert 'id="year-total" data-total="0.0"' in hours
    certificate = f"training/certificates/{coursework.mine}/{COURSE}"
    assert trainee.page.get(certificate).status_code == 403

    collection = admin.api("GET", f"/classes/{class_id}/assignments/{COURSE}/collection").json()
    assert [row["student"] for row in collection["students"]] == [trainee.username]
    key = collection["students"][0]["submission"]["id"]
    grades = admin.api("GET", f"/submissions/{key}/grades").json()
    auto = [c for c in grades["cells"] if c["kind"] != "manual"]
    assert sum(c["score"] for c in auto) == sum(c["max_score"] for c in auto) == 8, grades
    cell = f"/submissions/{key}/grades/{NOTEBOOK}/reflection_action_plan"
    forged = trainee.api("PUT", cell, json={"manual_score": 4})
    assert forged.status_code == 403, "a trainee cannot grade their own work"
    assert coursework.other_admin.api("PUT", cell, json={"manual_score": 4}).status_code == 404

    cohort_page = admin.page.get(f"training/cohorts/{coursework.mine}").text
    assert f'href="/services/classroom/submissions/{key}"' in cohort_page
    for outsider in (trainee, coursework.fellow, coursework.other_admin):
        assert outsider.page.get(f"submissions/{key}").status_code == 403, outsider.username
    page = f"submissions/{key}"
    graded = admin.page.post(f"{page}/grades", {
        "_xsrf": admin.page.form_xsrf(page), "field": "manual", "notebook": NOTEBOOK,
        "grade_id": "reflection_action_plan", "value": "3", "reason": "具体可行"})
    assert graded.status_code == 302 and "error" not in graded.headers["Location"], (
        graded.headers)
    assert coursework.rows("SELECT manual_score FROM grading_cells WHERE grade_id = ?",
                           "reflection_action_plan") == [(3.0,)]

    hours = trainee.page.get("training/hours").text
    assert f'data-course="{COURSE}" data-completed="yes"' in hours
    assert 'id="year-total" data-total="2.0"' in hours, "read-gradebook declares 2 hours"
    opened = trainee.page.get(certificate)
    assert opened.status_code == 200 and 'data-code="' in opened.text
    roster = admin.page.get(f"training/cohorts/{coursework.mine}").text
    assert f'data-trainee="{trainee.username}" data-total="2.0"' in roster
    assert coursework.fellow.page.get(certificate).status_code == 403


def test_others_can_neither_see_fetch_nor_submit_it(coursework: Coursework) -> None:
    """Does the cohort's course stay out of reach of another cohort's trainee, a pupil,
    another district's admin, and an alias of its class id?"""
    class_id, mine = coursework.class_id, coursework.mine
    fetch = f"/classes/{class_id}/assignments/{COURSE}/release"
    submit = f"/classes/{class_id}/assignments/{COURSE}/submissions"
    body = zipped({f"{NOTEBOOK}.ipynb": b"{}"})
    for outsider in (coursework.fellow, coursework.student):
        listed = outsider.api("GET", "/assignments").json()["assignments"]
        assert class_id not in {a["class_id"] for a in listed}, outsider.username
        assert outsider.api("GET", fetch).status_code == 404, outsider.username
        refused = outsider.api("POST", submit, data=body,
                               headers={"Idempotency-Key": f"attack-{outsider.username}"})
        assert refused.status_code == 404, outsider.username
        assert outsider.api("GET", submit).status_code == 404, outsider.username
    trainee = coursework.trainee
    for alias in (f"training-0{mine}", f"training-{coursework.theirs}", f"training-{mine}x"):
        assert trainee.api("GET", f"/classes/{alias}/assignments/{COURSE}/release"
                           ).status_code in (403, 404), alias
    assert coursework.other_admin.api(
        "GET", f"/classes/{class_id}/assignments/{COURSE}/collection").status_code == 403
    assert trainee.api("GET", f"/classes/{class_id}/assignments/{COURSE}/collection"
                       ).status_code == 403, "a trainee sees no one else's work"
    assert trainee.api("POST", f"/classes/{class_id}/assignments/{COURSE}/regrade",
                       json={}).status_code == 403
    keys = [s["id"] for s in trainee.api("GET", submit).json()["submissions"]]
    for key in keys:
        for outsider in (coursework.fellow, coursework.student, coursework.other_admin):
            assert outsider.api("GET", f"/submissions/{key}/files").status_code == 404
    assert coursework.rows("SELECT DISTINCT username FROM exchange_submissions WHERE class_id = ?",
                           class_id) in ([], [(trainee.username,)])
    assert coursework.rows("SELECT role FROM people WHERE username = ?",
                           trainee.username) == [("teacher",)]


def test_a_trainee_still_teaches_their_own_class(coursework: Coursework) -> None:
    """Is the trainee a student of the cohort and still the teacher of their class, who
    releases to it as before?"""
    trainee = coursework.trainee
    info = trainee.api("GET", "/").json()
    assert info["student_classes"] == [coursework.class_id]
    assert coursework.own_class in info["teacher_classes"]
    assert coursework.class_id not in info["teacher_classes"]
    released = trainee.api("POST", "/assignments/knn-decision-tree/releases",
                           params={"class": coursework.own_class,
                                   "library": "junior/knn-decision-tree"})
    assert released.status_code == 201, released.text
    roles = {a["class_id"]: a["role"] for a in trainee.api("GET", "/assignments").json()[
        "assignments"]}
    assert roles[coursework.own_class] == "teacher"
    assert roles.get(coursework.class_id) in (None, "student")
    admin_info = coursework.admin.api("GET", "/").json()
    assert coursework.class_id in admin_info["teacher_classes"]
    assert f"training-{coursework.theirs}" not in admin_info["teacher_classes"]
