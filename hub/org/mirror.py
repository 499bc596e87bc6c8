"""Mirror the organisation model into JupyterHub's users, groups and roles over its REST API.

The service database is the source of truth; the hub holds a copy that it enforces.
:func:`mirror_organisation` reads both, computes the difference and sends only that,
so running it twice changes nothing the second time, and a membership that left
the model (a student removed from a class, moved to next year's class) leaves the
hub too. It owns the ``class-*``, ``school-*`` and ``district-*`` groups and the
``aiclass-*`` roles; other groups and roles are left alone. Accounts, groups and roles
each go through one small endpoint the authenticators add to the hub's REST API
(:mod:`hub.auth.user_api`, :mod:`hub.auth.group_api`, :mod:`hub.auth.role_api`), so a
region of 20,000 students is a handful of requests and transactions, not one per person.

It runs in two places: ``aiclass roster import`` calls it right after a change, and
the hub runs it as the managed service ``aiclass-org-mirror`` (``python -m
hub.org.mirror``), which reconciles as the hub starts, catching changes made while
the hub was down, and then every ``[org] mirror_interval_minutes``.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db import ServiceDatabase
from hub.hub_api import HubAPI, HubAPIError, hub_api_url
from hub.org.directory import hub_groups, hub_roles
from hub.org.models import Person, Role
from hub.process_lifetime import die_with_parent, exit_on_stop_signals
from hub.settings import Settings, settings_from_environment

SERVICE_NAME = "aiclass-org-mirror"
SERVICE_ROLE = "org-mirror"
SERVICE_SCOPES = ["admin:users", "admin:groups", "list:groups", "read:groups",
                  "list:users", "read:users", "read:roles"]
TOKEN_FILE_NAME = "org-mirror.token"
USERS_PER_REQUEST = 5000

log = logging.getLogger("aiclass.org.mirror")


def mirror_token(data_dir: Path) -> str:
    """The mirror service's API token, made on first use and readable only by the hub's user."""
    path = data_dir / TOKEN_FILE_NAME
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32), encoding="ascii")
    return path.read_text(encoding="ascii").strip()


@dataclass
class Organisation:
    """What the hub should hold, derived from the model."""

    groups: dict[str, set[str]]
    roles: list[dict]
    users: set[str]
    superusers: set[str]
    region_admins: set[str] = field(default_factory=set)
    keep_admin: set[str] = field(default_factory=set)
    """Superusers named in ``[hub] admin_users``, whose admin flag the mirror leaves alone."""


@dataclass
class MirrorReport:
    """What one reconciliation changed in the hub."""

    users_created: int = 0
    groups_created: int = 0
    groups_deleted: int = 0
    memberships_added: int = 0
    memberships_removed: int = 0
    roles: dict[str, int] = field(default_factory=dict)
    admins_changed: int = 0
    requests: int = 0

    @property
    def changed(self) -> bool:
        return any((self.users_created, self.groups_created, self.groups_deleted,
                    self.memberships_added, self.memberships_removed, self.admins_changed,
                    self.roles.get("created"), self.roles.get("updated"),
                    self.roles.get("deleted")))

    def summary(self) -> str:
        return (f"hub: 用户 / users +{self.users_created}; 组 / groups +{self.groups_created} "
                f"-{self.groups_deleted}; 组成员 / memberships +{self.memberships_added} "
                f"-{self.memberships_removed}; 角色 / roles {self.roles}; "
                f"{self.requests} 次请求 / requests")


def organisation(session: Session, region_admins_are_superusers: bool) -> Organisation:
    """The groups, roles and users the hub should hold according to the model."""
    groups = {name: set(members) for name, members in hub_groups(session).items()}
    roles = hub_roles(session)
    users = {u for members in groups.values() for u in members}
    users |= {u for role in roles for u in role["users"]}
    region_admins = set(session.scalars(
        select(Person.username).where(Person.role == Role.REGION_ADMIN)))
    superusers = region_admins if region_admins_are_superusers else set()
    return Organisation(groups, roles, users | region_admins, superusers, region_admins)


def _create_users(api: HubAPI, usernames: list[str]) -> int:
    """Create the missing accounts through :mod:`hub.auth.user_api`, one transaction a request."""
    created = 0
    for start in range(0, len(usernames), USERS_PER_REQUEST):
        created += len(api.create_users(usernames[start:start + USERS_PER_REQUEST]))
    return created


def mirror_organisation(api: HubAPI, wanted: Organisation) -> MirrorReport:
    """Make the hub's groups, roles and region-admin flags match ``wanted``."""
    report = MirrorReport()
    before = api.requests
    current = {name: set(members) for name, members in api.groups().items()}
    current_roles = {role["name"]: role for role in api.roles()}
    known_users = {u for members in current.values() for u in members}
    known_users |= {u for role in current_roles.values() for u in role["users"]}
    report.users_created = _create_users(api, sorted(wanted.users - known_users))
    if current != wanted.groups:
        changes = api.set_groups(wanted.groups)
        report.groups_created = changes["created"]
        report.groups_deleted = changes["deleted"]
        report.memberships_added = changes["added"]
        report.memberships_removed = changes["removed"]
    report.roles = api.set_roles(wanted.roles)
    for username in sorted(wanted.region_admins - wanted.keep_admin):
        should_be = username in wanted.superusers
        if api.user(username).get("admin") != should_be:
            api.set_admin(username, should_be)
            report.admins_changed += 1
    report.requests = api.requests - before
    return report


def mirror_from_settings(settings: Settings, api: HubAPI | None = None) -> MirrorReport:
    """Read the model from the service database and mirror it into the running hub."""
    database = ServiceDatabase(settings.database_url)
    try:
        with database.session() as session:
            wanted = organisation(session, settings.org.region_admins_are_superusers)
        wanted.keep_admin = set(settings.hub.admin_users)
    finally:
        database.engine.dispose()
    api = api or HubAPI(hub_api_url(settings), mirror_token(settings.data_dir))
    return mirror_organisation(api, wanted)


def main() -> None:
    """The managed service: reconcile now, then every ``[org] mirror_interval_minutes``."""
    die_with_parent()
    exit_on_stop_signals()
    logging.basicConfig(level=logging.INFO, format="[%(name)s %(asctime)s] %(message)s")
    settings = settings_from_environment()
    api = HubAPI(os.environ["JUPYTERHUB_API_URL"], os.environ["JUPYTERHUB_API_TOKEN"])
    while True:
        try:
            report = mirror_from_settings(settings, api)
        except HubAPIError as exc:
            log.warning("mirror failed, retrying in 10 s: %s", exc)
            time.sleep(10)
            continue
        log.info("organisation mirrored: %s", report.summary())
        time.sleep(settings.org.mirror_interval_minutes * 60)


if __name__ == "__main__":
    main()
