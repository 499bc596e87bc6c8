"""Competitions in the exchange's assignment list: what a student may enter appears beside
their homework, so their lab fetches the starter and hands in a notebook as it does homework.

A competition is not a class's assignment. Its rows carry the class id
:data:`COMPETITION_CLASS`, which no class can have (a roster's class ids are lowercase),
and ``"kind": "competition"``; the exchange client sends a fetch or a submit of that class
to the competition API, where the entry is recorded and scored against the hidden set in
the sandbox, never to the homework store. A row is shown by the rule that decides who may
enter (:func:`hub.competitions.entries.school_taking_part`) and only before the deadline,
so a student of a school not taking part never sees it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.competitions import entries
from hub.competitions.digits import STARTER
from hub.competitions.models import Competition, TeamMember

COMPETITION_CLASS = "Competitions"
"""The class id of every competition row (capitalised: a roster class id never is)."""


def _iso(moment: datetime) -> str:
    return moment.isoformat() + "Z"


def competition_rows(session: Session, username: str, now: datetime,
                     day_start: datetime) -> list[dict]:
    """The open competitions ``username`` may enter, as assignment rows for their lab.

    Each row holds what the lab shows before a submit: the deadline, the daily limit and
    how many of today's entries the student (or their team) has used; ``team`` is the team
    an entry counts for, which the client must name when it submits.
    """
    rows = []
    for competition in session.scalars(select(Competition).where(
            Competition.deadline > now).order_by(Competition.deadline, Competition.id)):
        if entries.school_taking_part(session, competition, username) is None:
            continue
        team = session.scalar(select(TeamMember.team_id).where(
            TeamMember.competition_id == competition.id, TeamMember.username == username))
        participant = f"team:{team}" if team else f"user:{username}"
        deadline = _iso(competition.deadline)
        rows.append({
            "class_id": COMPETITION_CLASS, "assignment_id": competition.id,
            "kind": "competition", "title": competition.title, "version": 1,
            "released_at": _iso(competition.created_at), "due_at": deadline,
            "notebooks": [STARTER.removesuffix(".ipynb")], "fetched_version": None,
            "role": "student", "own_due_at": deadline,
            "daily_limit": competition.daily_limit,
            "entries_today": entries.entries_since(session, competition, participant,
                                                   day_start),
            "team": team,
        })
    return rows
