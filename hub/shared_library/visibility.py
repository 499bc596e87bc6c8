"""Who may see a shared item and who may review it: one rule for every page and search.

An author always sees their own items. Anyone else sees an item only once a version of
it is approved, and then only on its shelf: the region's library is open to every
member of staff; a school's to that school's staff and the admins above it. A curator
also sees what waits for their review: the school admin for the school's shelf; the
region admin, or the district admin for their district's schools, for the region's.
Students see none of it. An item the caller may not see answers like one that does not
exist, so ids cannot be probed.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.orm import Session

from hub.org.models import Person, Role, School
from hub.shared_library.models import SharedItem, Shelf


class NotVisible(Exception):
    """The caller may not see (or not do this to) the item; said like 'no such item'."""


def _schools_under(person: Person) -> ColumnElement[bool]:
    """The items whose school is within an admin's reach (none for others)."""
    if person.role == Role.REGION_ADMIN:
        return true()
    if person.role == Role.DISTRICT_ADMIN and person.district_id:
        return SharedItem.school_id.in_(select(School.id).where(
            School.district_id == person.district_id))
    if person.school_id and person.role in (Role.SCHOOL_ADMIN, Role.TEACHER):
        return SharedItem.school_id == person.school_id
    return false()


def curated_clause(person: Person) -> ColumnElement[bool]:
    """The items whose versions ``person`` may review (their own excepted, see below)."""
    if person.role == Role.SCHOOL_ADMIN and person.school_id:
        return and_(SharedItem.shelf == Shelf.SCHOOL, SharedItem.school_id == person.school_id)
    if person.role == Role.REGION_ADMIN:
        return SharedItem.shelf == Shelf.REGION
    if person.role == Role.DISTRICT_ADMIN and person.district_id:
        return and_(SharedItem.shelf == Shelf.REGION, _schools_under(person))
    return false()


def visible_clause(person: Person) -> ColumnElement[bool]:
    """The items ``person`` may see, as a condition on :class:`SharedItem`."""
    if person.role == Role.STUDENT:
        return false()
    approved = SharedItem.approved_version.is_not(None)
    return or_(SharedItem.author == person.username, curated_clause(person),
               and_(approved, or_(SharedItem.shelf == Shelf.REGION, _schools_under(person))))


def visible_item(session: Session, person: Person, item_id: int) -> SharedItem:
    """The item if ``person`` may see it; :class:`NotVisible` otherwise."""
    item = session.scalar(select(SharedItem).where(SharedItem.id == item_id,
                                                   visible_clause(person)))
    if item is None:
        raise NotVisible(item_id)
    return item


def may_review(session: Session, person: Person, item: SharedItem) -> bool:
    """Whether ``person`` curates the item's shelf; never for the item's own author."""
    if item.author == person.username:
        return False
    return session.scalar(select(SharedItem.id).where(SharedItem.id == item.id,
                                                      curated_clause(person))) is not None
