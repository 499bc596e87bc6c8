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

Almost every sign-in finds the hub already holding what the roster says (the mirror put it
there, or the last sign-in did), so the hub's share is read first (:func:`held_access`,
two small queries) and nothing is loaded, written or committed when it matches: about
0.9 ms of the hub's CPU per sign-in instead of 3 ms (JupyterHub's ``User.find`` with its
eager loads and an empty commit), on the one event loop that a class signing in at the
bell queues on for its OAuth round trips.
"""

from __future__ import annotations

from jupyterhub import orm
from jupyterhub.auth import Authenticator
from jupyterhub.metrics import TOTAL_USERS
from jupyterhub.utils import maybe_future
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.auth.group_api import OWNED_GROUP_PREFIXES, set_member_groups
from hub.auth.role_api import ROLE_PREFIX, checked_spec, put_role
from hub.auth.user_api import add_users
from hub.org.directory import PersonAccess

#: A role as compared: its sorted scopes, its description, whether the authenticator owns it.
RoleShape = tuple[tuple[str, ...], str, bool]


def held_access(db: Session, username: str
                ) -> tuple[frozenset[str], dict[str, RoleShape]] | None:
    """The owned groups and ``aiclass-…`` roles the hub holds for ``username`` (``None``
    when the hub has no such user), in two small queries that load no user.

    The roles' scopes (a JSON column whose type SQLAlchemy cannot cache a statement with)
    are read from the role objects, which the hub's session holds in memory already."""
    rows = db.execute(select(orm.User.id, orm.Group.name).outerjoin(orm.User.groups)
                      .where(orm.User.name == username)).all()
    if not rows:
        return None
    groups = frozenset(name for _, name in rows
                       if name is not None and name.startswith(OWNED_GROUP_PREFIXES))
    roles = {}
    for role_id, name, description, managed in db.execute(
            select(orm.Role.id, orm.Role.name, orm.Role.description, orm.Role.managed_by_auth)
            .join(orm.Role.users)
            .where(orm.User.id == rows[0][0], orm.Role.name.startswith(ROLE_PREFIX))):
        scopes = db.get(orm.Role, role_id).scopes or ()
        roles[name] = (tuple(sorted(scopes)), description or "", bool(managed))
    return groups, roles


async def grant_at_sign_in(authenticator: Authenticator, db: Session, username: str,
                           access: PersonAccess) -> bool:
    """Make ``username``'s owned groups and ``aiclass-…`` roles in the hub exactly
    ``access`` (creating the hub account on a first sign-in), in one commit; nothing is
    written when the hub holds them already. Returns whether anything changed."""
    wanted = {spec["name"]: checked_spec(spec) for spec in access.roles}
    shapes = {name: (tuple(spec["scopes"]), spec["description"], True)
              for name, spec in wanted.items()}
    if held_access(db, username) == (access.groups, shapes):
        return False
    user = orm.User.find(db, username)
    created = user is None
    if user is None:
        (user,) = add_users(db, [username])
    set_member_groups(db, user, access.groups)
    for role in [r for r in user.roles if r.name.startswith(ROLE_PREFIX)]:
        if role.name not in wanted:
            role.users.remove(user)
            if not role.users:
                db.delete(role)
    for spec in wanted.values():
        put_role(db, spec, [user])
    db.commit()
    authenticator.log.info("Sign-in of %s: groups and roles put in the hub", username)
    if created:
        TOTAL_USERS.inc()
        await maybe_future(authenticator.add_user(user))
    return True
