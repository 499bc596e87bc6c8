"""Per class, per school and per region figures, each computed by a handful of grouped queries.

A region report covers tens of thousands of students; every figure here comes from one
``GROUP BY`` (or ranking) query over all the classes at once (never a query per student
or class), so the report's cost grows with the number of rows the database scans, not
with round trips.
Scores come in as a mapping from the gradebook, so this module needs no grading tables.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import String, and_, func, select, type_coerce
from sqlalchemy.orm import Session

from grading.exchange.counted import counted_submission_ids
from grading.exchange.deadlines import applicable_due, is_late
from grading.exchange.models import Extension, Release, Submission
from hub.org.models import Enrollment, Person, Role, School, SchoolClass
from hub.reports.figures import Figures, ReportPolicy
from hub.reports.tables import ActivityDay

#: (class id, assignment id, student) → the fraction of the points the counted submission got.
ScoreFractions = Mapping[tuple[str, str, str], float]

LOCALITIES = ("urban", "rural")
STAGES = ("primary", "junior", "senior")


@dataclass
class SchoolReport:
    """A school's own figures and those of each of its classes."""

    school: Figures
    locality: str
    stage: str
    classes: list[Figures] = field(default_factory=list)
    district: str = ""
    """The school's district id ("" for a school in no district)."""


@dataclass
class WeekTrend:
    """One week of the term, region-wide and by locality."""

    week_start: date
    active_minutes: int = 0
    submissions: int = 0
    minutes_by_locality: dict[str, int] = field(default_factory=dict)


@dataclass
class RegionReport:
    """Everything the region's evaluation material shows."""

    region: Figures
    schools: list[SchoolReport]
    by_locality: dict[str, Figures]
    by_stage: dict[str, Figures]
    weeks: list[WeekTrend]
    policy: ReportPolicy


def _term_start(policy: ReportPolicy) -> datetime:
    return datetime.combine(policy.term_start, time())


def _current_releases(class_ids: Collection[str]):  # noqa: ANN202 - a SQLAlchemy subquery
    newest = (select(Release.class_id, Release.assignment_id,
                     func.max(Release.version).label("version"))
              .where(Release.class_id.in_(class_ids))
              .group_by(Release.class_id, Release.assignment_id).subquery())
    return (select(Release.class_id, Release.assignment_id, Release.due_at,
                   Release.released_by, Release.released_at)
            .join(newest, and_(Release.class_id == newest.c.class_id,
                               Release.assignment_id == newest.c.assignment_id,
                               Release.version == newest.c.version))
            .subquery())


def class_figures(session: Session, classes: Mapping[str, str], policy: ReportPolicy,
                  scores: ScoreFractions) -> dict[str, Figures]:
    """Figures for each class (id → name) in this term."""
    ids = list(classes)
    rows = {class_id: Figures(class_id, name) for class_id, name in classes.items()}
    start = _term_start(policy)
    student = and_(Enrollment.class_id.in_(ids), Enrollment.role == Role.STUDENT)
    for class_id, count in session.execute(
            select(Enrollment.class_id, func.count()).where(student)
            .group_by(Enrollment.class_id)):
        rows[class_id].students = count
    for class_id, count in session.execute(
            select(Enrollment.class_id, func.count())
            .where(Enrollment.class_id.in_(ids), Enrollment.role == Role.TEACHER)
            .group_by(Enrollment.class_id)):
        rows[class_id].teachers = count
    for class_id, active, minutes, gpu in session.execute(
            select(Enrollment.class_id, func.count(func.distinct(ActivityDay.username)),
                   func.sum(ActivityDay.active_minutes), func.sum(ActivityDay.gpu_minutes))
            .join(Enrollment, Enrollment.username == ActivityDay.username)
            .where(student, ActivityDay.day >= policy.term_start)
            .group_by(Enrollment.class_id)):
        figures = rows[class_id]
        figures.active_students, figures.active_minutes = active, int(minutes or 0)
        figures.gpu_minutes = int(gpu or 0)
    releases = _current_releases(ids)
    released = {}
    for class_id, count, releasers in session.execute(
            select(releases.c.class_id, func.count(),
                   func.count(func.distinct(releases.c.released_by)))
            .where(releases.c.released_at >= start).group_by(releases.c.class_id)):
        rows[class_id].assignments = count
        released[class_id] = releasers
    for class_id, figures in rows.items():
        figures.expected = figures.students * figures.assignments
        figures.teachers_releasing = min(released.get(class_id, 0), figures.teachers)
    _count_submissions(session, ids, releases, start, rows)
    for (class_id, _assignment, _student), fraction in scores.items():
        figures = rows.get(class_id)
        if figures is not None:
            figures.graded += 1
            figures.passed += fraction >= policy.pass_fraction
            figures.score_total += fraction
    return rows


