"""The first region admin of a region that starts without demo data.

A center's production hub starts empty (no demo region): someone must be able to sign in
and import the first roster. That person is the region admin ``admin``, created on the first
start only, with a random initial password that ``aiclass up`` prints once to the hub's log.
The password is an initial one (``must_change``): the first sign-in replaces it, so a log
line read later opens nothing.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from hub.org.credentials import set_initial_password
from hub.org.models import Person, Role

FIRST_ADMIN_USERNAME = "admin"


def create_first_admin(session: Session) -> str | None:
    """Create the first region admin when nobody exists yet; return their initial password,
    or ``None`` when the region already has people."""
    if session.query(Person).first() is not None:
        return None
    session.add(Person(username=FIRST_ADMIN_USERNAME, display_name="区域管理员",
                       role=Role.REGION_ADMIN, school_id=None))
    session.flush()
    return set_initial_password(session, FIRST_ADMIN_USERNAME)
