"""Pages on known data, against the real hub and service: the gradebook's charts per
assignment, and the school admin's report of their own school (and nothing else).

The demo region (15 students: five in each of its three classes) gets releases,
submissions, grades and activity written straight into the service database before
any report is opened, so the school page computes its snapshot from exactly this data.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from grading.exchange.models import Extension, Release, Submission
from grading.gradebook.models import CellGrade, GradingJob
from hub.db import ServiceDatabase
from hub.org.credentials import set_initial_password
from hub.org.models import Enrollment, Person, Role
from hub.reports.class_gradebook import BANDS
from hub.reports.columns import FIGURE_COLUMNS
from hub.reports.tables import ActivityDay
from hub.service.pages.texts import TEXTS
from tests.hub.hubprocess import RunningHub, running_hub
from tests.pages.pagesession import PagePerson, sign_in

pytestmark = pytest.mark.integration

ZH = TEXTS["zh_CN"]
CLASS = "demo-s1-g10c1"  # the first teacher's; demo-s1-g10c2 stays without data
OTHER_SCHOOL_CLASS = "demo-s2-g8c1"
DUE_A1 = datetime(2026, 9, 12, 12)
DUE_A2 = datetime(2026, 9, 27, 12)

#: Per assignment and student (index in the class, by username): the submissions in
#: the order they came, each as (submitted at, q1 points of 4, q2 points of 6).
SUBMISSIONS = {
    "a1": {0: [(DUE_A1 - timedelta(days=2), 4, 6)],                 # 100%
           1: [(DUE_A1 - timedelta(days=2), 4, 5.5)],               # 95%
           2: [(DUE_A1 - timedelta(days=3), 4, 6),                  # 100%, but then
               (DUE_A1 - timedelta(days=1), 2, 0)],                 # 20% counts (latest)
           3: [(DUE_A1 + timedelta(days=1), 0, 6)]},                # 60%, late
    "a2": {0: [(DUE_A2 + timedelta(hours=2), 2, 0)],                # 20%, late
           1: [(DUE_A2 - timedelta(days=1), 2, 3)],                 # 50%
           2: [(DUE_A2 - timedelta(days=1), 4, 6)],                 # 100%
           3: [(DUE_A2 - timedelta(days=1), 0, 6)],                 # 60%
           4: [(DUE_A2 + timedelta(days=1), 0, 0)]},                # 0%, within extension
}


@dataclass
class Region:
    hub: RunningHub
    teacher: PagePerson
    other_teacher: PagePerson
    school_admin: PagePerson
    region_admin: PagePerson
    students: list[str]


def write_known_data(database: ServiceDatabase, teacher: str
                     ) -> tuple[list[str], dict[str, str]]:
    """The releases, submissions, grades and activity above; and a school admin of demo-s1."""
    with database.session() as session:
        students = list(session.scalars(
            select(Enrollment.username).where(Enrollment.class_id == CLASS,
                                              Enrollment.role == Role.STUDENT)
            .order_by(Enrollment.username)))
        assert len(students) == 5
        for assignment_id, released_at, due in (("a1", datetime(2026, 9, 5), DUE_A1),
                                                ("a2", datetime(2026, 9, 20), DUE_A2)):
            session.add(Release(class_id=CLASS, assignment_id=assignment_id, version=1,
                                released_by=teacher, released_at=released_at, due_at=due,
                                manifest=[], archive_sha256="0" * 64))
        session.add(Extension(class_id=CLASS, assignment_id="a2", username=students[4],
                              due_at=DUE_A2 + timedelta(days=3), granted_by=teacher,
                              granted_at=datetime(2026, 9, 26)))
        number = 0
        for assignment_id, by_student in SUBMISSIONS.items():
            for index, submitted in by_student.items():
                for moment, q1, q2 in submitted:
                    number += 1
                    submission = Submission(
                        key=f"{number:032x}", class_id=CLASS, assignment_id=assignment_id,
                        username=students[index], release_version=1, submitted_at=moment,
                        idempotency_key=f"known-{number}", manifest=[], total_bytes=1)
                    session.add(submission)
                    session.flush()
                    job = GradingJob(submission_id=submission.id, class_id=CLASS,
                                     assignment_id=assignment_id, state="done",
                                     reason="submit", requested_by=students[index],
                                     enqueued_at=moment, not_before=moment)
                    session.add(job)
                    session.flush()
                    for position, (grade_id, points, top) in enumerate((("q1", q1, 4),
                                                                        ("q2", q2, 6))):
                        session.add(CellGrade(
                            submission_id=submission.id, class_id=CLASS,
                            assignment_id=assignment_id, username=students[index],
                            notebook="nb.ipynb", grade_id=grade_id, position=position,
                            kind="auto", max_score=top, auto_score=points, job_id=job.id))
        session.add_all([  # two active students this term; the summer does not count
            ActivityDay(username=students[0], day=date(2026, 9, 3), active_minutes=90,
                        gpu_minutes=0),
            ActivityDay(username=students[1], day=date(2026, 9, 10), active_minutes=45,
                        gpu_minutes=0),
            ActivityDay(username=students[2], day=date(2026, 8, 1), active_minutes=900,
                        gpu_minutes=0)])
        session.add(Person(username="sadm-known", display_name="校管理员", role=Role.SCHOOL_ADMIN,
                           school_id="demo-s1"))
        session.flush()
        password = set_initial_password(session, "sadm-known")
    return students, {"username": "sadm-known", "password": password}


@pytest.fixture(scope="module")
def region() -> Iterator[Region]:
    with running_hub("aiclass-pages-known-", "[demo]\nstudents = 15\n") as hub:
        database = ServiceDatabase(f"sqlite:///{hub.data_dir / 'aiclass.sqlite'}")
        teachers = [a for a in hub.accounts if a["role"] == "teacher"]
        assert CLASS in teachers[0]["class"].split(";")
        students, admin_account = write_known_data(database, teachers[0]["username"])
        yield Region(hub, sign_in(hub, teachers[0]), sign_in(hub, teachers[1]),
                     sign_in(hub, admin_account), sign_in(hub, hub.account("region_admin")),
                     students)


def chart_data(page: str, element_id: str) -> dict:
    match = re.search(rf"id=\"{element_id}\"[^>]*data-by-assignment='([^']*)'", page)
    assert match, f"no {element_id} on the page"
    return json.loads(html.unescape(match.group(1)))


def test_score_distribution_is_per_assignment(region: Region) -> None:
    response = region.teacher.get(f"classes/{CLASS}/gradebook")
    assert response.status_code == 200, response.text[-2000:]
    page = response.text
    distributions = chart_data(page, "distribution-chart")
    assert list(distributions) == ["a1", "a2"]
    assert [label for label, _count in distributions["a1"]] == list(BANDS)
    a1 = dict(distributions["a1"])
    # 100%, 95%, 20% (the latest of two submissions), 60%; the fifth student submitted none
    assert a1 == {**dict.fromkeys(BANDS, 0), "20–30%": 1, "60–70%": 1, "90–100%": 2}
    a2 = dict(distributions["a2"])
    assert a2 == {**dict.fromkeys(BANDS, 0), "0–10%": 1, "20–30%": 1, "50–60%": 1,
                  "60–70%": 1, "90–100%": 1}
    # per student over both assignments it would be 60%, 73%, 60%, 60% and 0%
    assert sum(a1.values()) == 4 and sum(a2.values()) == 5
    # the charts open on the newest assignment, and the selector offers both
    assert re.search(r'<option value="a2" selected>a2</option>', page)
    assert '<option value="a1">a1</option>' in page
    assert ZH["chart_assignment"] in page
    english = region.teacher.get(f"classes/{CLASS}/gradebook?lang=en").text
    assert TEXTS["en"]["score_distribution"] in english
    assert TEXTS["en"]["chart_assignment"] in english
    region.teacher.get(f"classes/{CLASS}/gradebook?lang=zh_CN")


def test_question_difficulty_names_its_assignment(region: Region) -> None:
    page = region.teacher.get(f"classes/{CLASS}/gradebook").text
    questions = chart_data(page, "questions-chart")
    assert questions == {
        "a1": [["nb.ipynb/q1", round((1 + 1 + 0.5 + 0) / 4, 3)],
               ["nb.ipynb/q2", round((1 + 5.5 / 6 + 0 + 1) / 4, 3)]],
        "a2": [["nb.ipynb/q1", round((0.5 + 0.5 + 1 + 0 + 0) / 5, 3)],
               ["nb.ipynb/q2", round((0 + 0.5 + 1 + 1 + 0) / 5, 3)]],
    }


def report_cells(page: str) -> dict[str, dict[str, str]]:
    """The report table: row key (``total`` for the last row) → column key → shown value."""
    rows = {}
    body = page[page.index('id="report-rows"'):]
    for match in re.finditer(r'<tr (?:data-key="([^"]+)"|class="total")>(.*?)</tr>', body,
                             re.S):
        values = [html.unescape(v).strip() for v in re.findall(r"<td>(.*?)</td>", match[2])]
        assert len(values) == len(FIGURE_COLUMNS), match[0]
        rows[match[1] or "total"] = {c.key: v for c, v in zip(FIGURE_COLUMNS, values,
                                                               strict=True)}
    return rows


def test_school_admin_sees_own_school_per_class(region: Region) -> None:
    response = region.school_admin.get("schools/demo-s1")
    assert response.status_code == 200, response.text[-2000:]
    assert "示范区第一中学" in response.text and ZH["school_report"] in response.text
    rows = report_cells(response.text)
    assert set(rows) == {CLASS, "demo-s1-g10c2", "total"}
    known = rows[CLASS]
    assert known["students"] == "5"
    assert known["active_rate"] == "40%"          # 2 of 5 active this term
    assert known["class_hours"] == "0.6"          # 135 minutes / 45 / 5 students
    assert known["assignments"] == "2"
    assert known["submission_rate"] == "90%"      # 9 of 5 × 2
    assert known["on_time_rate"] == "78%"         # 7 of 9: one late each; one extended
    assert known["pass_rate"] == "56%"            # 5 of 9 at 60% or more
    assert known["teachers_releasing"] == "1/1"
    empty = rows["demo-s1-g10c2"]
    assert (empty["students"], empty["active_rate"], empty["assignments"]) == ("5", "0%", "0")
    assert empty["submission_rate"] == empty["on_time_rate"] == empty["pass_rate"] == "—"
    total = rows["total"]
    assert (total["students"], total["active_rate"], total["class_hours"]) == ("10", "20%",
                                                                               "0.3")
    assert (total["assignments"], total["submission_rate"], total["on_time_rate"],
            total["pass_rate"]) == ("2", "90%", "78%", "56%")
    assert "demo-s2-g8c1" not in response.text
    # the school's classes open from the report, read-only; other schools' do not
    assert region.school_admin.get(f"classes/{CLASS}/gradebook").status_code == 200
    assert region.school_admin.get(f"classes/{OTHER_SCHOOL_CLASS}").status_code == 403


def test_school_admin_cannot_open_other_schools_or_the_region(region: Region) -> None:
    for path in ("schools/demo-s2", "schools/no-such-school", "region", "region.xlsx"):
        response = region.school_admin.get(path)
        assert response.status_code == 403, path
        assert ZH["admins_only"] in response.text, path
    # the region admin does see the other school, so the refusal is about who asks
    assert region.region_admin.get("schools/demo-s2").status_code == 200


def test_teachers_cannot_open_the_school_page(region: Region) -> None:
    for teacher, school in ((region.teacher, "demo-s1"), (region.other_teacher, "demo-s2"),
                            (region.teacher, "demo-s2")):
        response = teacher.get(f"schools/{school}")
        assert response.status_code == 403, school
        assert ZH["admins_only"] in response.text