def _count_submissions(session: Session, ids: list[str], releases, start: datetime,  # noqa: ANN001
                       rows: dict[str, Figures]) -> None:
    """Submitted and on-time (student, assignment) pairs per class.

    The database ranks the submissions to the one that counts per pair
    (:mod:`grading.exchange.counted`); comparing its time with the due dates happens
    here, by the exchange's rule (:mod:`grading.exchange.deadlines`, grace period
    included), also because joining the pairs to the releases and extensions in SQL
    made SQLite scan them once per release.
    """
    due = {(c, a): d for c, a, d, released_at in session.execute(
        select(releases.c.class_id, releases.c.assignment_id, releases.c.due_at,
               releases.c.released_at)) if released_at >= start}
    extended = {(c, a, u): d for c, a, u, d in session.execute(
        select(Extension.class_id, Extension.assignment_id, Extension.username,
               Extension.due_at).where(Extension.class_id.in_(ids)))}
    for class_id, assignment_id, username, submitted_at in session.execute(
            select(Submission.class_id, Submission.assignment_id, Submission.username,
                   type_coerce(Submission.submitted_at, String))
            .where(Submission.id.in_(counted_submission_ids(Submission.class_id.in_(ids))),
                   Submission.submitted_at >= start)):
        if (class_id, assignment_id) not in due:
            continue
        deadline = applicable_due(due[(class_id, assignment_id)],
                                  extended.get((class_id, assignment_id, username)))
        if not isinstance(submitted_at, datetime):  # SQLite: text, parsed here much faster
            submitted_at = datetime.fromisoformat(submitted_at)  # than by SQLAlchemy
        figures = rows[class_id]
        figures.submitted += 1
        figures.on_time += not is_late(submitted_at, deadline)


def _school_teachers(session: Session, school_ids: Collection[str], start: datetime
                     ) -> tuple[dict[str, int], dict[str, int]]:
    teachers = dict(session.execute(
        select(Person.school_id, func.count())
        .where(Person.school_id.in_(school_ids), Person.role == Role.TEACHER)
        .group_by(Person.school_id)).all())
    releasing = dict(session.execute(
        select(Person.school_id, func.count(func.distinct(Release.released_by)))
        .join(Person, Person.username == Release.released_by)
        .where(Person.school_id.in_(school_ids), Person.role == Role.TEACHER,
               Release.released_at >= start)
        .group_by(Person.school_id)).all())
    return teachers, releasing


