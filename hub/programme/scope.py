"""Which schools a signed-in person may see and change in the programme.

One rule, asked by every programme page: the region sees every school; a district
admin the schools of their district; a school admin their own school; nobody else any.
A school that does not exist answers like one the caller may not see, so ids cannot be
probed by editing a URL.
"""

from __future__ import annotations

from sqlalchemy import Select, false, select
from sqlalchemy.orm import Session

from hub.org.models import District, Person, Role, School


class OutOfScope(Exception):
    """The caller may not see or change this school or district."""


def school_ids_query(person: Person) -> Select:
    """A query of the ids of the schools ``person`` may see (none for teachers/students)."""
    query = select(School.id)
    if person.role == Role.REGION_ADMIN:
        return query
    if person.role == Role.DISTRICT_ADMIN and person.district_id:
        return query.where(School.district_id == person.district_id)
    if person.role == Role.SCHOOL_ADMIN and person.school_id:
        return query.where(School.id == person.school_id)
    return query.where(false())


def school_in_scope(session: Session, person: Person, school_id: str) -> School:
    """The school, if ``person`` may see it; :class:`OutOfScope` otherwise."""
    school = session.get(School, school_id)
    if school is None or session.scalar(
            school_ids_query(person).where(School.id == school_id)) is None:
        raise OutOfScope(school_id)
    return school


def district_in_scope(session: Session, person: Person, district_id: str) -> District:
    """The district, if ``person`` is its district admin or the region's admin."""
    district = session.get(District, district_id)
    allowed = person.role == Role.REGION_ADMIN or (
        person.role == Role.DISTRICT_ADMIN and person.district_id == district_id)
    if district is None or not allowed:
        raise OutOfScope(district_id)
    return district
