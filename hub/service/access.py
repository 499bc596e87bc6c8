"""Who may do what in the exchange, answered from the organisation model.

Courses are classes: the teachers enrolled in a class release to it, collect from it
and return feedback to its students; its students fetch from it and submit to it.
The caller's identity comes from their JupyterHub token, never from the request.

A training cohort is a class too, under its own class id (``training-<id>``): who is in it
comes from the training tables (:mod:`hub.training.coursework`: its trainees are its
students, the admins who run it its teachers), so a trainee fetches and submits a course
as a pupil does and keeps teaching their own classes. Every question below answers for
both, so no handler of the exchange or the gradebook API has a branch of its own for
cohorts.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from hub.org.models import Enrollment, Role
from hub.training.class_ids import cohort_of_class
from hub.training.coursework import cohort_classes, cohort_role, cohort_students

_ROLE_IN = select(Enrollment.role).where(Enrollment.class_id == bindparam("class_id"),
                                         Enrollment.username == bindparam("username"))
"""Built once: every exchange request asks it, and SQLAlchemy takes several times longer
to build and look up a statement than SQLite takes to answer it."""


def classes_as(session: Session, username: str, role: Role) -> list[str]:
    """The ids of the classes ``username`` is enrolled in with ``role``, then of the
    cohorts where they have it."""
    return list(session.scalars(
        select(Enrollment.class_id)
        .where(Enrollment.username == username, Enrollment.role == role)
        .order_by(Enrollment.class_id)
    )) + cohort_classes(session, username, role)


def enrolled_as(session: Session, class_id: str, username: str, role: Role) -> bool:
    """Whether ``username`` is in ``class_id`` with ``role``."""
    return role_in(session, class_id, username) == role


def role_in(session: Session, class_id: str, username: str) -> str | None:
    """How ``username`` is enrolled in ``class_id`` (student or teacher), if at all."""
    cohort_id = cohort_of_class(class_id)
    if cohort_id is not None:
        return cohort_role(session, cohort_id, username)
    return session.connection().execute(
        _ROLE_IN, {"class_id": class_id, "username": username}).scalar()


def students_of(session: Session, class_id: str) -> list[str]:
    """The usernames of a class's (or a cohort's) students, sorted."""
    cohort_id = cohort_of_class(class_id)
    if cohort_id is not None:
        return cohort_students(session, cohort_id)
    return list(session.scalars(
        select(Enrollment.username)
        .where(Enrollment.class_id == class_id, Enrollment.role == Role.STUDENT)
        .order_by(Enrollment.username)
    ))
