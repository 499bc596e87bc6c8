"""``/hub/api/aiclass/roles``: the organisation's scoped roles, set through the hub's REST API.

JupyterHub 6.1 has REST endpoints for users and groups but none for roles: roles come
from ``load_roles`` at start-up or from an authenticator. A teacher given a new class
must not wait for a hub restart, so the authenticators serve this endpoint (through
``Authenticator.get_handlers``, JupyterHub's hook for extra hub pages) and the mirror
puts the whole set of ``aiclass-*`` roles with one request.

It cannot be used to escalate: it needs ``admin:users`` (which can already grant
admin), touches only roles named ``aiclass-…``, and accepts only the read/start/stop
scopes the organisation hands out. The roles are marked as managed by the
authenticator so that JupyterHub's start-up clean-up of ``load_roles`` leaves them.
"""

from __future__ import annotations

import json

from jupyterhub import orm, roles
from jupyterhub.apihandlers.base import APIHandler
from jupyterhub.scopes import needs_scope
from sqlalchemy.orm import Session
from tornado import web

from hub.auth.user_api import users_named
from hub.monitoring import READ_METRICS_SCOPES

ROLE_PREFIX = "aiclass-"
ALLOWED_SCOPES = frozenset({"list:users", "read:users", "read:servers", "start:servers",
                            "delete:servers", "list:groups", "read:groups", "access:servers",
                            "read:users:activity", "read:users:name", "read:groups:name",
                            *READ_METRICS_SCOPES})


def _role_model(role: orm.Role) -> dict:
    return {"name": role.name, "description": role.description or "",
            "scopes": sorted(role.scopes), "users": sorted(u.name for u in role.users)}


def checked_spec(spec: object) -> dict:
    """``spec`` as a role this endpoint may set (an ``aiclass-…`` name, allowed scopes);
    an HTTP 400/403 naming the fault otherwise."""
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise web.HTTPError(400, "each role needs a name")
    name = spec["name"]
    if not name.startswith(ROLE_PREFIX):
        raise web.HTTPError(400, f"role {name!r}: only {ROLE_PREFIX}* roles may be set here")
    scopes = spec.get("scopes", [])
    users = spec.get("users", [])
    if not (isinstance(scopes, list) and all(isinstance(s, str) for s in scopes)):
        raise web.HTTPError(400, f"role {name!r}: scopes must be a list of strings")
    if not (isinstance(users, list) and all(isinstance(u, str) for u in users)):
        raise web.HTTPError(400, f"role {name!r}: users must be a list of usernames")
    refused = sorted({s for s in scopes if s.split("!", 1)[0] not in ALLOWED_SCOPES})
    if refused:
        raise web.HTTPError(403, f"role {name!r}: scopes not allowed here: {refused}")
    return {"name": name, "description": str(spec.get("description", "")),
            "scopes": sorted(scopes), "users": sorted(set(users))}


def put_role(db: Session, spec: dict, users: list[orm.User]) -> None:
    """Create or update one checked role (:func:`checked_spec`) held by exactly ``users``,
    marked as the authenticator's so that JupyterHub's start-up leaves it; not committed."""
    role = roles.create_role(db, {**spec, "managed_by_auth": True}, commit=False)
    role.managed_by_auth = True
    role.users = users


class OrganisationRolesHandler(APIHandler):
    """GET lists the ``aiclass-*`` roles; PUT makes them exactly the given list."""

    def _current(self) -> dict[str, orm.Role]:
        query = self.db.query(orm.Role).filter(orm.Role.name.startswith(ROLE_PREFIX))
        return {role.name: role for role in query}

    @needs_scope("admin:users")
    def get(self) -> None:
        self.write(json.dumps([_role_model(r) for r in self._current().values()]))

    @needs_scope("admin:users")
    def put(self) -> None:
        body = self.get_json_body()
        if not isinstance(body, dict) or not isinstance(body.get("roles"), list):
            raise web.HTTPError(400, 'the body must be {"roles": [...]}')
        wanted = {spec["name"]: spec for spec in map(checked_spec, body["roles"])}
        usernames = {u for spec in wanted.values() for u in spec["users"]}
        users = users_named(self.db, usernames)
        unknown = sorted(usernames - users.keys())
        if unknown:
            raise web.HTTPError(400, f"unknown users: {unknown[:20]}")
        current = self._current()
        counts = {"created": 0, "updated": 0, "deleted": 0, "unchanged": 0}
        for name, spec in wanted.items():
            role = current.get(name)
            if role is not None and _role_model(role) == spec:
                counts["unchanged"] += 1
                continue
            counts["created" if role is None else "updated"] += 1
            put_role(self.db, spec, [users[u] for u in spec["users"]])
        for name, role in current.items():
            if name not in wanted:
                self.db.delete(role)
                counts["deleted"] += 1
        self.db.commit()
        self.log.info("aiclass roles: %s", counts)
        self.write(json.dumps(counts))


ROLE_API_HANDLERS = [(r"/api/aiclass/roles", OrganisationRolesHandler)]