def school_reports(session: Session, school_ids: Collection[str] | None, policy: ReportPolicy,
                   scores: ScoreFractions) -> list[SchoolReport]:
    """Each school's figures with its classes of the current school year (all schools: None)."""
    query = select(School.id, School.name, School.locality, School.stage,
                   School.district_id).order_by(School.id)
    if school_ids is not None:
        query = query.where(School.id.in_(school_ids))
    schools = session.execute(query).all()
    ids = [row.id for row in schools]
    class_rows = session.execute(
        select(SchoolClass.id, SchoolClass.name, SchoolClass.school_id)
        .where(SchoolClass.school_id.in_(ids), SchoolClass.school_year == policy.school_year)
        .order_by(SchoolClass.school_id, SchoolClass.grade, SchoolClass.id)).all()
    figures = class_figures(session, {row.id: row.name for row in class_rows}, policy, scores)
    teachers, releasing = _school_teachers(session, ids, _term_start(policy))
    reports = {row.id: SchoolReport(Figures(row.id, row.name), row.locality, row.stage,
                                    district=row.district_id or "")
               for row in schools}
    for row in class_rows:
        report = reports[row.school_id]
        report.classes.append(figures[row.id])
        report.school.add(figures[row.id])
    for report in reports.values():
        report.school.teachers = teachers.get(report.school.key, 0)
        report.school.teachers_releasing = releasing.get(report.school.key, 0)
        report.school.gpu_hours_allocated = policy.gpu_hours_per_school
    return list(reports.values())


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weekly_trends(session: Session, policy: ReportPolicy, today: date) -> list[WeekTrend]:
    """Class-hours and submissions per week of the term, and class-hours by locality."""
    weeks: dict[date, WeekTrend] = {}
    monday = _monday(policy.term_start)
    while monday <= today:
        weeks[monday] = WeekTrend(monday, minutes_by_locality=dict.fromkeys(LOCALITIES, 0))
        monday += timedelta(days=7)
    current = (select(Enrollment.username, School.locality)
               .join(SchoolClass, SchoolClass.id == Enrollment.class_id)
               .join(School, School.id == SchoolClass.school_id)
               .where(Enrollment.role == Role.STUDENT,
                      SchoolClass.school_year == policy.school_year)
               .distinct().subquery())
    for day, locality, minutes in session.execute(
            select(ActivityDay.day, current.c.locality, func.sum(ActivityDay.active_minutes))
            .join(current, current.c.username == ActivityDay.username)
            .where(ActivityDay.day >= policy.term_start)
            .group_by(ActivityDay.day, current.c.locality)):
        week = weeks.get(_monday(day))
        if week is not None:
            week.active_minutes += int(minutes)
            week.minutes_by_locality[locality] = week.minutes_by_locality.get(locality, 0) \
                + int(minutes)
    day_column = func.date(Submission.submitted_at)
    for day, count in session.execute(
            select(day_column, func.count())
            .where(Submission.submitted_at >= _term_start(policy)).group_by(day_column)):
        moment = day if isinstance(day, date) else date.fromisoformat(str(day))
        week = weeks.get(_monday(moment))
        if week is not None:
            week.submissions += count
    return list(weeks.values())


def by_district(schools: list[SchoolReport], names: Mapping[str, str]) -> dict[str, Figures]:
    """The schools' figures summed per district (``names``: id → name), in id order;
    schools in no district are left out."""
    districts = {key: Figures(key, names.get(key, key)) for key in sorted(names)}
    for report in schools:
        if report.district:
            districts.setdefault(report.district, Figures(report.district, report.district))
            districts[report.district].add(report.school)
    return districts


def _grouped(name: str, schools: list[SchoolReport]
             ) -> tuple[Figures, dict[str, Figures], dict[str, Figures]]:
    """The schools' total, by locality and by stage."""
    region = Figures("region", name)
    by_locality = {key: Figures(key, key) for key in LOCALITIES}
    by_stage = {key: Figures(key, key) for key in STAGES}
    for report in schools:
        region.add(report.school)
        by_locality.setdefault(report.locality, Figures(report.locality, report.locality))
        by_locality[report.locality].add(report.school)
        by_stage.setdefault(report.stage, Figures(report.stage, report.stage))
        by_stage[report.stage].add(report.school)
    return region, by_locality, by_stage


def region_report(session: Session, name: str, policy: ReportPolicy, scores: ScoreFractions,
                  today: date) -> RegionReport:
    """The region's figures, per school, by locality and stage, and week by week."""
    schools = school_reports(session, None, policy, scores)
    region, by_locality, by_stage = _grouped(name, schools)
    return RegionReport(region, schools, by_locality, by_stage,
                        weekly_trends(session, policy, today), policy)


def district_report(report: RegionReport, school_ids: Collection[str], name: str
                    ) -> RegionReport:
    """The region report cut down to one district's schools (``school_ids``, read live:
    the snapshot may predate a roster that moved a school), for that district's admin.

    The total and the comparisons are summed again over those schools only; the weeks
    go (the snapshot keeps them region-wide, and a district's export holds nothing of
    other districts)."""
    schools = [s for s in report.schools if s.school.key in school_ids]
    total, by_locality, by_stage = _grouped(name, schools)
    return RegionReport(total, schools, by_locality, by_stage, [], report.policy)
