"""Training hours (学时) from real activity: graded coursework and attended live sessions.

Nothing here is typed in as a total. A course counts once the trainee's submission that
counts (:mod:`grading.exchange.counted`) is fully graded at :data:`PASS_FRACTION` of the
points or more, and then for the hours the course declares in its ``assignment.toml``; a
live session counts for the hours recorded with it if the trainee's attendance was
recorded. A cohort's coursework lives in the exchange under its class id
(:func:`hub.training.class_ids.cohort_class_id`), beside the classes' own, released,
submitted and graded through their path (:mod:`hub.training.coursework`). Hours are
credited to the cohort's year: the continuing-education system credits a year's training
programme, and a cohort is one year's programme.

Every figure of a page or export comes from one call of :func:`cohort_hours`, a fixed
number of queries whatever the cohorts' size (40 cohorts of 50 trainees: see
``benchmarks/bench_training.py``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.library import DEFAULT_ROOT, Assignment, load_library
from hub.org.models import Person
from hub.reports.scores import counted_fractions
from hub.training.class_ids import cohort_class_id
from hub.training.models import Attendance, Cohort, CohortCourse, LiveSession, Trainee

PASS_FRACTION = 0.6
"""The share of a course's points that completes it (及格), as in the schools' own marking."""


@lru_cache(maxsize=1)
def teacher_courses() -> dict[str, Assignment]:
    """The library's teacher-track courses by id (read once: the library ships with the code)."""
    return {a.id: a for a in load_library(DEFAULT_ROOT) if a.grade_band == "teacher"}


@dataclass(frozen=True)
class CourseResult:
    """One course of a trainee's cohort: its hours and how far the trainee got."""

    course: Assignment
    fraction: float | None
    """The share of the points of the counted, fully graded submission; ``None`` before."""

    @property
    def completed(self) -> bool:
        return self.fraction is not None and self.fraction >= PASS_FRACTION

    @property
    def hours(self) -> float:
        return self.course.hours if self.completed else 0.0


@dataclass(frozen=True)
class Learner:
    """Who a trainee is, as the pages and the roster name them (read as plain columns: ORM
    objects for 2,000 people were half of the year's export)."""

    username: str
    display_name: str
    school_id: str | None


@dataclass
class TraineeHours:
    """One trainee in one cohort: courses, live sessions attended, and the totals (each
    computed once: the year's roster reads them several times for 2,000 trainees)."""

    cohort: Cohort
    person: Learner
    courses: list[CourseResult] = field(default_factory=list)
    attended: list[LiveSession] = field(default_factory=list)

    @cached_property
    def course_hours(self) -> float:
        return sum(c.hours for c in self.courses)

    @cached_property
    def session_hours(self) -> float:
        return sum(s.hours for s in self.attended)

    @cached_property
    def total(self) -> float:
        return self.course_hours + self.session_hours

    @cached_property
    def completed(self) -> list[CourseResult]:
        return [c for c in self.courses if c.completed]


def cohort_hours(session: Session, cohorts: Collection[Cohort],
                 usernames: Collection[str] | None = None) -> list[TraineeHours]:
    """Each trainee of ``cohorts`` (only ``usernames`` when given) with their hours, ordered
    by cohort then username. The rows are detached-safe: plain objects read in ``session``."""
    by_id = {c.id: c for c in cohorts}
    if not by_id:
        return []
    library = teacher_courses()
    courses: dict[int, list[Assignment]] = defaultdict(list)
    for cohort_id, assignment_id in session.execute(
            select(CohortCourse.cohort_id, CohortCourse.assignment_id)
            .where(CohortCourse.cohort_id.in_(list(by_id))).order_by(CohortCourse.id)):
        if assignment_id in library:
            courses[cohort_id].append(library[assignment_id])
    members = select(Trainee.cohort_id, Person.username, Person.display_name, Person.school_id) \
        .join(Person, Person.username == Trainee.username) \
        .where(Trainee.cohort_id.in_(list(by_id)))
    if usernames is not None:
        members = members.where(Trainee.username.in_(list(usernames)))
    rows = [(cohort_id, Learner(*person)) for cohort_id, *person in
            session.execute(members.order_by(Trainee.cohort_id, Trainee.username))]
    people = {person.username for _cohort_id, person in rows}
    sessions = {s.id: s for s in session.scalars(
        select(LiveSession).where(LiveSession.cohort_id.in_(list(by_id)))
        .order_by(LiveSession.held_on, LiveSession.id))}
    attended: dict[tuple[int, str], list[LiveSession]] = defaultdict(list)
    if sessions and people:
        for session_id, username in session.execute(
                select(Attendance.session_id, Attendance.username)
                .where(Attendance.session_id.in_(list(sessions)))
                .order_by(Attendance.session_id)):
            live = sessions[session_id]
            attended[(live.cohort_id, username)].append(live)
    fractions = counted_fractions(session, [cohort_class_id(i) for i in by_id])
    return [TraineeHours(
        by_id[cohort_id], person,
        [CourseResult(course, fractions.get((cohort_class_id(cohort_id), course.id,
                                             person.username)))
         for course in courses[cohort_id]],
        sorted(attended[(cohort_id, person.username)], key=lambda s: (s.held_on, s.id)))
        for cohort_id, person in rows]


@dataclass
class YearTotal:
    """A teacher's training in one year, over all their cohorts (the credit system's row)."""

    person: Learner
    cohorts: list[TraineeHours] = field(default_factory=list)

    @cached_property
    def course_hours(self) -> float:
        return sum(c.course_hours for c in self.cohorts)

    @cached_property
    def session_hours(self) -> float:
        return sum(c.session_hours for c in self.cohorts)

    @cached_property
    def total(self) -> float:
        return self.course_hours + self.session_hours


def year_totals(rows: list[TraineeHours]) -> list[YearTotal]:
    """``rows`` (of one year's cohorts) gathered per teacher, ordered by username."""
    totals: dict[str, YearTotal] = {}
    for row in rows:
        totals.setdefault(row.person.username, YearTotal(row.person)).cohorts.append(row)
    return [totals[name] for name in sorted(totals)]
