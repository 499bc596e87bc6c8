"""The reports library on data whose figures are known, and on a generated region."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from grading.exchange.models import Extension, Release, Submission
from grading.gradebook.models import CellGrade, GradingJob
from hub.db import ServiceDatabase
from hub.org.models import Enrollment, Person, Region, Role, School, SchoolClass
from hub.reports.activity import active_servers, record_sample
from hub.reports.export import region_workbook
from hub.reports.figures import ReportPolicy
from hub.reports.region import class_figures, region_report, school_reports
from hub.reports.scores import counted_fractions, submission_scores
from hub.reports.snapshot import refresh_region, stored_region
from hub.reports.tables import ActivityDay
from tests.pages.generated_region import TERM_START, generate_region

POLICY = ReportPolicy(term_start=TERM_START, periods_per_year=8, period_minutes=45,
                      pass_fraction=0.6, gpu_hours_per_school=10.0)


@pytest.fixture
def session(tmp_path) -> Iterator[Session]:
    database = ServiceDatabase(f"sqlite:///{tmp_path / 'reports.sqlite'}")
    with database.session() as session:
        yield session


def small_region(session: Session) -> None:
    """Two schools; class c1 has three students, two releases, one extension, one teacher."""
    session.add(Region(id="r", name="测试区"))
    session.add_all([School(id="u", region_id="r", name="城区学校", locality="urban",
                            stage="senior"),
                     School(id="v", region_id="r", name="乡村学校", locality="rural",
                            stage="junior")])
    session.flush()
    session.add_all([SchoolClass(id="c1", school_id="u", name="高一1班",
                                 school_year="2026-2027", grade=10),
                     SchoolClass(id="c2", school_id="v", name="初二1班",
                                 school_year="2026-2027", grade=8),
                     SchoolClass(id="old", school_id="u", name="去年班",
                                 school_year="2025-2026", grade=10)])
    session.flush()
    for name, role, school in (("t1", Role.TEACHER, "u"), ("t2", Role.TEACHER, "u"),
                               ("a", Role.STUDENT, "u"), ("b", Role.STUDENT, "u"),
                               ("c", Role.STUDENT, "u"), ("d", Role.STUDENT, "v")):
        session.add(Person(username=name, display_name=name, role=role, school_id=school))
    session.flush()
    for class_id, name, role in (("c1", "t1", Role.TEACHER), ("c1", "a", Role.STUDENT),
                                 ("c1", "b", Role.STUDENT), ("c1", "c", Role.STUDENT),
                                 ("c2", "d", Role.STUDENT), ("old", "a", Role.STUDENT)):
        session.add(Enrollment(class_id=class_id, username=name, role=role))
    due = datetime(2026, 9, 10, 12)
    for assignment_id, version, released_at in (("p1", 1, datetime(2026, 9, 3)),
                                                ("p1", 2, datetime(2026, 9, 4)),
                                                ("p2", 1, datetime(2026, 9, 5))):
        session.add(Release(class_id="c1", assignment_id=assignment_id, version=version,
                            released_by="t1", released_at=released_at, due_at=due,
                            manifest=[], archive_sha256="0" * 64))
    session.add(Release(class_id="c1", assignment_id="last-year", version=1, released_by="t1",
                        released_at=datetime(2026, 3, 1), due_at=None, manifest=[],
                        archive_sha256="0" * 64))
    late = due + timedelta(hours=3)
    for index, (name, assignment_id, moment) in enumerate((
            ("a", "p1", due - timedelta(days=1)), ("a", "p1", late),  # latest counts: late
            ("b", "p1", late),  # late, but b has an extension
            ("c", "p2", due - timedelta(hours=1)))):
        session.add(Submission(key=f"{index:032x}", class_id="c1", assignment_id=assignment_id,
                               username=name, release_version=1, submitted_at=moment,
                               idempotency_key=f"k{index:08d}", manifest=[], total_bytes=1))
    session.add(Extension(class_id="c1", assignment_id="p1", username="b",
                          due_at=due + timedelta(days=1), granted_by="t1",
                          granted_at=datetime(2026, 9, 9)))
    session.add_all([
        ActivityDay(username="a", day=date(2026, 9, 3), active_minutes=90, gpu_minutes=60),
        ActivityDay(username="a", day=date(2026, 9, 10), active_minutes=45, gpu_minutes=0),
        ActivityDay(username="b", day=date(2026, 9, 3), active_minutes=45, gpu_minutes=0),
        ActivityDay(username="b", day=date(2026, 8, 1), active_minutes=900, gpu_minutes=0),
    ])
    session.flush()


SCORES = {("c1", "p1", "a"): 0.5, ("c1", "p1", "b"): 0.6, ("c1", "p2", "c"): 1.0}


def test_class_figures_count_this_term_only(session: Session) -> None:
    small_region(session)
    figures = class_figures(session, {"c1": "高一1班", "c2": "初二1班"}, POLICY, SCORES)
    c1 = figures["c1"]
    assert (c1.students, c1.teachers, c1.active_students) == (3, 1, 2)
    assert c1.active_minutes == 180  # the summer day before the term does not count
    assert c1.class_hours_per_student(POLICY) == pytest.approx(180 / 45 / 3)
    assert c1.benchmark_ratio(POLICY) == pytest.approx((180 / 45 / 3) / 4)
    assert c1.gpu_hours == pytest.approx(1.0)
    assert c1.assignments == 2  # p1 counted once (its newest version), last year's not at all
    assert c1.expected == 6
    assert c1.submitted == 3  # a/p1, b/p1, c/p2
    assert c1.on_time == 2  # a's latest is late; b is within the extension; c on time
    assert c1.submission_rate == pytest.approx(0.5)
    assert c1.on_time_rate == pytest.approx(2 / 3)
    assert (c1.graded, c1.passed) == (3, 2)
    assert c1.teachers_releasing == 1
    c2 = figures["c2"]
    assert (c2.students, c2.assignments, c2.active_students) == (1, 0, 0)
    assert c2.submission_rate is None and c2.pass_rate is None


def test_school_and_region_add_up(session: Session) -> None:
    small_region(session)
    schools = {r.school.key: r for r in school_reports(session, None, POLICY, SCORES)}
    urban = schools["u"]
    assert [c.key for c in urban.classes] == ["c1"]  # last year's class is history
    assert urban.school.teachers == 2 and urban.school.teachers_releasing == 1
    assert urban.school.releasing_rate == pytest.approx(0.5)
    assert urban.school.gpu_use_rate == pytest.approx(0.1)
    report = region_report(session, "测试区", POLICY, SCORES, date(2026, 9, 20))
    assert report.region.students == 4
    assert report.by_locality["urban"].students == 3
    assert report.by_locality["rural"].students == 1
    assert report.by_stage["junior"].students == 1
    assert report.by_stage["primary"].students == 0
    assert [w.week_start for w in report.weeks] == [date(2026, 8, 31), date(2026, 9, 7),
                                                     date(2026, 9, 14)]
    assert [w.active_minutes for w in report.weeks] == [135, 45, 0]
    assert [w.submissions for w in report.weeks] == [0, 4, 0]
    assert report.weeks[0].minutes_by_locality == {"urban": 135, "rural": 0}


def test_activity_samples_add_minutes_per_user_and_day(session: Session) -> None:
    now = datetime.fromisoformat("2026-09-03T10:00:00+00:00")
    users = [
        {"name": "a", "servers": {"": {"ready": True, "last_activity": "2026-09-03T09:58:00Z",
                                       "user_options": {"profile": "gpu"}}}},
        {"name": "b", "servers": {"": {"ready": True, "last_activity": "2026-09-03T08:00:00Z"}}},
        {"name": "c", "servers": {"": {"ready": False, "last_activity": "2026-09-03T09:59:00Z"}}},
        {"name": "d", "servers": {}},
    ]
    active = active_servers(users, now - timedelta(minutes=5))
    assert active == {"a": True}
    assert record_sample(session, active, now, 5) == 1
    record_sample(session, {"a": False, "b": False}, now + timedelta(minutes=5), 5)
    rows = {r.username: r for r in session.query(ActivityDay)}
    assert (rows["a"].active_minutes, rows["a"].gpu_minutes) == (10, 5)
    assert (rows["b"].active_minutes, rows["b"].gpu_minutes) == (5, 0)


def test_generated_region_report_and_workbook(session: Session) -> None:
    region = generate_region(session, students=400, class_size=20, classes_per_school=5,
                             assignments=3, activity_days=4)
    report = region_report(session, "生成区", POLICY, region.scores, date(2026, 11, 20))
    assert report.region.students == 400
    assert len(report.schools) == 4
    assert sum(s.school.submitted for s in report.schools) == report.region.submitted
    assert report.region.submitted == len(region.scores)
    assert 0.75 < report.region.submission_rate < 0.95
    assert report.region.graded == len(region.scores)
    assert report.region.active_minutes == sum(w.active_minutes for w in report.weeks)
    workbook = load_workbook(BytesIO(region_workbook(report)))
    assert workbook.sheetnames == ["学校 Schools", "班级 Classes", "对比 Comparison",
                                   "每周 Weekly"]
    schools = list(workbook["学校 Schools"].iter_rows(values_only=True))
    assert schools[0][0] == "学校代码 School id"
    assert [row[0] for row in schools[1:]] == [s.school.key for s in report.schools]
    classes = list(workbook["班级 Classes"].iter_rows(values_only=True))
    assert len(classes) == 1 + 20


def test_snapshot_round_trip_keeps_every_figure(session: Session) -> None:
    small_region(session)
    assert stored_region(session, POLICY) is None
    computed = refresh_region(session, "测试区", POLICY, date(2026, 9, 20))
    stored, computed_at = stored_region(session, POLICY)
    assert computed_at is not None
    assert stored.region == computed.region
    assert [s.classes for s in stored.schools] == [s.classes for s in computed.schools]
    assert stored.by_locality == computed.by_locality
    assert stored.weeks == computed.weeks


def test_scores_come_from_the_counted_fully_graded_submission(session: Session) -> None:
    small_region(session)
    submissions = {s.key: s for s in session.query(Submission)}
    first_a, late_a, b, c = (submissions[f"{i:032x}"] for i in range(4))
    now = datetime(2026, 9, 11)
    job = GradingJob(submission_id=first_a.id, class_id="c1", assignment_id="p1",
                     state="done", reason="submit", requested_by="t1", enqueued_at=now,
                     not_before=now)
    session.add(job)
    session.flush()

    def cell(submission: Submission, grade_id: str, auto: float | None, top: float,
             kind: str = "auto", override: float | None = None) -> None:
        session.add(CellGrade(submission_id=submission.id, class_id="c1",
                              assignment_id=submission.assignment_id,
                              username=submission.username, notebook="nb", grade_id=grade_id,
                              position=0, kind=kind, max_score=top, auto_score=auto,
                              override_score=override, job_id=job.id))

    cell(first_a, "q1", 2, 2)
    cell(late_a, "q1", 1, 2, override=0)
    cell(late_a, "q2", 1, 2)
    cell(b, "q1", 2, 2)
    cell(b, "essay", None, 3, kind="manual")  # waiting for the teacher: not graded yet
    cell(c, "q1", 3, 4)
    session.flush()
    scores = submission_scores(session, [first_a.id, late_a.id, b.id])
    assert (scores[late_a.id].score, scores[late_a.id].max_score) == (1.0, 4.0)
    assert scores[b.id].pending == 1 and scores[b.id].fraction is None
    fractions = counted_fractions(session, ["c1"])
    assert fractions == {("c1", "p1", "a"): 0.25, ("c1", "p2", "c"): 0.75}
    first_a.chosen = True
    session.flush()
    assert counted_fractions(session, ["c1"])[("c1", "p1", "a")] == 1.0
