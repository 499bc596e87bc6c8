"""Read-only questions about the organisation model that the hub and service ask.

JupyterHub groups and roles are derived here from the model, so that the hub
itself enforces who may reach whose server: students of a class form the group
``class-<id>`` (and of a school ``school-<id>``, of a district ``district-<id>``); a
teacher's role is scoped to their classes' groups with ``!group=``, a school admin's to
their school's group, a district admin's to their district's group.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.monitoring import READ_METRICS_SCOPES
from hub.org.models import Enrollment, Person, Role, School, SchoolClass

TEACHER_SCOPES = ("list:users", "read:users", "read:servers", "start:servers",
                  "delete:servers")
SCHOOL_ADMIN_SCOPES = TEACHER_SCOPES
DISTRICT_ADMIN_SCOPES = TEACHER_SCOPES
REGION_ADMIN_SCOPES = ("list:users", "read:users", "read:servers", "start:servers",
                       "delete:servers", "list:groups", "read:groups",
                       *READ_METRICS_SCOPES)


def class_group(class_id: str) -> str:
    """The JupyterHub group of a class's students."""
    return f"class-{class_id}"


def school_group(school_id: str) -> str:
    """The JupyterHub group of a school's students."""
    return f"school-{school_id}"


def district_group(district_id: str) -> str:
    """The JupyterHub group of the students of a district's schools."""
    return f"district-{district_id}"


def role_of(session: Session, username: str) -> str | None:
    """The person's role in the region, or ``None`` when not on the roster."""
    person = session.get(Person, username)
    return person.role if person else None


def classes_taught(session: Session, username: str) -> list[SchoolClass]:
    """The classes ``username`` teaches, ordered by id."""
    rows = session.scalars(
        select(SchoolClass)
        .join(Enrollment, Enrollment.class_id == SchoolClass.id)
        .where(Enrollment.username == username, Enrollment.role == Role.TEACHER)
        .order_by(SchoolClass.id)
    )
    return list(rows)


def current_enrollments(session: Session, username: str | None = None
                        ) -> list[tuple[str, str, str]]:
    """``(class_id, school_id, username)`` of every student's classes in their latest year
    (of ``username``'s only, when given: one person signing in).

    Enrollments of earlier school years stay in the database as history (grades and
    reports refer to them) but no longer give access: after next year's roster a
    student belongs, in the hub, to next year's class only.
    """
    query = (select(Enrollment.class_id, SchoolClass.school_id, Enrollment.username,
                    SchoolClass.school_year)
             .join(SchoolClass, SchoolClass.id == Enrollment.class_id)
             .where(Enrollment.role == Role.STUDENT))
    if username is not None:
        query = query.where(Enrollment.username == username)
    rows = session.execute(query).all()
    latest: dict[str, str] = {}
    for _class_id, _school_id, username, year in rows:
        if year > latest.get(username, ""):
            latest[username] = year
    return [(class_id, school_id, username) for class_id, school_id, username, year in rows
            if latest[username] == year]


def hub_groups(session: Session) -> dict[str, list[str]]:
    """Every class, school and district group with its students, as JupyterHub should
    have them."""
    groups: dict[str, list[str]] = defaultdict(list)
    districts = dict(session.execute(select(School.id, School.district_id)
                                     .where(School.district_id.is_not(None))).all())
    for class_id, school_id, username in current_enrollments(session):
        groups[class_group(class_id)].append(username)
        groups[school_group(school_id)].append(username)
        if school_id in districts:
            groups[district_group(districts[school_id])].append(username)
    for class_id, school_id in session.execute(select(SchoolClass.id, SchoolClass.school_id)):
        groups.setdefault(class_group(class_id), [])
        groups.setdefault(school_group(school_id), [])
        if school_id in districts:
            groups.setdefault(district_group(districts[school_id]), [])
    return {name: sorted(set(members)) for name, members in sorted(groups.items())}


def role_name(person_role: str, username: str) -> str:
    """The JupyterHub role that carries one person's access."""
    return f"aiclass-{person_role.replace('_', '-')}-{username}"


def _role_of_person(person: Person, taught: list[str]) -> dict | None:
    """The scoped role carrying ``person``'s access (``taught``: a teacher's class ids),
    or ``None`` for someone who reaches no one's server (a student, a teacher without
    classes)."""
    if person.role == Role.TEACHER:
        filters = [class_group(class_id) for class_id in taught]
        scopes = [f"{scope}!group={group}" for group in filters for scope in TEACHER_SCOPES]
    elif person.role == Role.SCHOOL_ADMIN and person.school_id:
        group = school_group(person.school_id)
        scopes = [f"{scope}!group={group}" for scope in SCHOOL_ADMIN_SCOPES]
    elif person.role == Role.DISTRICT_ADMIN and person.district_id:
        group = district_group(person.district_id)
        scopes = [f"{scope}!group={group}" for scope in DISTRICT_ADMIN_SCOPES]
    elif person.role == Role.REGION_ADMIN:
        scopes = list(REGION_ADMIN_SCOPES)
    else:
        return None
    if not scopes:
        return None
    return {"name": role_name(person.role, person.username),
            "description": f"aiclass {person.role} {person.username}",
            "scopes": scopes, "users": [person.username]}


def hub_roles(session: Session) -> list[dict]:
    """One scoped JupyterHub role per teacher, school, district and region admin."""
    taught: dict[str, list[str]] = defaultdict(list)
    for username, class_id in session.execute(
            select(Enrollment.username, Enrollment.class_id)
            .where(Enrollment.role == Role.TEACHER).order_by(Enrollment.class_id)):
        taught[username].append(class_id)
    roles = (_role_of_person(person, taught[person.username]) for person in session.scalars(
        select(Person).where(Person.role != Role.STUDENT).order_by(Person.username)))
    return [role for role in roles if role is not None]


@dataclass(frozen=True)
class PersonAccess:
    """One person's part of what the mirror puts in the hub: the groups they are a member
    of and the roles they hold (the same rules as :func:`hub_groups` and
    :func:`hub_roles`, asked for one person as they sign in)."""

    groups: frozenset[str]
    roles: tuple[dict, ...]


def person_access(session: Session, username: str) -> PersonAccess:
    """``username``'s groups and roles as the hub should hold them (none if unknown)."""
    person = session.get(Person, username)
    if person is None:
        return PersonAccess(frozenset(), ())
    groups: set[str] = set()
    for class_id, school_id, _username in current_enrollments(session, username):
        groups |= {class_group(class_id), school_group(school_id)}
        district_id = session.scalar(select(School.district_id).where(School.id == school_id))
        if district_id:
            groups.add(district_group(district_id))
    taught = list(session.scalars(
        select(Enrollment.class_id).where(Enrollment.username == username,
                                          Enrollment.role == Role.TEACHER)
        .order_by(Enrollment.class_id)))
    role = _role_of_person(person, taught)
    return PersonAccess(frozenset(groups), (role,) if role else ())
