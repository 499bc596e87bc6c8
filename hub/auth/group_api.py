"""``/hub/api/aiclass/groups``: the organisation's class and school groups, set in one request.

JupyterHub's ``POST /hub/api/groups/NAME`` looks each member up one by one (a query with
its eager loads per name), and every student is in two groups: a 20,000-student region
costs 40,000 lookups, over a minute of hub time during which sign-ins wait. This endpoint
takes the whole wanted membership of the ``class-*``, ``school-*`` and ``district-*``
groups, loads the members with one query per few hundred names, and changes only the
difference through the ORM relationships (so users the hub holds in memory see their new
groups at once), in one transaction.

Served through ``Authenticator.get_handlers`` like :mod:`hub.auth.role_api`; it needs
``admin:groups`` and touches no other group.
"""

from __future__ import annotations

import json
from collections.abc import Collection

from jupyterhub import orm
from jupyterhub.apihandlers.base import APIHandler
from jupyterhub.scopes import needs_scope
from sqlalchemy import or_
from sqlalchemy.orm import Session
from tornado import web

from hub.auth.user_api import users_named

OWNED_GROUP_PREFIXES = ("class-", "school-", "district-")


def _owned(name: str) -> bool:
    return name.startswith(OWNED_GROUP_PREFIXES)


def set_member_groups(db: Session, user: orm.User, wanted: Collection[str]) -> None:
    """Make ``user``'s owned groups exactly ``wanted`` (an owned group missing from the hub
    is made; the user's other groups stay); not committed. One person's share of the PUT
    below, for a sign-in."""
    if any(not _owned(name) for name in wanted):
        raise ValueError(f"not an owned group: {sorted(wanted)}")
    have = {group.name: group for group in user.groups if _owned(group.name)}
    for name in sorted(set(have) - set(wanted)):
        user.groups.remove(have[name])
    missing = sorted(set(wanted) - set(have))
    existing = {group.name: group for group in
                db.query(orm.Group).filter(orm.Group.name.in_(missing))} if missing else {}
    for name in missing:
        group = existing.get(name)
        if group is None:
            group = orm.Group(name=name)
            db.add(group)
        user.groups.append(group)


class OrganisationGroupsHandler(APIHandler):
    """GET lists the owned groups and members; PUT makes them exactly the given mapping."""

    def _current(self) -> dict[str, orm.Group]:
        query = self.db.query(orm.Group).filter(
            or_(*(orm.Group.name.startswith(prefix) for prefix in OWNED_GROUP_PREFIXES))
        )
        return {group.name: group for group in query}

    @needs_scope("admin:groups")
    def get(self) -> None:
        groups = {name: sorted(u.name for u in group.users)
                  for name, group in self._current().items()}
        self.write(json.dumps(groups))

    @needs_scope("admin:groups")
    def put(self) -> None:
        body = self.get_json_body()
        wanted = body.get("groups") if isinstance(body, dict) else None
        if not isinstance(wanted, dict) or not all(
            isinstance(members, list) and all(isinstance(u, str) for u in members)
            for members in wanted.values()
        ):
            raise web.HTTPError(400, 'the body must be {"groups": {"class-…": ["name", …]}}')
        foreign = sorted(name for name in wanted if not _owned(name))
        if foreign:
            raise web.HTTPError(
                400, f"only {', '.join(OWNED_GROUP_PREFIXES)}* groups may be set here: "
                f"{foreign[:20]}"
            )
        users = users_named(self.db, (u for members in wanted.values() for u in members))
        unknown = sorted({u for members in wanted.values() for u in members} - users.keys())
        if unknown:
            raise web.HTTPError(400, f"unknown users: {unknown[:20]}")
        current = self._current()
        counts = {"created": 0, "deleted": 0, "added": 0, "removed": 0}
        for name, members in wanted.items():
            group = current.get(name)
            if group is None:
                group = orm.Group(name=name)
                self.db.add(group)
                counts["created"] += 1
            have = {u.name: u for u in group.users}
            want = set(members)
            for username in sorted(want - have.keys()):
                group.users.append(users[username])
                counts["added"] += 1
            for username in sorted(have.keys() - want):
                group.users.remove(have[username])
                counts["removed"] += 1
        for name, group in current.items():
            if name not in wanted:
                self.db.delete(group)
                counts["deleted"] += 1
        self.db.commit()
        self.log.info("aiclass groups: %s", counts)
        self.write(json.dumps(counts))


GROUP_API_HANDLERS = [(r"/api/aiclass/groups", OrganisationGroupsHandler)]
