"""``/hub/api/aiclass/users``: create a region's accounts in the hub in one transaction.

JupyterHub's ``POST /hub/api/users`` creates the users of a request one at a time: each
gets its own commits, default-role lookups and a server record, about 10 ms of hub time
per person. A region's first roster (20,000 students) would keep the hub busy for minutes
and slow every sign-in meanwhile. This endpoint does what JupyterHub's own start-up does
with ``allowed_users``: it adds the missing ``User`` rows with their default ``user`` role
and their default-server record (which JupyterHub would otherwise make, one commit each,
the first time the user is looked up, e.g. when the mirror puts them in their class group),
and commits once.

Served through ``Authenticator.get_handlers`` like :mod:`hub.auth.role_api`, it needs
``admin:users`` and never creates admins: a region admin's flag stays a separate
``PATCH /hub/api/users/NAME``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from jupyterhub import orm
from jupyterhub.apihandlers.base import APIHandler
from jupyterhub.metrics import TOTAL_USERS
from jupyterhub.scopes import needs_scope
from jupyterhub.utils import maybe_future
from sqlalchemy.orm import Session
from tornado import web

#: Names per ``IN (...)`` query, well under SQLite's bound-parameter limit.
QUERY_CHUNK = 500


def in_chunks(names: Iterable[str]) -> Iterator[list[str]]:
    """``names`` sorted, without repeats, in lists short enough for one ``IN (...)``."""
    ordered = sorted(set(names))
    for start in range(0, len(ordered), QUERY_CHUNK):
        yield ordered[start:start + QUERY_CHUNK]


def users_named(db: Session, names: Iterable[str]) -> dict[str, orm.User]:
    """The hub's users among ``names``, by name (unknown names are simply absent)."""
    return {user.name: user for chunk in in_chunks(names)
            for user in db.query(orm.User).filter(orm.User.name.in_(chunk))}


def add_users(db: Session, names: list[str]) -> list[orm.User]:
    """New hub users named ``names`` (none of whom exists), with their default ``user`` role
    and default-server record, as JupyterHub's own start-up makes them; not committed."""
    user_role = orm.Role.find(db, "user")
    created = [orm.User(name=name) for name in names]
    for user in created:
        user.roles.append(user_role)
        db.add(orm.Spawner(name="", display_name="", user=user))
    db.add_all(created)
    return created


class OrganisationUsersHandler(APIHandler):
    """POST ``{"usernames": [...]}`` creates those the hub lacks; answers what it created."""

    def _existing(self, names: list[str]) -> set[str]:
        return {name for chunk in in_chunks(names)
                for (name,) in self.db.query(orm.User.name).filter(orm.User.name.in_(chunk))}

    @needs_scope("admin:users")
    async def post(self) -> None:
        body = self.get_json_body()
        names = body.get("usernames") if isinstance(body, dict) else None
        if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
            raise web.HTTPError(400, 'the body must be {"usernames": ["name", ...]}')
        normalised = sorted({self.authenticator.normalize_username(n) for n in names})
        invalid = [n for n in normalised if not self.authenticator.validate_username(n)]
        if invalid:
            raise web.HTTPError(400, f"invalid usernames: {invalid[:20]}")
        existing = self._existing(normalised)
        created = add_users(self.db, [n for n in normalised if n not in existing])
        self.db.commit()
        TOTAL_USERS.inc(len(created))
        for user in created:
            await maybe_future(self.authenticator.add_user(user))
        self.log.info("aiclass users: %d created, %d existed", len(created), len(existing))
        self.set_status(201 if created else 200)
        self.write(json.dumps({"created": [u.name for u in created],
                               "existing": len(existing)}))


USER_API_HANDLERS = [(r"/api/aiclass/users", OrganisationUsersHandler)]
