"""A cohort as a class of the exchange: who is in it, and which course its admin may release.

A cohort's coursework goes the classes' own way, under the cohort's class id
(:func:`hub.training.class_ids.cohort_class_id`): released to it, fetched and submitted from
the trainee's own lab through the exchange API, graded by the same workers into the same
gradebook, from which :mod:`hub.training.hours` reads the hours. Only membership is the
cohort's own: the classroom service's access check (:mod:`hub.service.access`) asks here
for a cohort's class id instead of reading ``enrollments``. Its students are its trainees;
its teachers are the admins who run it (:func:`hub.training.cohorts.runs`), so a district
admin is one for their district's cohorts and for no other district's. Enrolling a trainee
is a training row, never a school class's enrolment: their teacher role, their own classes
and the hub's groups stay as they were.

Someone who both runs a cohort and is its trainee (a district head in their own district's
leadership cohort) is its teacher there: an exchange class has one role per person, and the
admin's is the one the cohort cannot do without.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from grading.exchange.counted import counted_submission_ids
from grading.exchange.models import Submission
from hub.library import Assignment
from hub.org.models import Person, Role
from hub.programme.workflow import FormProblem
from hub.training.class_ids import cohort_class_id
from hub.training.cohorts import RUNS_TRAINING, cohorts_query, run_cohort, runs
from hub.training.hours import teacher_courses
from hub.training.models import Cohort, CohortCourse, Trainee


def cohort_role(session: Session, cohort_id: int, username: str) -> Role | None:
    """``username``'s role in the cohort's class: teacher if they run it, student if they
    are its trainee, else ``None`` (also for a cohort that does not exist)."""
    cohort = session.get(Cohort, cohort_id)
    person = session.get(Person, username)
    if cohort is None or person is None:
        return None
    if runs(person, cohort):
        return Role.TEACHER
    enrolled = session.scalar(select(Trainee.id).where(Trainee.cohort_id == cohort_id,
                                                       Trainee.username == username))
    return Role.STUDENT if enrolled is not None else None


def cohort_classes(session: Session, username: str, role: Role) -> list[str]:
    """The class ids of the cohorts where ``username`` has ``role`` (as :func:`cohort_role`
    answers), sorted by cohort. Asked on every assignment list of every pupil, so a pupil
    costs one indexed read for each role and nothing more."""
    if role == Role.STUDENT:
        learning = list(session.scalars(
            select(Cohort).join(Trainee, Trainee.cohort_id == Cohort.id)
            .where(Trainee.username == username).order_by(Cohort.id)))
        if not learning:
            return []
        person = session.get(Person, username)
        return [cohort_class_id(c.id) for c in learning if not runs(person, c)]
    if role != Role.TEACHER:
        return []
    person = session.get(Person, username)
    if person is None or person.role not in RUNS_TRAINING:
        return []
    return [cohort_class_id(c.id) for c in session.scalars(
        cohorts_query(person).order_by(Cohort.id)) if runs(person, c)]


def cohort_students(session: Session, cohort_id: int) -> list[str]:
    """The usernames of the cohort's trainees who are its students (not those who run it),
    sorted."""
    cohort = session.get(Cohort, cohort_id)
    if cohort is None:
        return []
    people = session.scalars(select(Person).join(Trainee, Trainee.username == Person.username)
                             .where(Trainee.cohort_id == cohort_id)
                             .order_by(Person.username))
    return [p.username for p in people if not runs(p, cohort)]


def course_to_release(session: Session, admin: Person, cohort_id: int,
                      course_id: str) -> Assignment:
    """The teacher-track course ``admin`` may release to the cohort: one of the cohort's own
    courses, the only ones whose hours count. :class:`hub.programme.scope.OutOfScope` unless
    ``admin`` runs the cohort; :class:`FormProblem` for any other course."""
    run_cohort(session, admin, cohort_id)
    taken = set(session.scalars(select(CohortCourse.assignment_id)
                                .where(CohortCourse.cohort_id == cohort_id)))
    course = teacher_courses().get(course_id)
    if course is None or course_id not in taken:
        raise FormProblem("course", f"“{course_id}”不是本研修班的课程",
                          f"“{course_id}” is not a course of this cohort")
    return course


def counted_keys(session: Session, cohort_id: int) -> dict[tuple[str, str], str]:
    """(trainee, course) → the key of the submission that counts (the one whose grade gives
    the hours), for the cohort page's links to the submission page, where its admin grades
    open answers as a teacher does."""
    class_id = cohort_class_id(cohort_id)
    return {(username, course): key for username, course, key in session.execute(
        select(Submission.username, Submission.assignment_id, Submission.key)
        .where(Submission.id.in_(counted_submission_ids(Submission.class_id == class_id))))}
