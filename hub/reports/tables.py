"""The tables reports keep of their own: server activity per user and day, report snapshots.

Created and upgraded by the service database's Alembic revisions (``hub/migrations/``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, DateTime, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class ReportsBase(DeclarativeBase):
    """Declarative base of the tables reports keep of their own."""


class ActivityDay(ReportsBase):
    """Minutes one user's server was in use on one day (UTC)."""

    __tablename__ = "report_activity_days"
    __table_args__ = (UniqueConstraint("username", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(32))
    day: Mapped[date] = mapped_column(Date, index=True)
    active_minutes: Mapped[int] = mapped_column(Integer, default=0)
    gpu_minutes: Mapped[int] = mapped_column(Integer, default=0)


class ReportSnapshot(ReportsBase):
    """One computed report, as JSON."""

    __tablename__ = "report_snapshots"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(DateTime)
    body: Mapped[dict] = mapped_column(JSON)
