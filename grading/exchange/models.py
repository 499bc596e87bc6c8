"""Tables of the assignment exchange: releases, fetches, submissions, extensions, feedback.

Classes and students are referenced by their string ids (the organisation model lives
in ``hub/``, which ``grading/`` never imports). File contents are not in the database:
each row holds a manifest ``[{"path", "sha256", "size"}]`` into the content-addressed
store, so a row is only ever committed after every file it names is safely on disk.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class ExchangeBase(DeclarativeBase):
    """Declarative base of the exchange tables (created beside the organisation tables)."""


class Release(ExchangeBase):
    """One version of the student copy of an assignment, released to one class."""

    __tablename__ = "exchange_releases"
    __table_args__ = (UniqueConstraint("class_id", "assignment_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[str] = mapped_column(String(64), index=True)
    assignment_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    released_by: Mapped[str] = mapped_column(String(32))
    released_at: Mapped[datetime] = mapped_column(DateTime)
    due_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    manifest: Mapped[list] = mapped_column(JSON)
    archive_sha256: Mapped[str] = mapped_column(String(64))


class Fetch(ExchangeBase):
    """Which version a student fetched last (a re-release does not replace their copy)."""

    __tablename__ = "exchange_fetches"
    __table_args__ = (UniqueConstraint("class_id", "assignment_id", "username"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[str] = mapped_column(String(64))
    assignment_id: Mapped[str] = mapped_column(String(64))
    username: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    fetched_at: Mapped[datetime] = mapped_column(DateTime)


class Submission(ExchangeBase):
    """An immutable submission; ``key`` is its public, unguessable id."""

    __tablename__ = "exchange_submissions"
    __table_args__ = (
        UniqueConstraint("username", "idempotency_key"),
        Index("ix_exchange_submissions_student", "class_id", "assignment_id", "username"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    class_id: Mapped[str] = mapped_column(String(64))
    assignment_id: Mapped[str] = mapped_column(String(64))
    username: Mapped[str] = mapped_column(String(32))
    release_version: Mapped[int] = mapped_column(Integer)
    submitted_at: Mapped[datetime] = mapped_column(DateTime)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    manifest: Mapped[list] = mapped_column(JSON)
    total_bytes: Mapped[int] = mapped_column(Integer)
    chosen: Mapped[bool] = mapped_column(Boolean, default=False)


class Extension(ExchangeBase):
    """A per-student due date that replaces the release's, granted before or after it."""

    __tablename__ = "exchange_extensions"
    __table_args__ = (UniqueConstraint("class_id", "assignment_id", "username"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[str] = mapped_column(String(64))
    assignment_id: Mapped[str] = mapped_column(String(64))
    username: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime] = mapped_column(DateTime)
    granted_by: Mapped[str] = mapped_column(String(32))
    granted_at: Mapped[datetime] = mapped_column(DateTime)


class Feedback(ExchangeBase):
    """Feedback files for one submission; only its student (and teachers) may read them."""

    __tablename__ = "exchange_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("exchange_submissions.id"),
                                               unique=True)
    released_by: Mapped[str] = mapped_column(String(32))
    released_at: Mapped[datetime] = mapped_column(DateTime)
    manifest: Mapped[list] = mapped_column(JSON)
