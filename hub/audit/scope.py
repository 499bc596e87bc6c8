"""Where an event belongs: the school a person's rows are filed under.

The search page limits a school admin to rows whose ``school`` is theirs, so every
event about a person is filed under that person's school, read here from the roster.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.org.models import Person, SchoolClass


def school_of(session: Session, username: str) -> str:
    """The school of ``username`` on the roster; "" for a region admin or an unknown name."""
    if not username:
        return ""
    return session.execute(select(Person.school_id).where(Person.username == username)
                           ).scalar_one_or_none() or ""


def school_of_class(session: Session, class_id: str) -> str:
    """The school a class belongs to; "" for an unknown class."""
    return session.execute(select(SchoolClass.school_id).where(SchoolClass.id == class_id)
                           ).scalar_one_or_none() or ""
