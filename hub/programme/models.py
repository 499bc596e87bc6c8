"""The provincial programme's tables: applications, the school's own indicator figures and
the evidence files behind them.

A school's programme standing lives on its application row rather than on ``schools``:
the standing is granted by the region through the application (申报 → 推荐 → 批准), so
the row that says "experimental school, second phase, 2027" also says who applied, who
recommended it at what rank and who approved it. The tables share the organisation's
metadata (:class:`OrgBase`): their rows point at its schools.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hub.org.models import OrgBase


class Status(enum.StrEnum):
    """Where an application is in 申报 → 推荐 → 批准."""

    APPLIED = "applied"
    RECOMMENDED = "recommended"
    APPROVED = "approved"
    DECLINED = "declined"


class Standing(enum.StrEnum):
    """What the region made an approved school."""

    EXPERIMENTAL_SCHOOL = "experimental_school"
    DISTRICT_MEMBER = "district_member"
    """A school of an experimental district, taking part without being an experimental
    school itself."""


class Application(OrgBase):
    """One school's application to the programme, and what became of it."""

    __tablename__ = "programme_applications"
    __table_args__ = (CheckConstraint("phase IS NULL OR phase BETWEEN 1 AND 3",
                                      name="programme_phase"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[str] = mapped_column(ForeignKey("schools.id"), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(16))
    locality: Mapped[str] = mapped_column(String(16))
    foundation: Mapped[str] = mapped_column(Text)
    """The school's existing IT, maker and STEM base, in its own words."""
    has_ai_lab: Mapped[bool] = mapped_column(Boolean)
    ai_teachers: Mapped[int] = mapped_column(Integer)
    plan: Mapped[str] = mapped_column(Text)
    submitted_by: Mapped[str] = mapped_column(String(32))
    submitted_at: Mapped[datetime] = mapped_column(DateTime)
    rank: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """The district's ranking among its recommended schools (1 = first)."""
    recommendation: Mapped[str | None] = mapped_column(Text, nullable=True)
    recommended_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    recommended_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    standing: Mapped[str | None] = mapped_column(String(24), nullable=True)
    phase: Mapped[int | None] = mapped_column(Integer, nullable=True)
    year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class IndicatorEntry(OrgBase):
    """A figure the platform cannot know (lab equipment, funding), entered by the school."""

    __tablename__ = "programme_indicator_entries"
    __table_args__ = (UniqueConstraint("school_id", "indicator"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[str] = mapped_column(ForeignKey("schools.id"))
    indicator: Mapped[str] = mapped_column(String(32))
    value: Mapped[float] = mapped_column(Float)
    entered_by: Mapped[str] = mapped_column(String(32))
    entered_at: Mapped[datetime] = mapped_column(DateTime)


class Evidence(OrgBase):
    """A file a school uploaded as evidence for one indicator; the bytes are kept under
    ``<data>/programme-evidence/`` named by their SHA-256, never by the uploaded name."""

    __tablename__ = "programme_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[str] = mapped_column(ForeignKey("schools.id"), index=True)
    indicator: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by: Mapped[str] = mapped_column(String(32))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime)
