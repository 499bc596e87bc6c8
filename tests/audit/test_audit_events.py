"""The audit trail against a real hub and service: each event where it happens, the search
page's scope attacked through its URL, and no real name anywhere in the trail.

One hub for the module (demo region, three failed sign-ins lock an account). A school
admin is made the way a center makes one: a region admin's roster upload, then
``aiclass roster reset-password``. A graded submission is written into the hub's own
service database as a grading worker writes it (the sandboxed grading itself is tested
elsewhere); viewing and changing its grades goes through the real pages.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import sessionmaker

from grading.exchange.content_store import BLOBS_IN_DATA_DIR, ContentStore
from grading.exchange.models import Submission
from hub.audit.search import EVERY_SCHOOL, AuditQuery, AuditRow, search
from hub.db import ServiceDatabase
from hub.org.models import Enrollment, Person, Role, SchoolClass
from hub.service.pages.audit_texts import AUDIT_TEXTS
from hub.service.pages.timefmt import SCHOOL_TIME
from tests.gradebook.conftest import CLASS, Service
from tests.gradebook.conftest import ps1_release as ps1_release  # noqa: F401 (a fixture)
from tests.gradebook.test_gradebook import graded
from tests.hub.hubprocess import (
    AICLASS,
    Browser,
    RunningHub,
    running_hub,
)
from tests.pages.pagesession import NEW_PASSWORD, PagePerson, sign_in

pytestmark = pytest.mark.integration

MAX_FAILED = 3
SCHOOL_ADMIN = "sadm-aud1a"
NEW_STUDENT = "stu-aud1b"
NEW_CLASS = "demo-s1-g11c8"
GRADED_STUDENT = "stu-aud1c"
ROSTER = ("学校代码,学校名称,城乡,学段,班级代码,班级名称,学年,年级,用户名,姓名,角色\n"
          f"demo-s1,示范区第一中学,城市,高中,,,,,{SCHOOL_ADMIN},欧阳校管,学校管理员\n"
          f"demo-s1,示范区第一中学,城市,高中,{NEW_CLASS},高二（8）班,2026-2027,11,"
          f"{NEW_STUDENT},司徒新生,学生\n")


@dataclass
class Classroom:
    hub: RunningHub
    database: ServiceDatabase

    def rows(self, **filters: str) -> list[AuditRow]:
        """Every row matching ``filters`` (an :class:`AuditQuery`'s), newest first."""
        with self.database.session() as session:
            return list(search(session, AuditQuery(EVERY_SCHOOL, **filters), limit=None))


@pytest.fixture(scope="module")
def classroom() -> Iterator[Classroom]:
    with running_hub("aiclass-audit-i20a-", f"[auth]\nmax_failed_logins = {MAX_FAILED}\n"
                                            "[demo]\nstudents = 6\n") as hub:
        database = ServiceDatabase(f"sqlite:///{hub.data_dir / 'aiclass.sqlite'}")
        try:
            yield Classroom(hub, database)
        finally:
            database.engine.dispose()


@pytest.fixture(scope="module")
def region_admin(classroom: Classroom) -> PagePerson:
    return sign_in(classroom.hub, classroom.hub.account("region_admin"))


@dataclass
class Imported:
    """The school admin the region admin's roster made, and what the trail said meanwhile."""

    person: PagePerson
    imports_after_dry_run: int
    reset_output: str


@pytest.fixture(scope="module")
def school_admin(classroom: Classroom, region_admin: PagePerson) -> Imported:
    def post(data: dict, files: dict | None = None) -> str:
        xsrf = region_admin.form_xsrf("roster")
        response = region_admin.post("roster", {"_xsrf": xsrf, **data}, params={"_xsrf": xsrf},
                                     files=files)
        assert response.status_code == 200, response.text[-2000:]
        return response.text

    checked = post({"action": "dry_run"},
                   {"roster": ("roster.csv", ROSTER.encode("utf-8"))})
    dry_run_imports = len(classroom.rows(action="roster.import"))
    token = re.search(r'name="upload" value="([^"]+)"', checked).group(1)
    post({"action": "apply", "upload": token})
    reset = subprocess.run([AICLASS, "roster", "reset-password", SCHOOL_ADMIN, "--data",
                            str(classroom.hub.data_dir)], capture_output=True, text=True,
                           timeout=120, check=True)
    password = reset.stdout.rsplit(":", 1)[1].strip()
    account = {"username": SCHOOL_ADMIN, "password": password}
    return Imported(sign_in(classroom.hub, account), dry_run_imports, reset.stdout)


def test_sign_ins_that_succeed_fail_and_lock_are_recorded(classroom: Classroom) -> None:
    hub = classroom.hub
    account = hub.own_account("audit-sign-in-ok")
    sign_in(hub, account)
    (ok,) = classroom.rows(action="sign_in.ok", person=account["username"])
    assert ok.actor == ok.subject == account["username"]
    assert ok.school == account["school"] and ok.source == "127.0.0.1"

    victim = hub.own_account("audit-sign-in-locked")
    guesser = Browser(hub)
    for _ in range(MAX_FAILED):
        assert guesser.login(victim["username"], "wrong-guess").status == 403
    assert guesser.login(victim["username"], victim["password"], NEW_PASSWORD).status == 403
    rows = list(reversed(classroom.rows(person=victim["username"])))
    assert [(row.action, row.detail["reason"]) for row in rows] == [
        ("sign_in.failed", "wrong_password"), ("sign_in.failed", "wrong_password"),
        ("sign_in.locked", "locked_now"), ("sign_in.failed", "locked")]
    assert {(row.actor, row.subject, row.school, row.source) for row in rows} == {
        ("", victim["username"], victim["school"], "127.0.0.1")}

    guesser.login("王小明", "a-real-name-typed-as-username")
    unknown = classroom.rows(action="sign_in.failed")[0]
    assert unknown.subject == "" and unknown.detail == {"reason": "unknown_user"}


def test_a_roster_import_and_each_person_it_made_are_recorded(
        classroom: Classroom, region_admin: PagePerson, school_admin: Imported) -> None:
    assert school_admin.imports_after_dry_run == 0  # the rolled-back dry run left no row
    (imported,) = classroom.rows(action="roster.import")
    assert imported.actor == region_admin.username and imported.source == "127.0.0.1"
    (applied_file,) = imported.detail["files"]  # the checked upload that was applied
    assert re.fullmatch(r"[0-9a-f]{32}\.csv", applied_file)
    assert imported.detail["people_created"] == 2
    created = {row.subject: row for row in classroom.rows(action="person.created")}
    assert set(created) == {SCHOOL_ADMIN, NEW_STUDENT}
    assert created[NEW_STUDENT].school == "demo-s1"
    assert created[NEW_STUDENT].class_id == NEW_CLASS
    assert created[SCHOOL_ADMIN].detail == {"role": "school_admin"}
    (joined,) = classroom.rows(action="person.changed", person=NEW_STUDENT)
    assert joined.detail == {"joined": NEW_CLASS, "as": "student"}


def test_a_password_reset_at_the_console_is_recorded(
        classroom: Classroom, school_admin: Imported) -> None:
    (reset,) = classroom.rows(action="password.reset", person=SCHOOL_ADMIN)
    assert reset.actor == "" and reset.source == "console" and reset.school == "demo-s1"


@pytest.fixture(scope="module")
def graded_submission(classroom: Classroom, ps1_release: dict[str, bytes]  # noqa: F811
                      ) -> tuple[PagePerson, Submission]:
    """A graded ps1 submission in a class of demo-s1 that the demo's first teacher teaches."""
    hub = classroom.hub
    teacher = hub.account("teacher", 0)
    with classroom.database.session() as session:
        session.add(SchoolClass(id=CLASS, school_id="demo-s1", name="高一（7）班",
                                school_year="2026-2027", grade=10))
        session.add(Person(username=GRADED_STUDENT, display_name="诸葛评分",
                           role=Role.STUDENT, school_id="demo-s1"))
        session.flush()
        session.add(Enrollment(class_id=CLASS, username=teacher["username"], role=Role.TEACHER))
        session.add(Enrollment(class_id=CLASS, username=GRADED_STUDENT, role=Role.STUDENT))
    url = f"sqlite:///{hub.data_dir / 'aiclass.sqlite'}"
    service = Service(url, ContentStore(hub.data_dir / BLOBS_IN_DATA_DIR),
                      sessionmaker(classroom.database.engine, expire_on_commit=False),
                      ps1_release)
    service.release()
    submission = graded(service, GRADED_STUDENT, {"correct_squares": 2.0,
                                                  "growth_answer": None})
    return sign_in(hub, teacher), submission


def test_grade_views_changes_feedback_and_exports_are_recorded(
        classroom: Classroom, graded_submission: tuple[PagePerson, Submission]) -> None:
    teacher, submission = graded_submission
    assert teacher.get(f"classes/{CLASS}/gradebook").status_code == 200
    (book,) = classroom.rows(action="grades.viewed", class_id=CLASS, person=teacher.username)
    assert book.detail == {"page": "gradebook"} and book.subject == ""
    assert book.school == "demo-s1" and book.source == "127.0.0.1"

    page = f"submissions/{submission.key}"
    assert teacher.get(page).status_code == 200
    viewed = classroom.rows(action="grades.viewed", person=GRADED_STUDENT)
    assert [(row.actor, row.detail["submission"]) for row in viewed] == [
        (teacher.username, submission.key)]

    xsrf = teacher.form_xsrf(page)
    change = {"_xsrf": xsrf, "field": "override", "notebook": "problem1",
              "grade_id": "correct_squares", "value": "1", "reason": "抄袭 / copied"}
    for _ in range(2):  # the second post changes nothing, so it is not a change
        assert teacher.post(f"{page}/grades", change).status_code == 302
    (changed,) = classroom.rows(action="grade.changed")
    assert changed.actor == teacher.username and changed.subject == GRADED_STUDENT
    assert changed.detail == {"submission": submission.key, "assignment": "ps1",
                              "notebook": "problem1", "grade_id": "correct_squares",
                              "field": "override"}
    assert changed.class_id == CLASS and changed.school == "demo-s1"

    assert teacher.post(f"{page}/feedback", {"_xsrf": xsrf}).status_code == 302
    (feedback,) = classroom.rows(action="feedback.released", person=GRADED_STUDENT)
    assert feedback.detail["graded"] is True

    stamp = datetime.now().strftime("%Y%m%d")
    for names in ("1", ""):
        response = teacher.get(f"classes/{CLASS}/gradebook.xlsx", params={"names": names})
        assert response.status_code == 200
    exports = [row.detail for row in reversed(classroom.rows(action="export.made"))]
    assert exports == [{"file": f"gradebook-{CLASS}-{stamp}.xlsx", "names": True},
                       {"file": f"gradebook-{CLASS}-{stamp}.xlsx", "names": False}]


def test_a_school_admin_sees_only_their_school_whatever_the_url_says(
        classroom: Classroom, region_admin: PagePerson, school_admin: Imported) -> None:
    other_teacher = classroom.hub.account("teacher", 1)
    assert other_teacher["school"] == "demo-s2"
    sign_in(classroom.hub, other_teacher)  # a demo-s2 row: its sign-in
    admin = school_admin.person
    for query in ("", "?school=demo-s2", "?school=", f"?person={other_teacher['username']}",
                  "?school=demo-s2&action=sign_in.ok", "?school=%25"):
        page = admin.get(f"audit{query}")
        assert page.status_code == 200, query
        assert AUDIT_TEXTS["zh_CN"]["scope_school"] in page.text
        schools = set(re.findall(r'data-school="([^"]*)"', page.text))
        assert schools <= {"demo-s1"}, (query, schools)
        shown = page.text.partition('id="audit-rows"')[2]  # the form repeats the filter
        assert other_teacher["username"] not in shown, query
    assert 'data-school="demo-s1"' in admin.get("audit").text
    assert 'id="audit-none"' in admin.get(f"audit?person={other_teacher['username']}").text

    workbook = load_workbook(BytesIO(admin.get("audit.xlsx?school=demo-s2").content))
    schools = {row[5] for row in workbook.active.iter_rows(min_row=2, values_only=True)}
    assert schools == {"demo-s1"}
    (exported,) = classroom.rows(action="audit.exported", person=SCHOOL_ADMIN)
    assert exported.school == "demo-s1"
    assert exported.detail["filters"] == {"school": "demo-s2"}

    region = region_admin.get("audit?school=demo-s2")
    assert set(re.findall(r'data-school="([^"]*)"', region.text)) == {"demo-s2"}
    assert other_teacher["username"] in region.text
    assert 'data-school=""' in region_admin.get("audit").text  # region-wide rows too


def test_bad_filters_are_refused_in_both_languages(region_admin: PagePerson) -> None:
    page = region_admin.get("audit?since=2026-13-40")
    assert page.status_code == 400 and "YYYY-MM-DD" in page.text and "日期格式" in page.text
    assert region_admin.get("audit?action=grade.deleted").status_code == 400
    assert region_admin.get("audit.xlsx?until=yesterday").status_code == 400
    today = datetime.now(SCHOOL_TIME).date().isoformat()  # the page's days are school days
    assert 'id="audit-rows"' in region_admin.get(f"audit?since={today}&until={today}").text
    assert 'id="audit-none"' in region_admin.get("audit?until=2020-01-01").text


def test_students_and_teachers_cannot_open_the_trail(
        classroom: Classroom, graded_submission: tuple[PagePerson, Submission]) -> None:
    teacher, _submission = graded_submission
    student = sign_in(classroom.hub, classroom.hub.own_account("audit-student-403"))
    for person in (teacher, student):
        for path in ("audit", "audit.xlsx", "audit?school=demo-s1"):
            assert person.get(path).status_code == 403, (person.username, path)


def test_no_real_name_and_no_username_is_in_any_chained_row(
        classroom: Classroom, school_admin: Imported,
        graded_submission: tuple[PagePerson, Submission]) -> None:
    """Runs last: by now the trail has sign-ins, an import, a reset, grades and exports."""
    with sqlite3.connect(classroom.hub.data_dir / "aiclass.sqlite") as db:
        people = db.execute("SELECT username, display_name FROM people").fetchall()
        chained = db.execute("SELECT actor_ref, action, subject_ref, school, class_id, "
                             "source, detail FROM audit_events").fetchall()
        mapped = db.execute("SELECT username FROM audit_people").fetchall()
    assert len(chained) > 20
    text = "\n".join("\t".join(row) for row in chained)
    names = {name for _username, name in people}
    assert "司徒新生" in names and "诸葛评分" in names
    assert [name for name in names if name in text] == []
    assert [username for username, _name in people if username in text] == []
    assert {username for (username,) in mapped} <= {username for username, _name in people}
