"""What the roster and the SSO authenticators share: the roster's database and the hub handlers.

Both check people against the roster in the service database, and both are the hub's only
way to add handlers to its own process (:data:`hub.auth.handlers.HUB_HANDLERS`), so they
derive from :class:`ClassroomAuthenticator` rather than each keeping a copy.
"""

from __future__ import annotations

import asyncio
from typing import Any

from jupyterhub.auth import Authenticator
from tornado import web
from traitlets import Unicode

from hub.audit.scope import school_of
from hub.audit.trail import record
from hub.auth.handlers import HUB_HANDLERS
from hub.auth.sign_in_access import grant_at_sign_in
from hub.auth.throttle import client_address
from hub.db import ServiceDatabase
from hub.hub_metrics import SIGN_INS, sign_in_outcome
from hub.org.directory import PersonAccess, person_access


class ClassroomAuthenticator(Authenticator):
    """An authenticator that reads the roster and adds the classroom's handlers to the hub.

    Put it before JupyterHub's or OAuthenticator's class among the bases, so that its
    :meth:`get_handlers` extends theirs.
    """

    database_url = Unicode(help="SQLAlchemy URL of the service database").tag(config=True)

    _database: ServiceDatabase | None = None

    @property
    def database(self) -> ServiceDatabase:
        """The service database, opened on first use (the roster is read per sign-in)."""
        if self._database is None:
            self._database = ServiceDatabase(self.database_url)
        return self._database

    def get_handlers(self, app: Any) -> list[tuple[str, type]]:
        """The sign-in handlers of the base class, then the classroom's own."""
        return [*super().get_handlers(app), *HUB_HANDLERS]

    async def get_authenticated_user(self, handler: web.RequestHandler,
                                     data: dict | None) -> dict | None:
        """JupyterHub's sign-in, counted by outcome in ``aiclass_sign_ins`` (/hub/metrics).

        A success is also put on the audit trail here, for both authenticators (the
        roster authenticator writes its refusals itself, where it knows their reason), and
        the person's own JupyterHub groups and role are put in the hub at once
        (:mod:`hub.auth.sign_in_access`), not at the organisation mirror's next run.

        JupyterHub has a hook for a successful sign-in (``post_auth_hook``) but none for a
        refused one, so this wraps the outer call once for both authenticators, leaving
        every stage (authenticate, normalize, allow) to JupyterHub.
        """
        try:
            user = await super().get_authenticated_user(handler, data)
        except web.HTTPError as error:
            SIGN_INS.labels(sign_in_outcome(error)).inc()
            raise
        SIGN_INS.labels("success" if user else "failure").inc()
        if user:
            access = await asyncio.get_running_loop().run_in_executor(
                None, self._audit_sign_in, user["name"], client_address(handler.request))
            await grant_at_sign_in(self, handler.db, user["name"], access)
        return user

    def _audit_sign_in(self, username: str, address: str) -> PersonAccess:
        """Put a successful sign-in on the audit trail (the roster writes the refusals),
        and read the person's groups and role for :func:`grant_at_sign_in`."""
        with self.database.session() as session:
            record(session, actor=username, action="sign_in.ok", subject=username,
                   school=school_of(session, username), source=address)
            return person_access(session, username)
