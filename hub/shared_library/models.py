"""The shared library's tables: items, their versions, who used them, and ratings.

Review is per version, not per item: an approved lesson stays visible at its approved
version while its author's next version waits for the curator, and a release names the
version it used, so a class's grades always belong to the notebooks it really got.
The files of a version are blobs named by SHA-256 (a manifest in the row), so two
versions that share a data file store it once. The tables share the organisation's
metadata (:class:`OrgBase`): items belong to its schools.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hub.org.models import OrgBase


class Shelf(enum.StrEnum):
    """Which library an item is published to: who may see it once approved."""

    SCHOOL = "school"
    REGION = "region"


class Review(enum.StrEnum):
    """Where a version is in 提交 → 审核."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class SharedItem(OrgBase):
    """One shared lesson and what a search filters it by."""

    __tablename__ = "shared_items"
    __table_args__ = (CheckConstraint("periods BETWEEN 1 AND 20", name="shared_periods"),
                      Index("ix_shared_items_filters", "stage", "topic", "standard"))

    id: Mapped[int] = mapped_column(primary_key=True)
    author: Mapped[str] = mapped_column(String(32), index=True)
    school_id: Mapped[str | None] = mapped_column(ForeignKey("schools.id"), nullable=True)
    """The author's school; none for an item imported by the region from another center."""
    shelf: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(120))
    stage: Mapped[str] = mapped_column(String(16))
    grades: Mapped[str] = mapped_column(String(40))
    """Comma-separated grade numbers, e.g. ``"7,8"``; searched with a LIKE on ``,7,``."""
    topic: Mapped[str] = mapped_column(String(64))
    periods: Mapped[int] = mapped_column(Integer)
    standard: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text, default="")
    approved_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """The newest approved version (what others see and release); none until approved."""
    created_at: Mapped[datetime] = mapped_column(DateTime)


class SharedVersion(OrgBase):
    """One publication of an item: its files and its review."""

    __tablename__ = "shared_versions"
    __table_args__ = (UniqueConstraint("item_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("shared_items.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    files: Mapped[list] = mapped_column(JSON)
    """``[{"path", "sha256", "size"}, ...]`` sorted by path."""
    review: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[datetime] = mapped_column(DateTime)
    reviewed_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class SharedUse(OrgBase):
    """A class that got an item: by whom, at which version, under which assignment id."""

    __tablename__ = "shared_uses"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("shared_items.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    username: Mapped[str] = mapped_column(String(32))
    class_id: Mapped[str] = mapped_column(String(64))
    assignment_id: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime] = mapped_column(DateTime)


class SharedRating(OrgBase):
    """One teacher's rating of an item they used (one per teacher, changed in place)."""

    __tablename__ = "shared_ratings"
    __table_args__ = (UniqueConstraint("item_id", "username"),
                      CheckConstraint("stars BETWEEN 1 AND 5", name="shared_stars"))

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("shared_items.id"), index=True)
    username: Mapped[str] = mapped_column(String(32))
    stars: Mapped[int] = mapped_column(Integer)
    rated_at: Mapped[datetime] = mapped_column(DateTime)
