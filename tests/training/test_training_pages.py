"""Teacher training against the real hub and service: a district admin makes a cohort and
enrols teachers as learners, records a live session; graded coursework and attendance
become hours, a completed course a certificate with a code the region can verify, and the
year's roster an XLSX for the credit system.

The attacks are those of a curious trainee with a browser: opening another cohort's
roster, reading a fellow trainee's hours, forging attendance or a certificate; a district
admin reaching another district's cohort; a pupil opening any of it.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

import pytest
import requests
from openpyxl import load_workbook
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from grading.exchange.models import Submission
from grading.gradebook.models import CellGrade, GradingJob
from hub.training.hours import cohort_class_id
from tests.hub.hubprocess import RunningHub, running_hub
from tests.org.orghub import aiclass, new_password
from tests.pages.pagesession import PagePerson, sign_in

pytestmark = pytest.mark.integration

HEADER = ("school,school_name,locality,stage,class,class_name,school_year,grade,username,"
          "display_name,role,district,district_name\n")
PEOPLE = ("demo-s1,,,,,,,,sadm-tone,周校长,学校管理员,dist-a,甲区\n"
          "demo-s2,,,,,,,,sadm-ttwo,李校长,学校管理员,dist-b,乙县\n"
          ",,,,,,,,dadm-taa,钱局长,区县管理员,dist-a,\n"
          ",,,,,,,,dadm-tbb,孙局长,区县管理员,dist-b,\n")
YEAR = datetime.now().year


@dataclass
class Training:
    hub: RunningHub
    district_admin: PagePerson
    other_district_admin: PagePerson
    region_admin: PagePerson
    trainee: PagePerson
    """The demo teacher of demo-s1 (district dist-a)."""
    fellow: PagePerson
    """The demo teacher of demo-s2 (district dist-b), a trainee of the other cohort."""
    student: PagePerson
    cohorts: dict[str, int]

    def rows(self, query: str, *args: object) -> list[tuple]:
        database = self.hub.data_dir / "aiclass.sqlite"
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            return connection.execute(query, args).fetchall()


def post_form(person: PagePerson, form_page: str, path: str, data: dict) -> requests.Response:
    return person.post(path, {"_xsrf": person.form_xsrf(form_page), **data})


def grade_coursework(hub: RunningHub, cohort_id: int, username: str, course: str,
                     score: float, max_score: float) -> None:
    """A trainee's submission of a course, graded, as the exchange and the grading worker
    leave it in the gradebook (the trainee's own lab is not part of this test)."""
    engine = create_engine(f"sqlite:///{hub.data_dir / 'aiclass.sqlite'}")
    now = datetime.now()
    class_id = cohort_class_id(cohort_id)
    with Session(engine) as session, session.begin():
        submission = Submission(key=f"k{cohort_id}{username}{course}"[:32], class_id=class_id,
                                assignment_id=course, username=username, release_version=1,
                                submitted_at=now, idempotency_key=f"{course}-{cohort_id}",
                                manifest=[], total_bytes=0)
        session.add(submission)
        session.flush()
        job = GradingJob(submission_id=submission.id, class_id=class_id, assignment_id=course,
                         state="done", reason="submit", requested_by=username,
                         enqueued_at=now, not_before=now, attempts=1, finished_at=now)
        session.add(job)
        session.flush()
        session.add(CellGrade(submission_id=submission.id, class_id=class_id,
                              assignment_id=course, username=username, notebook="course",
                              grade_id="all", position=0, kind="auto", max_score=max_score,
                              auto_score=score, job_id=job.id))
    engine.dispose()


@pytest.fixture(scope="module")
def training() -> Iterator[Training]:
    with running_hub("aiclass-i19a-training-", "[demo]\nstudents = 4\n") as hub:
        base = hub.data_dir.parent
        roster = base / "people.csv"
        roster.write_text(HEADER + PEOPLE, encoding="utf-8")
        created = aiclass(hub, "roster", "import", roster)
        assert created.returncode == 0, created.stderr

        def person(username: str) -> PagePerson:
            return sign_in(hub, {"username": username,
                                 "password": new_password(hub, username)})

        teachers = {a["school"]: a for a in hub.accounts if a["role"] == "teacher"}
        student = next(a for a in hub.accounts if a["role"] == "student")
        yield Training(hub, person("dadm-taa"), person("dadm-tbb"),
                       sign_in(hub, hub.account("region_admin")),
                       sign_in(hub, teachers["demo-s1"]), sign_in(hub, teachers["demo-s2"]),
                       sign_in(hub, student), {})


def created_cohort(response: requests.Response) -> int:
    assert response.status_code == 303, response.text[-1500:]
    return int(re.search(r"training/cohorts/([0-9]+)$", response.headers["Location"]).group(1))


def test_cohorts_enrolment_and_sessions_with_bad_input_refused(training: Training) -> None:
    admin, other = training.district_admin, training.other_district_admin
    trainee, fellow = training.trainee.username, training.fellow.username
    bad = post_form(admin, "training", "training",
                    {"name": "甲区骨干教师研修班", "track": "lead_teacher", "year": "明年",
                     "course": ["read-gradebook"]})
    assert bad.status_code == 422 and "年度应为四位年份" in bad.text
    unknown = post_form(admin, "training", "training",
                        {"name": "甲区", "track": "lead_teacher", "year": str(YEAR),
                         "course": ["no-such-course"]})
    assert unknown.status_code == 422 and "no-such-course" in unknown.text
    assert training.rows("SELECT count(*) FROM training_cohorts") == [(0,)]
    mine = created_cohort(post_form(
        admin, "training", "training",
        {"name": "甲区骨干教师研修班", "track": "lead_teacher", "year": str(YEAR),
         "course": ["read-gradebook", "author-nbgrader-assignment"]}))
    theirs = created_cohort(post_form(
        other, "training", "training",
        {"name": "乙县骨干教师研修班", "track": "lead_teacher", "year": str(YEAR),
         "course": ["read-gradebook"]}))
    heads = created_cohort(post_form(
        admin, "training", "training",
        {"name": "甲区校长领导力研修班", "track": "leadership", "year": str(YEAR),
         "course": ["read-gradebook"]}))
    region = created_cohort(post_form(
        training.region_admin, "training", "training",
        {"name": "全省局长领导力研修班", "track": "leadership", "year": str(YEAR),
         "course": ["lead-ai-lab"]}))
    training.cohorts.update(mine=mine, theirs=theirs, heads=heads, region=region)
    assert training.rows("SELECT district_id FROM training_cohorts ORDER BY id") == [
        ("dist-a",), ("dist-b",), ("dist-a",), (None,)]
    assert admin.get(f"training/cohorts/{region}").status_code == 403
    assert post_form(training.region_admin, f"training/cohorts/{region}",
                     f"training/cohorts/{region}/trainees",
                     {"usernames": "dadm-tbb"}).status_code == 303
    as_learner = other.get(f"training/cohorts/{region}")
    assert as_learner.status_code == 200 and 'id="enrol-form"' not in as_learner.text
    assert post_form(other, "training", f"training/cohorts/{region}/trainees",
                     {"usernames": "dadm-tbb"}).status_code == 403, "a learner there, not its admin"

    page = f"training/cohorts/{mine}"
    stranger = post_form(admin, page, f"{page}/trainees", {"usernames": f"{trainee}\n{fellow}"})
    assert stranger.status_code == 422 and "第 2 行" in stranger.text
    student = post_form(admin, page, f"{page}/trainees",
                        {"usernames": f"{trainee}\n{training.student.username}"})
    assert student.status_code == 422 and "第 2 行" in student.text
    heads_page = f"training/cohorts/{heads}"
    wrong_track = post_form(admin, heads_page, f"{heads_page}/trainees", {"usernames": trainee})
    assert wrong_track.status_code == 422 and "研修方向" in wrong_track.text
    assert training.rows("SELECT count(*) FROM training_trainees WHERE cohort_id != ?",
                         region) == [(0,)], "a refused list enrols nobody"
    assert post_form(admin, page, f"{page}/trainees",
                     {"usernames": f"{trainee}\n sadm-tone"}).status_code == 422
    enrolled = post_form(admin, page, f"{page}/trainees", {"usernames": trainee})
    assert enrolled.status_code == 303, enrolled.text[-1500:]
    assert post_form(admin, f"training/cohorts/{heads}", f"training/cohorts/{heads}/trainees",
                     {"usernames": "sadm-tone"}).status_code == 303
    assert post_form(other, f"training/cohorts/{theirs}", f"training/cohorts/{theirs}/trainees",
                     {"usernames": fellow}).status_code == 303

    forged = post_form(admin, page, f"{page}/sessions",
                       {"title": "专家讲座", "held_on": f"{YEAR}-03-02", "hours": "3",
                        "attended": [trainee, fellow]})
    assert forged.status_code == 422 and fellow in forged.text
    too_long = post_form(admin, page, f"{page}/sessions",
                         {"title": "专家讲座", "held_on": f"{YEAR}-03-02", "hours": "30",
                          "attended": [trainee]})
    assert too_long.status_code == 422 and "学时" in too_long.text
    assert training.rows("SELECT count(*) FROM training_sessions") == [(0,)]
    recorded = post_form(admin, page, f"{page}/sessions",
                         {"title": "专家讲座：人工智能课怎么上", "held_on": f"{YEAR}-03-02",
                          "hours": "3", "attended": [trainee]})
    assert recorded.status_code == 303, recorded.text[-1500:]
    roster = admin.get(page).text
    assert f'data-trainee="{trainee}" data-total="3.0"' in roster
    actions = [a for (a,) in training.rows(
        "SELECT action FROM audit_events WHERE source = 'training' ORDER BY id")]
    assert actions.count("training.cohort") == 4 and "training.attendance" in actions


def test_hours_come_from_graded_coursework_and_attendance(training: Training) -> None:
    mine, trainee = training.cohorts["mine"], training.trainee
    grade_coursework(training.hub, mine, trainee.username, "read-gradebook", 10, 12)
    grade_coursework(training.hub, mine, trainee.username, "author-nbgrader-assignment", 3, 10)
    hours = trainee.get("training/hours").text
    assert 'id="year-total" data-total="5.0"' in hours, "2 course hours + 3 session hours"
    assert 'data-course="read-gradebook" data-completed="yes"' in hours
    assert 'data-course="author-nbgrader-assignment" data-completed="no"' in hours
    assert trainee.get(f"training/hours?year={YEAR - 1}").text.count('data-total="0"') == 1

    certificate = trainee.get(f"training/certificates/{mine}/read-gradebook")
    assert certificate.status_code == 200 and "@media print" in certificate.text
    code = re.search(r'data-code="([0-9A-F]{16})"', certificate.text).group(1)
    again = trainee.get(f"training/certificates/{mine}/read-gradebook").text
    assert f'data-code="{code}"' in again, "one certificate per course, not one per opening"
    assert trainee.get(f"training/certificates/{mine}/author-nbgrader-assignment"
                       ).status_code == 403, "not completed: no certificate"
    verified = training.region_admin.get(f"training/verify?code={code}").text
    assert 'data-valid="yes"' in verified and "读懂成绩册" in verified
    assert 'data-valid="no"' in training.region_admin.get(
        "training/verify?code=0000000000000000").text

    export = training.region_admin.get(f"training/roster.xlsx?year={YEAR}")
    assert export.status_code == 200
    book = load_workbook(BytesIO(export.content))
    summary = book.worksheets[0]
    rows = {summary.cell(r, 1).value: [summary.cell(r, c).value for c in range(1, 10)]
            for r in range(2, summary.max_row + 1)}
    assert rows[trainee.username][5:9] == [2, 3, 5, 1]
    assert set(rows) == {trainee.username, training.fellow.username, "sadm-tone", "dadm-tbb"}
    detail = book.worksheets[1]
    assert [detail.cell(2, c).value for c in (1, 4)] == [trainee.username, 2]
    district = load_workbook(BytesIO(training.district_admin.get(
        f"training/roster.xlsx?year={YEAR}").content)).worksheets[0]
    names = {district.cell(r, 1).value for r in range(2, district.max_row + 1)}
    assert names == {trainee.username, "sadm-tone"}, "only the district's own cohorts"


def test_a_trainee_sees_only_their_cohort_and_their_own_hours(training: Training) -> None:
    mine, theirs = training.cohorts["mine"], training.cohorts["theirs"]
    trainee, fellow = training.trainee, training.fellow
    own = trainee.get(f"training/cohorts/{mine}")
    assert own.status_code == 200 and f'data-trainee="{trainee.username}"' in own.text
    assert 'id="enrol-form"' not in own.text and 'id="session-form"' not in own.text
    index = trainee.get("training").text
    assert f'data-cohort="{mine}"' in index and f'data-cohort="{theirs}"' not in index
    for path in (f"training/cohorts/{theirs}", f"training/cohorts/{training.cohorts['heads']}",
                 "training/cohorts/999999", f"training/roster.xlsx?year={YEAR}"):
        assert trainee.get(path).status_code == 403, path
    other_cohort = fellow.get(f"training/cohorts/{theirs}").text
    assert trainee.username not in other_cohort
    assert fellow.get(f"training/cohorts/{mine}").status_code == 403
    assert fellow.get(f"training/certificates/{mine}/read-gradebook").status_code == 403
    assert 'id="year-total" data-total="0.0"' in fellow.get("training/hours").text

    for path in (f"training/cohorts/{mine}/sessions", f"training/cohorts/{theirs}/sessions"):
        forged = post_form(trainee, "library", path,
                           {"title": "自学", "held_on": f"{YEAR}-04-01", "hours": "8",
                            "attended": [trainee.username]})
        assert forged.status_code == 403, path
    assert post_form(trainee, "library", f"training/cohorts/{mine}/trainees",
                     {"usernames": fellow.username}).status_code == 403
    assert post_form(trainee, "library", "training",
                     {"name": "我的班", "track": "general", "year": str(YEAR),
                      "course": ["read-gradebook"]}).status_code == 403
    outsider = training.other_district_admin
    assert outsider.get(f"training/cohorts/{mine}").status_code == 403
    assert post_form(outsider, f"training/cohorts/{theirs}", f"training/cohorts/{mine}/sessions",
                     {"title": "x", "held_on": f"{YEAR}-04-01", "hours": "2",
                      "attended": [trainee.username]}).status_code == 403
    assert training.rows("SELECT count(*) FROM training_sessions") == [(1,)]
    assert training.rows("SELECT role FROM people WHERE username = ?",
                         trainee.username) == [("teacher",)], "a trainee still teaches"
    home = trainee.get("").text
    assert "demo-s1-" in home and 'href="/services/classroom/training"' in home


def test_a_student_opens_none_of_it(training: Training) -> None:
    student, mine = training.student, training.cohorts["mine"]
    for path in ("training", f"training/cohorts/{mine}", "training/hours",
                 f"training/certificates/{mine}/read-gradebook", "training/verify?code=AB",
                 f"training/roster.xlsx?year={YEAR}"):
        assert student.get(path).status_code == 403, path
