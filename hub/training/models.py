"""Teacher training's tables: cohorts with their track and courses, trainees, live sessions
with their attendance, and the certificates issued for completed courses.

A teacher enrolled in a cohort is a *learner* there and still a teacher everywhere else:
membership is its own row, never a change of ``people.role``, so their classes, pages and
hub roles stay as they were. Hours are not stored per trainee; they are computed from what
happened (graded coursework, attendance), so a forged total has nowhere to live. The tables
share the organisation's metadata (:class:`OrgBase`): their rows point at its people.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, DateTime, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.org.models import OrgBase


class Track(enum.StrEnum):
    """Who a cohort trains: heads (局长、校长领导力), lead teachers (骨干教师), or anyone."""

    LEADERSHIP = "leadership"
    LEAD_TEACHER = "lead_teacher"
    GENERAL = "general"


class Cohort(OrgBase):
    """A training cohort (研修班) of one year; a district's admin runs those of their district,
    the region's admin any."""

    __tablename__ = "training_cohorts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    track: Mapped[str] = mapped_column(String(16))
    year: Mapped[int] = mapped_column(Integer)
    district_id: Mapped[str | None] = mapped_column(ForeignKey("districts.id"), nullable=True)
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class CohortCourse(OrgBase):
    """A teacher-track course of the library that the cohort takes."""

    __tablename__ = "training_courses"
    __table_args__ = (UniqueConstraint("cohort_id", "assignment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("training_cohorts.id"))
    assignment_id: Mapped[str] = mapped_column(String(64))


class Trainee(OrgBase):
    """A teacher (or head) enrolled in a cohort as a learner."""

    __tablename__ = "training_trainees"
    __table_args__ = (UniqueConstraint("cohort_id", "username"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("training_cohorts.id"))
    username: Mapped[str] = mapped_column(ForeignKey("people.username"), index=True)
    enrolled_by: Mapped[str] = mapped_column(String(32))
    enrolled_at: Mapped[datetime] = mapped_column(DateTime)


class LiveSession(OrgBase):
    """A live session of a cohort (讲座、工作坊) and the hours it is worth."""

    __tablename__ = "training_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("training_cohorts.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    held_on: Mapped[date] = mapped_column(Date)
    hours: Mapped[float] = mapped_column(Float)
    recorded_by: Mapped[str] = mapped_column(String(32))
    recorded_at: Mapped[datetime] = mapped_column(DateTime)


class Attendance(OrgBase):
    """A trainee who attended a live session, as the admin recorded it."""

    __tablename__ = "training_attendance"
    __table_args__ = (UniqueConstraint("session_id", "username"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("training_sessions.id"))
    username: Mapped[str] = mapped_column(ForeignKey("people.username"), index=True)


class Certificate(OrgBase):
    """The certificate of one completed course, issued the first time it is opened; its
    unguessable ``code`` lets the continuing-education office check a printed copy."""

    __tablename__ = "training_certificates"
    __table_args__ = (UniqueConstraint("cohort_id", "username", "assignment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("training_cohorts.id"))
    username: Mapped[str] = mapped_column(ForeignKey("people.username"))
    assignment_id: Mapped[str] = mapped_column(String(64))
    hours: Mapped[float] = mapped_column(Float)
    issued_at: Mapped[datetime] = mapped_column(DateTime)
