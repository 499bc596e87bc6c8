"""What the roster and the SSO authenticators share: the roster's database and the hub handlers.

Both check people against the roster in the service database, and both are the hub's only
way to add handlers to its own process (:data:`hub.auth.handlers.HUB_HANDLERS`), so they
derive from :class:`ClassroomAuthenticator` rather than each keeping a copy.
"""

from __future__ import annotations

from typing import Any

from jupyterhub.auth import Authenticator
from traitlets import Unicode

from hub.auth.handlers import HUB_HANDLERS
from hub.db import ServiceDatabase


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
