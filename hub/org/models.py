"""The organisation model: region → district → school → class, people and their roles.

It is the source of truth for who may see what; JupyterHub's groups and roles
mirror it. Usernames are pseudonymous and stable; ``display_name`` (a real name)
is display data only and is kept out of logs, URLs and exports.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class OrgBase(DeclarativeBase):
    """Declarative base of the organisation tables."""


class Role(enum.StrEnum):
    """What a person is in the region."""

    STUDENT = "student"
    TEACHER = "teacher"
    SCHOOL_ADMIN = "school_admin"
    DISTRICT_ADMIN = "district_admin"
    REGION_ADMIN = "region_admin"


class Region(OrgBase):
    __tablename__ = "regions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class District(OrgBase):
    """A city, county or urban district (市、县、区) of the region: the programme's
    experimental districts are these, and a district admin sees their schools."""

    __tablename__ = "districts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    region_id: Mapped[str] = mapped_column(ForeignKey("regions.id"))
    name: Mapped[str] = mapped_column(String(100))


class School(OrgBase):
    __tablename__ = "schools"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    region_id: Mapped[str] = mapped_column(ForeignKey("regions.id"))
    district_id: Mapped[str | None] = mapped_column(ForeignKey("districts.id"), nullable=True,
                                                    index=True)
    name: Mapped[str] = mapped_column(String(100))
    locality: Mapped[str] = mapped_column(String(16), default="urban")
    stage: Mapped[str] = mapped_column(String(16), default="senior")

    classes: Mapped[list[SchoolClass]] = relationship(back_populates="school")


class SchoolClass(OrgBase):
    """A class of one school in one school year (a "course" in nbgrader's words)."""

    __tablename__ = "classes"
    __table_args__ = (CheckConstraint("grade BETWEEN 1 AND 12", name="grade_level"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    school_id: Mapped[str] = mapped_column(ForeignKey("schools.id"))
    name: Mapped[str] = mapped_column(String(100))
    school_year: Mapped[str] = mapped_column(String(16))
    grade: Mapped[int]

    school: Mapped[School] = relationship(back_populates="classes")
    enrollments: Mapped[list[Enrollment]] = relationship(
        back_populates="school_class", cascade="all, delete-orphan"
    )


class Person(OrgBase):
    __tablename__ = "people"

    username: Mapped[str] = mapped_column(String(32), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    school_id: Mapped[str | None] = mapped_column(ForeignKey("schools.id"), nullable=True)
    district_id: Mapped[str | None] = mapped_column(ForeignKey("districts.id"), nullable=True)
    """The district a district admin oversees; empty for everyone else."""

    enrollments: Mapped[list[Enrollment]] = relationship(
        back_populates="person", cascade="all, delete-orphan"
    )
    credential: Mapped[Credential | None] = relationship(
        back_populates="person", cascade="all, delete-orphan", uselist=False
    )


class Enrollment(OrgBase):
    """A person in a class, as a student or as one of its teachers."""

    __tablename__ = "enrollments"
    __table_args__ = (UniqueConstraint("class_id", "username"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[str] = mapped_column(ForeignKey("classes.id"))
    username: Mapped[str] = mapped_column(ForeignKey("people.username"), index=True)
    role: Mapped[str] = mapped_column(String(16))

    school_class: Mapped[SchoolClass] = relationship(back_populates="enrollments")
    person: Mapped[Person] = relationship(back_populates="enrollments")


class Credential(OrgBase):
    """A roster password: only its hash, and the state of lock-out and first sign-in."""

    __tablename__ = "credentials"

    username: Mapped[str] = mapped_column(ForeignKey("people.username"), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    must_change: Mapped[bool] = mapped_column(default=True)
    failed_attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    person: Mapped[Person] = relationship(back_populates="credential")
