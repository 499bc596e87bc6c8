"""What each school took part in this year: its teachers trained, their training hours and
the competitions its students entered, counted from the training and competition tables.

These three supervision indicators used to be typed in by the school; the platform now
records the activity itself (:mod:`hub.training`, :mod:`hub.competitions`), so the figure
is computed and a school can no longer state one. The rules, each written once here:

- a teacher (or head) of the school is *trained* in a year when they earned hours there,
  by the one rule of :mod:`hub.training.hours` (a course passed, a live session attended),
  in a cohort of that year; being enrolled is not being trained;
- the *hours per teacher* are the trained teachers' hours over the trained teachers;
- a competition is *entered* when one of the school's students (alone or in a team of the
  school) has a scored entry in it: its standing carries the school at the time of the
  entry, so a student who later moves does not take the entry along. A competition
  belongs to the year of its deadline, as a cohort belongs to its year.

*The year* is the calendar year the evaluated term starts in: continuing-education credit
is counted by calendar year, and so is a cohort.

Everything is a fixed number of grouped queries for any number of schools (the region
page asks for 500 at once).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from hub.competitions.models import Competition
from hub.competitions.models import Standing as CompetitionStanding
from hub.org.models import Person
from hub.reports.figures import ReportPolicy
from hub.training.hours import cohort_hours, year_totals
from hub.training.models import Cohort, Trainee


def programme_year(policy: ReportPolicy) -> int:
    """The calendar year whose training and competitions the evaluation counts."""
    return policy.term_start.year


@dataclass
class Participation:
    """Counts that add up over schools (a district's is the sum of its schools')."""

    trained: int = 0
    """Teachers (and heads) of the school who earned training hours in the year."""
    hours: float = 0.0
    """Their hours, summed."""
    competitions: int = 0
    """Competitions the school entered (a district: summed over its schools)."""

    def add(self, other: Participation) -> None:
        self.trained += other.trained
        self.hours += other.hours
        self.competitions += other.competitions

    @property
    def hours_per_teacher(self) -> float | None:
        """``None`` with nobody trained: nothing to divide, not zero hours."""
        return self.hours / self.trained if self.trained else None


def _trained(session: Session, school_ids: Collection[str], year: int
             ) -> dict[str, Participation]:
    members = session.execute(
        select(Trainee.cohort_id, Trainee.username)
        .join(Cohort, Cohort.id == Trainee.cohort_id)
        .join(Person, Person.username == Trainee.username)
        .where(Cohort.year == year, Person.school_id.in_(list(school_ids)))).all()
    if not members:
        return {}
    cohorts = list(session.scalars(select(Cohort).where(
        Cohort.id.in_({cohort_id for cohort_id, _name in members}))))
    usernames = {name for _cohort_id, name in members}
    counts: dict[str, Participation] = defaultdict(Participation)
    for total in year_totals(cohort_hours(session, cohorts, usernames)):
        if total.total > 0 and total.person.school_id:
            school = counts[total.person.school_id]
            school.trained += 1
            school.hours += total.total
    return counts


def participation(session: Session, school_ids: Collection[str], policy: ReportPolicy
                  ) -> dict[str, Participation]:
    """Each of ``school_ids`` with its counts for the evaluated year (zeros included)."""
    year = programme_year(policy)
    counts = _trained(session, school_ids, year)
    entered = session.execute(
        select(CompetitionStanding.school_id,
               func.count(distinct(CompetitionStanding.competition_id)))
        .join(Competition, Competition.id == CompetitionStanding.competition_id)
        .where(CompetitionStanding.school_id.in_(list(school_ids)),
               Competition.deadline >= datetime(year, 1, 1),
               Competition.deadline < datetime(year + 1, 1, 1))
        .group_by(CompetitionStanding.school_id))
    result = {school_id: counts.get(school_id, Participation()) for school_id in school_ids}
    for school_id, competitions in entered:
        result[school_id].competitions = competitions
    return result
