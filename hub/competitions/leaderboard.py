"""The boards: public (live, on the public rows), private (the result, after the
deadline), and rankings of schools and districts by their best participant.

All read ``competition_standings`` only, one row per participant, so a board of thousands
of entries costs one indexed query. Ties go to the participant who got there first.
The private board ranks each participant by the private score of the entry that was
best on the public board: nobody can choose an entry by a score they could not see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.competitions.models import Competition, Standing
from hub.org.models import District, School


class PrivateBoardHidden(Exception):
    """The private board was asked for before the deadline."""


@dataclass(frozen=True)
class BoardRow:
    rank: int
    label: str
    school: str
    district: str
    score: float
    entries: int
    best_at: datetime
    participant: str
    """``user:<username>`` or ``team:<id>``: who the row is, for the certificates' access."""
    school_id: str
    district_id: str | None


@dataclass(frozen=True)
class GroupRow:
    """A school's or a district's place: by its best participant's score."""

    rank: int
    name: str
    best: float
    participants: int


def private_visible(competition: Competition, now: datetime) -> bool:
    return now >= competition.deadline


def board(session: Session, competition: Competition, *, private: bool, now: datetime,
          school_id: str | None = None, district_id: str | None = None,
          limit: int | None = None) -> list[BoardRow]:
    """The ranked board, optionally of one school's or one district's participants."""
    if private and not private_visible(competition, now):
        raise PrivateBoardHidden(competition.id)
    score = Standing.private_score if private else Standing.public_score
    query = (select(Standing.label, School.name, District.name, score, Standing.entries,
                    Standing.best_at, Standing.participant, Standing.school_id,
                    Standing.district_id)
             .join(School, School.id == Standing.school_id)
             .outerjoin(District, District.id == Standing.district_id)
             .where(Standing.competition_id == competition.id)
             .order_by(score.desc(), Standing.best_at, Standing.participant))
    if school_id is not None:
        query = query.where(Standing.school_id == school_id)
    if district_id is not None:
        query = query.where(Standing.district_id == district_id)
    if limit is not None:
        query = query.limit(limit)
    return [BoardRow(rank, label, school, district or "", value, entries, best_at,
                     participant, school_id, district_id)
            for rank, (label, school, district, value, entries, best_at, participant,
                       school_id, district_id) in enumerate(session.execute(query), start=1)]


def rankings(rows: list[BoardRow], by_district: bool) -> list[GroupRow]:
    """Schools (or districts) ranked by their best participant on ``rows``."""
    best: dict[str, float] = {}
    counts: dict[str, int] = {}
    for row in rows:
        name = row.district if by_district else row.school
        if not name:
            continue
        best.setdefault(name, row.score)  # rows come best first
        counts[name] = counts.get(name, 0) + 1
    ordered = sorted(best, key=lambda name: -best[name])
    return [GroupRow(rank, name, best[name], counts[name])
            for rank, name in enumerate(ordered, start=1)]


def winners(session: Session, competition: Competition, now: datetime) -> list[BoardRow]:
    """The first ``competition.winners`` of the private board (after the deadline only)."""
    return board(session, competition, private=True, now=now, limit=competition.winners)
