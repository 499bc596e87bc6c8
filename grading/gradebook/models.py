"""Tables of the central gradebook: grading sources, jobs, per-cell grades and their audit trail.

They live on :class:`ExchangeBase` so that grades reference the exchange's immutable
``Submission`` rows by foreign key and are created with the exchange tables (by the
service database's Alembic revisions). A grade row keeps the three scores apart (what the
autograder gave, what a teacher gave by hand, a teacher's override) so that a regrade
never erases a teacher's work; every change a person makes is a :class:`GradeChange`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from grading.exchange.models import ExchangeBase


class GradingSource(ExchangeBase):
    """The instructor version (hidden tests included) behind one released version.

    Stored when the release is made, so a worker can grade any submission against
    exactly the version its student fetched. Only workers read it.
    """

    __tablename__ = "grading_sources"
    __table_args__ = (UniqueConstraint("class_id", "assignment_id", "release_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[str] = mapped_column(String(64))
    assignment_id: Mapped[str] = mapped_column(String(64))
    release_version: Mapped[int] = mapped_column(Integer)
    manifest: Mapped[list] = mapped_column(JSON)
    #: "submit": grade as soon as a student submits; "due": when the student's due date passes.
    grade_on: Mapped[str] = mapped_column(String(8), default="submit")


class GradingJob(ExchangeBase):
    """One grading of one submission; a worker holds it under a lease while it grades."""

    __tablename__ = "grading_jobs"
    __table_args__ = (Index("ix_grading_jobs_claim", "state", "not_before"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("exchange_submissions.id"), index=True)
    class_id: Mapped[str] = mapped_column(String(64))
    assignment_id: Mapped[str] = mapped_column(String(64))
    #: queued | running | done | failed
    state: Mapped[str] = mapped_column(String(8), default="queued")
    reason: Mapped[str] = mapped_column(String(8))  # submit | due | regrade
    requested_by: Mapped[str] = mapped_column(String(32))
    enqueued_at: Mapped[datetime] = mapped_column(DateTime)
    not_before: Mapped[datetime] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    #: When its grading last ended: done, failed, or pre-empted (then queued again).
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class NotebookGrade(ExchangeBase):
    """What grading found for one notebook of a submission: flags and the executed copy."""

    __tablename__ = "grading_notebooks"
    __table_args__ = (UniqueConstraint("submission_id", "notebook"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("exchange_submissions.id"))
    notebook: Mapped[str] = mapped_column(String(128))
    job_id: Mapped[int] = mapped_column(ForeignKey("grading_jobs.id"))
    flags: Mapped[list] = mapped_column(JSON)
    #: The executed notebook (hidden tests included) in the content store, for feedback.
    executed_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    graded_at: Mapped[datetime] = mapped_column(DateTime)


class CellGrade(ExchangeBase):
    """One graded cell of one submission: auto, manual and override scores, and a comment."""

    __tablename__ = "grading_cells"
    __table_args__ = (
        UniqueConstraint("submission_id", "notebook", "grade_id"),
        Index("ix_grading_cells_class", "class_id", "assignment_id", "username"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("exchange_submissions.id"))
    class_id: Mapped[str] = mapped_column(String(64))
    assignment_id: Mapped[str] = mapped_column(String(64))
    username: Mapped[str] = mapped_column(String(32))
    notebook: Mapped[str] = mapped_column(String(128))
    grade_id: Mapped[str] = mapped_column(String(128))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(8))  # auto | manual | task (results.KINDS)
    max_score: Mapped[float] = mapped_column(Float)
    auto_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    manual_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    override_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    job_id: Mapped[int] = mapped_column(ForeignKey("grading_jobs.id"))

    @property
    def score(self) -> float | None:
        """The score that counts: an override, else the teacher's, else the autograder's."""
        for value in (self.override_score, self.manual_score, self.auto_score):
            if value is not None:
                return value
        return None


class LostPoints(ExchangeBase):
    """Why the autograder gave one cell less than its points, as of its latest grading.

    ``reason`` is :class:`~grading.autograde.results.CellResult`'s (the error's type and
    message, "not executed", the flags that voided a run). A table of its own rather than
    a column of :class:`CellGrade`: when it was added these tables were made by
    ``create_all``, which adds a new table to a center's database but never a column.
    """

    __tablename__ = "grading_lost_points"
    __table_args__ = (UniqueConstraint("submission_id", "notebook", "grade_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("exchange_submissions.id"))
    notebook: Mapped[str] = mapped_column(String(128))
    grade_id: Mapped[str] = mapped_column(String(128))
    reason: Mapped[dict] = mapped_column(JSON)
    job_id: Mapped[int] = mapped_column(ForeignKey("grading_jobs.id"))


class GradeChange(ExchangeBase):
    """The audit trail: who changed which score or comment of which cell, when, from what."""

    __tablename__ = "grading_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    cell_id: Mapped[int] = mapped_column(ForeignKey("grading_cells.id"), index=True)
    field: Mapped[str] = mapped_column(String(16))  # auto | manual | override | comment
    old_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    new_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    changed_by: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[datetime] = mapped_column(DateTime)
    reason: Mapped[str] = mapped_column(Text, default="")
