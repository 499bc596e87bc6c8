"""The hours rule on a real service database: which coursework counts, at what score, and
attendance only where it was recorded (no hub: the rule, not the pages)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from grading.exchange.models import Submission
from grading.gradebook.models import CellGrade, GradingJob
from hub.db import ServiceDatabase
from hub.org.models import Person, Region, School
from hub.training.hours import cohort_class_id, cohort_hours, year_totals
from hub.training.models import Attendance, Cohort, CohortCourse, LiveSession, Trainee

NOW = datetime(2026, 5, 1, 9, 0)


@pytest.fixture
def database(tmp_path: Path) -> ServiceDatabase:
    database = ServiceDatabase(f"sqlite:///{tmp_path / 'aiclass.sqlite'}")
    with database.session() as session:
        session.add(Region(id="r", name="区"))
        session.add(School(id="s", region_id="r", name="一中"))
        session.flush()
        session.add_all(Person(username=f"t{i}", display_name=f"老师{i}", role="teacher",
                               school_id="s") for i in range(4))
        for cohort_id, year in ((1, 2026), (2, 2026)):
            session.add(Cohort(id=cohort_id, name=f"班{cohort_id}", track="general", year=year,
                               created_by="adm", created_at=NOW))
            session.flush()
            session.add_all(CohortCourse(cohort_id=cohort_id, assignment_id=course)
                            for course in ("read-gradebook", "lead-ai-lab"))
        session.flush()
        session.add_all(Trainee(cohort_id=1, username=f"t{i}", enrolled_by="adm",
                                enrolled_at=NOW) for i in range(4))
        session.add(Trainee(cohort_id=2, username="t0", enrolled_by="adm", enrolled_at=NOW))
        session.add(LiveSession(id=1, cohort_id=1, title="讲座", held_on=date(2026, 3, 1),
                                hours=3.0, recorded_by="adm", recorded_at=NOW))
        session.flush()
        session.add(Attendance(session_id=1, username="t1"))
    return database


def submit(database: ServiceDatabase, cohort_id: int, username: str, course: str,
           scores: list[float | None], *, later: int = 0, chosen: bool = False) -> None:
    class_id = cohort_class_id(cohort_id)
    with database.session() as session:
        submission = Submission(key=f"{cohort_id}{username}{course}{later}", class_id=class_id,
                                assignment_id=course, username=username, release_version=1,
                                submitted_at=NOW + timedelta(minutes=later),
                                idempotency_key=f"{course}{later}{cohort_id}", manifest=[],
                                total_bytes=0, chosen=chosen)
        session.add(submission)
        session.flush()
        job = GradingJob(submission_id=submission.id, class_id=class_id, assignment_id=course,
                         state="done", reason="submit", requested_by=username, enqueued_at=NOW,
                         not_before=NOW)
        session.add(job)
        session.flush()
        session.add_all(CellGrade(submission_id=submission.id, class_id=class_id,
                                  assignment_id=course, username=username, notebook="n",
                                  grade_id=f"c{i}", position=i, kind="auto", max_score=5.0,
                                  auto_score=score, job_id=job.id)
                        for i, score in enumerate(scores))


def hours(database: ServiceDatabase) -> dict[tuple[int, str], tuple[float, float, list[str]]]:
    with database.session() as session:
        rows = cohort_hours(session, list(session.query(Cohort)))
        return {(r.cohort.id, r.person.username): (r.course_hours, r.session_hours,
                                                   [c.course.id for c in r.completed])
                for r in rows}


def test_which_coursework_counts(database: ServiceDatabase) -> None:
    """60% of the points completes a course; 59% does not; a cell still waiting for its
    teacher keeps it open; the teacher's chosen submission counts over a later one; another
    cohort's coursework stays in that cohort."""
    submit(database, 1, "t0", "read-gradebook", [3.0, 3.0])          # 60%
    submit(database, 1, "t1", "read-gradebook", [3.0, 2.9])          # 59%
    submit(database, 1, "t2", "read-gradebook", [5.0, None])         # pending
    submit(database, 1, "t3", "lead-ai-lab", [5.0, 5.0], chosen=True)
    submit(database, 1, "t3", "lead-ai-lab", [0.0, 0.0], later=5)
    submit(database, 2, "t1", "lead-ai-lab", [5.0, 5.0])             # t1 is not in cohort 2
    found = hours(database)
    assert found[(1, "t0")] == (2.0, 0.0, ["read-gradebook"])
    assert found[(1, "t1")] == (0.0, 3.0, []), "59% is not a pass; attendance counts"
    assert found[(1, "t2")] == (0.0, 0.0, [])
    assert found[(1, "t3")] == (3.0, 0.0, ["lead-ai-lab"]), "the chosen submission counts"
    assert (2, "t1") not in found and found[(2, "t0")] == (0.0, 0.0, [])
    with database.session() as session:
        totals = {t.person.username: t.total for t in year_totals(
            cohort_hours(session, list(session.query(Cohort))))}
    assert totals == {"t0": 2.0, "t1": 3.0, "t2": 0.0, "t3": 3.0}
