"""Running cohorts: who may see and change which cohort, and the three changes an admin
makes (create a cohort, enrol trainees, record a live session with its attendance).

The region's admin runs every cohort; a district admin those of their district, with the
teachers and heads of their district's schools; a trainee sees only the cohorts they are
in, and only their own hours there. A cohort that does not exist answers like one the
caller may not see, so ids cannot be probed. Every change is checked whole before any row
is written: a bad line of an enrolment list names the line and enrols nobody.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, false, or_, select
from sqlalchemy.orm import Session

from hub.audit.trail import record
from hub.org.models import Person, Role, School
from hub.programme.scope import OutOfScope
from hub.programme.workflow import FormProblem
from hub.training.hours import TraineeHours, cohort_hours, teacher_courses
from hub.training.models import (
    Attendance,
    Certificate,
    Cohort,
    CohortCourse,
    LiveSession,
    Track,
    Trainee,
)

RUNS_TRAINING = (Role.REGION_ADMIN, Role.DISTRICT_ADMIN)
TRACK_ROLES: dict[str, tuple[str, ...]] = {
    Track.LEADERSHIP: (Role.SCHOOL_ADMIN, Role.DISTRICT_ADMIN),
    Track.LEAD_TEACHER: (Role.TEACHER,),
    Track.GENERAL: (Role.TEACHER, Role.SCHOOL_ADMIN),
}
"""Who a track trains: heads of districts and schools (局长、校长), or teachers."""
MAX_SESSION_HOURS = 8.0
"""A live session is at most a training day; more is a typing slip, not a session."""


def cohorts_query(person: Person) -> Select:
    """The cohorts ``person`` runs or is a trainee of (a district head in the region's
    leadership cohort is both a district's admin and a learner)."""
    query = select(Cohort)
    if person.role == Role.REGION_ADMIN:
        return query
    if person.role == Role.STUDENT:
        return query.where(false())
    learning = Cohort.id.in_(select(Trainee.cohort_id)
                             .where(Trainee.username == person.username))
    if person.role == Role.DISTRICT_ADMIN and person.district_id:
        return query.where(or_(Cohort.district_id == person.district_id, learning))
    return query.where(learning)


def runs(person: Person, cohort: Cohort) -> bool:
    """Whether ``person`` runs ``cohort`` (may see its roster and change it)."""
    return person.role == Role.REGION_ADMIN or (
        person.role == Role.DISTRICT_ADMIN and bool(person.district_id)
        and cohort.district_id == person.district_id)


def cohort_in_scope(session: Session, person: Person, cohort_id: int) -> Cohort:
    """The cohort, if ``person`` runs it or is its trainee; :class:`OutOfScope` otherwise."""
    cohort = session.scalar(cohorts_query(person).where(Cohort.id == cohort_id))
    if cohort is None:
        raise OutOfScope(str(cohort_id))
    return cohort


def run_cohort(session: Session, person: Person, cohort_id: int) -> Cohort:
    """The cohort, if ``person`` runs it; :class:`OutOfScope` otherwise (a trainee too)."""
    cohort = cohort_in_scope(session, person, cohort_id)
    if not runs(person, cohort):
        raise OutOfScope(str(cohort_id))
    return cohort


@dataclass(frozen=True)
class CohortForm:
    """The fields of a new cohort, as the form sends them (text)."""

    name: str
    track: str
    year: str
    courses: tuple[str, ...]


def create_cohort(session: Session, person: Person, form: CohortForm, now: datetime) -> Cohort:
    """A new cohort of the caller's district (the region's admin: of the region)."""
    if person.role not in RUNS_TRAINING or (person.role == Role.DISTRICT_ADMIN
                                            and not person.district_id):
        raise OutOfScope("cohort")
    name = form.name.strip()
    if not 1 <= len(name) <= 100:
        raise FormProblem("name", "研修班名称必须是 1 到 100 个字",
                          "a cohort's name must be 1 to 100 characters")
    if form.track not in set(Track):
        raise FormProblem("track", f"未知的研修方向“{form.track}”",
                          f"unknown track “{form.track}”")
    if not form.year.isdigit() or not 2000 <= int(form.year) <= 2100:
        raise FormProblem("year", f"年度应为四位年份，而不是“{form.year}”",
                          f"the year must be a four-digit year, not “{form.year}”")
    library = teacher_courses()
    unknown = [c for c in form.courses if c not in library]
    if unknown or not form.courses:
        raise FormProblem("courses", f"请从教师研修课程中选择课程（未知：{'、'.join(unknown)}）",
                          f"choose courses of the teacher track (unknown: {', '.join(unknown)})")
    cohort = Cohort(name=name, track=form.track, year=int(form.year),
                    district_id=person.district_id if person.role == Role.DISTRICT_ADMIN
                    else None, created_by=person.username, created_at=now)
    session.add(cohort)
    session.flush()
    session.add_all(CohortCourse(cohort_id=cohort.id, assignment_id=c)
                    for c in dict.fromkeys(form.courses))
    record(session, actor=person.username, action="training.cohort", source="training",
           detail={"cohort": cohort.id, "track": cohort.track, "year": cohort.year,
                   "courses": list(dict.fromkeys(form.courses))})
    return cohort


def _district_of(session: Session, person: Person) -> str | None:
    if person.role == Role.DISTRICT_ADMIN:
        return person.district_id
    if person.school_id is None:
        return None
    return session.scalar(select(School.district_id).where(School.id == person.school_id))


def enrol(session: Session, admin: Person, cohort_id: int, usernames: list[str],
          now: datetime) -> int:
    """Enrol ``usernames`` (one per line of the form) as learners; how many were new.

    All or nothing: an unknown person, a pupil, a role the track does not train, or (for a
    district's cohort) someone of another district stops the whole list, naming its line.
    """
    cohort = run_cohort(session, admin, cohort_id)
    wanted = [(line, name.strip()) for line, name in enumerate(usernames, start=1)
              if name.strip()]
    if not wanted:
        raise FormProblem("usernames", "请至少填写一个用户名", "list at least one username")
    people = {p.username: p for p in session.scalars(
        select(Person).where(Person.username.in_([name for _line, name in wanted])))}
    allowed = TRACK_ROLES[cohort.track]
    for line, name in wanted:
        person = people.get(name)
        if person is None or (cohort.district_id is not None
                              and _district_of(session, person) != cohort.district_id):
            raise FormProblem("usernames", f"第 {line} 行：找不到本研修班可招收的人员“{name}”",
                              f"line {line}: no one named “{name}” this cohort may enrol")
        if person.role not in allowed:
            raise FormProblem("usernames", f"第 {line} 行：“{name}”的身份不属于本研修方向",
                              f"line {line}: “{name}” has a role this track does not train")
    present = set(session.scalars(select(Trainee.username).where(
        Trainee.cohort_id == cohort.id, Trainee.username.in_(list(people)))))
    new = [name for name in dict.fromkeys(name for _line, name in wanted) if name not in present]
    session.add_all(Trainee(cohort_id=cohort.id, username=name, enrolled_by=admin.username,
                            enrolled_at=now) for name in new)
    for name in new:
        record(session, actor=admin.username, action="training.enrolled", subject=name,
               source="training", detail={"cohort": cohort.id})
    return len(new)


@dataclass(frozen=True)
class SessionForm:
    """A live session as the form sends it (text), with the usernames ticked as present."""

    title: str
    held_on: str
    hours: str
    attended: tuple[str, ...]


def record_session(session: Session, admin: Person, cohort_id: int, form: SessionForm,
                   now: datetime) -> LiveSession:
    """A live session of the cohort and who attended; only the cohort's own trainees."""
    cohort = run_cohort(session, admin, cohort_id)
    title = form.title.strip()
    if not 1 <= len(title) <= 200:
        raise FormProblem("title", "活动名称必须是 1 到 200 个字",
                          "a session's title must be 1 to 200 characters")
    try:
        held_on = date.fromisoformat(form.held_on)
    except ValueError:
        raise FormProblem("held_on", f"日期应为 YYYY-MM-DD，而不是“{form.held_on}”",
                          f"the date must be YYYY-MM-DD, not “{form.held_on}”") from None
    try:
        hours = float(form.hours)
    except ValueError:
        hours = -1.0
    if not 0.5 <= hours <= MAX_SESSION_HOURS or (hours * 2) % 1:
        raise FormProblem("hours", f"学时应为 0.5 到 {MAX_SESSION_HOURS:g} 之间、以 0.5 为单位，"
                          f"而不是“{form.hours}”",
                          f"hours must be 0.5 to {MAX_SESSION_HOURS:g} in steps of 0.5, "
                          f"not “{form.hours}”")
    members = set(session.scalars(select(Trainee.username).where(
        Trainee.cohort_id == cohort.id)))
    strangers = sorted(set(form.attended) - members)
    if strangers:
        raise FormProblem("attended", f"“{'、'.join(strangers)}”不是本研修班的学员",
                          f"“{', '.join(strangers)}” are not trainees of this cohort")
    live = LiveSession(cohort_id=cohort.id, title=title, held_on=held_on, hours=hours,
                       recorded_by=admin.username, recorded_at=now)
    session.add(live)
    session.flush()
    present = sorted(set(form.attended))
    session.add_all(Attendance(session_id=live.id, username=name) for name in present)
    record(session, actor=admin.username, action="training.attendance", source="training",
           detail={"cohort": cohort.id, "session": live.id, "hours": hours,
                   "attended": len(present)})
    return live


def own_hours(session: Session, person: Person, year: int | None = None) -> list[TraineeHours]:
    """The caller's own rows in the cohorts they are a trainee of (of ``year`` if given)."""
    query = select(Cohort).where(Cohort.id.in_(
        select(Trainee.cohort_id).where(Trainee.username == person.username)))
    if year is not None:
        query = query.where(Cohort.year == year)
    return cohort_hours(session, list(session.scalars(query.order_by(Cohort.year, Cohort.id))),
                        [person.username])


def certificate(session: Session, person: Person, cohort_id: int, course_id: str,
                now: datetime) -> tuple[TraineeHours, Certificate]:
    """The caller's certificate of a course they completed, issued on first opening;
    :class:`OutOfScope` for anyone else's, or for a course not (yet) completed."""
    rows = [row for row in own_hours(session, person) if row.cohort.id == cohort_id]
    done = [c for row in rows for c in row.completed if c.course.id == course_id]
    if not done:
        raise OutOfScope(course_id)
    issued = session.scalar(select(Certificate).where(
        Certificate.cohort_id == cohort_id, Certificate.username == person.username,
        Certificate.assignment_id == course_id))
    if issued is None:
        issued = Certificate(code=secrets.token_hex(8).upper(), cohort_id=cohort_id,
                             username=person.username, assignment_id=course_id,
                             hours=done[0].hours, issued_at=now)
        session.add(issued)
        session.flush()
        record(session, actor=person.username, action="training.certificate",
               source="training", detail={"cohort": cohort_id, "course": course_id,
                                          "code": issued.code})
    return rows[0], issued
