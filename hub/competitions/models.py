"""The competitions' tables: the competition with its hidden answer key, its released
files, teams, entries and the standings the leaderboards read.

The answer key is a column of the competition's row in the service database: only the
service process reads it, and it never leaves through any handler (the released files
are separate rows, made without it). ``competition_standings`` holds each participant's
best entry, updated in the transaction that scores an entry, so a leaderboard of
thousands of entries is one indexed read of one row per participant.
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
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hub.org.models import OrgBase


class Competition(OrgBase):
    """One competition: what it is, its rules, and its hidden answer key."""

    __tablename__ = "competitions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    sample: Mapped[str] = mapped_column(String(32))
    """Which shipped task made its data (``digits``)."""
    district_id: Mapped[str | None] = mapped_column(ForeignKey("districts.id"), nullable=True)
    """Open to one district's students only; none: the whole region."""
    deadline: Mapped[datetime] = mapped_column(DateTime)
    daily_limit: Mapped[int] = mapped_column(Integer)
    winners: Mapped[int] = mapped_column(Integer)
    answer_key: Mapped[dict] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class CompetitionFile(OrgBase):
    """A file every participant may download: training data, test features, the starter."""

    __tablename__ = "competition_files"

    competition_id: Mapped[str] = mapped_column(ForeignKey("competitions.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class CompetitionTeam(OrgBase):
    """Students of one school entering together."""

    __tablename__ = "competition_teams"
    __table_args__ = (UniqueConstraint("competition_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[str] = mapped_column(ForeignKey("competitions.id"))
    name: Mapped[str] = mapped_column(String(64))
    school_id: Mapped[str] = mapped_column(ForeignKey("schools.id"))


class TeamMember(OrgBase):
    """A student in a team; one team per student per competition."""

    __tablename__ = "competition_team_members"
    __table_args__ = (UniqueConstraint("competition_id", "username"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[str] = mapped_column(ForeignKey("competitions.id"))
    team_id: Mapped[int] = mapped_column(ForeignKey("competition_teams.id"), index=True)
    username: Mapped[str] = mapped_column(String(32))


class Entry(OrgBase):
    """One submission: what was handed in, by whom for whom, and its score once scored."""

    __tablename__ = "competition_entries"
    __table_args__ = (Index("ix_competition_entries_participant", "competition_id",
                            "participant", "submitted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[str] = mapped_column(ForeignKey("competitions.id"))
    participant: Mapped[str] = mapped_column(String(48))
    """``user:<username>`` or ``team:<id>``."""
    submitted_by: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str] = mapped_column(Text, default="")
    public_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    private_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    submitted_at: Mapped[datetime] = mapped_column(DateTime)
    scored_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class Standing(OrgBase):
    """A participant's best entry so far (by public score; the earlier one on a tie)."""

    __tablename__ = "competition_standings"
    __table_args__ = (Index("ix_competition_standings_public", "competition_id",
                            "public_score"),)

    competition_id: Mapped[str] = mapped_column(ForeignKey("competitions.id"), primary_key=True)
    participant: Mapped[str] = mapped_column(String(48), primary_key=True)
    label: Mapped[str] = mapped_column(String(64))
    """What the boards show: the username (pseudonymous) or the team's name."""
    school_id: Mapped[str] = mapped_column(ForeignKey("schools.id"))
    district_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    best_entry_id: Mapped[int] = mapped_column(Integer)
    public_score: Mapped[float] = mapped_column(Float)
    private_score: Mapped[float] = mapped_column(Float)
    entries: Mapped[int] = mapped_column(Integer)
    best_at: Mapped[datetime] = mapped_column(DateTime)
