"""Resetting a student's password: who may do it, and the fresh initial password it gives.

A teacher may reset the passwords of the students of the classes they teach (in the
students' current school year), a school admin those of their school's students, a
region admin anyone's. Nobody resets a teacher's or an admin's password through a
teacher: that goes through the school or region admin.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit.trail import record
from hub.org.credentials import set_initial_password
from hub.org.directory import current_enrollments
from hub.org.models import Enrollment, Person, Role


class ResetRefused(PermissionError):
    """The person asking may not reset this password; the message is bilingual."""


def may_reset(session: Session, username: str, by: str) -> bool:
    """Whether ``by`` may reset ``username``'s password."""
    actor = session.get(Person, by)
    target = session.get(Person, username)
    if actor is None or target is None:
        return False
    if actor.role == Role.REGION_ADMIN:
        return True
    if target.role != Role.STUDENT:
        return actor.role == Role.SCHOOL_ADMIN and target.role == Role.TEACHER and (
            target.school_id == actor.school_id)
    current = [(class_id, school_id) for class_id, school_id, student
               in current_enrollments(session) if student == username]
    if actor.role == Role.SCHOOL_ADMIN:
        return any(school_id == actor.school_id for _class_id, school_id in current)
    if actor.role == Role.TEACHER:
        taught = set(session.scalars(select(Enrollment.class_id).where(
            Enrollment.username == by, Enrollment.role == Role.TEACHER)))
        return any(class_id in taught for class_id, _school_id in current)
    return False


def reset_password(session: Session, username: str, by: str | None, *,
                   source: str = "") -> str:
    """Give ``username`` a new initial password on ``by``'s behalf (``None``: the operator).

    The reset is on the audit trail (``source``: where it was asked from); a refused one
    changes nothing and is not.
    """
    person = session.get(Person, username)
    if person is None:
        raise ResetRefused(f"没有这个用户 / no such user: {username}")
    if by is not None and not may_reset(session, username, by):
        raise ResetRefused(f"{by} 无权重置 {username} 的密码 / {by} may not reset the "
                           f"password of {username}")
    password = set_initial_password(session, username)
    record(session, actor=by or "", action="password.reset", subject=username,
           school=person.school_id or "", source=source)
    return password
