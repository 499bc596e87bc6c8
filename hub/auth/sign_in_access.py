"""The signing-in person's own JupyterHub groups and role, put in the hub as they sign in.

The organisation mirror (:mod:`hub.org.mirror`) reconciles the whole region as the hub
starts, every ``[org] mirror_interval_minutes`` and right after ``aiclass roster
import``. A change made any other way reached the hub only at its next run: a district
admin made by the SSO's district claim at this very sign-in, or one put on a roster
uploaded on the region's page, found the hub refusing them their district's servers for
up to ten minutes while the classroom pages already let them in. So every sign-in puts
the person's own share of the mirror into the hub first: the same rules
(:func:`hub.org.directory.person_access`) through the same writes as the mirror's
endpoints (:func:`~hub.auth.group_api.set_member_groups`,
:func:`~hub.auth.role_api.put_role`, :func:`~hub.auth.user_api.add_users`), in the hub's
own process and database session, before JupyterHub finishes the sign-in. It only ever
touches that one person's ``aiclass-…`` roles and owned groups, so it cannot disagree with
the mirror, only be ahead of it.
"""

from __future__ import annotations

from jupyterhub import orm
from jupyterhub.auth import Authenticator
from jupyterhub.metrics import TOTAL_USERS
from jupyterhub.utils import maybe_future
from sqlalchemy.orm import Session

from hub.auth.group_api import set_member_groups
from hub.auth.role_api import ROLE_PREFIX, checked_spec, put_role
from hub.auth.user_api import add_users
from hub.org.directory import PersonAccess


async def grant_at_sign_in(authenticator: Authenticator, db: Session, username: str,
                           access: PersonAccess) -> None:
    """Make ``username``'s owned groups and ``aiclass-…`` roles in the hub exactly
    ``access`` (creating the hub account on a first sign-in), in one commit."""
    user = orm.User.find(db, username)
    created = user is None
    if user is None:
        (user,) = add_users(db, [username])
    set_member_groups(db, user, access.groups)
    wanted = {spec["name"]: checked_spec(spec) for spec in access.roles}
    for role in [r for r in user.roles if r.name.startswith(ROLE_PREFIX)]:
        if role.name not in wanted:
            role.users.remove(user)
            if not role.users:
                db.delete(role)
    for spec in wanted.values():
        put_role(db, spec, [user])
    db.commit()
    if created:
        TOTAL_USERS.inc()
        await maybe_future(authenticator.add_user(user))
