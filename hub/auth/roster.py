"""Sign-in with roster passwords: Argon2id hashes, lock-out, forced change of the initial password.

The roster (people and their credentials) lives in the service database, the
organisation model's store. The initial password handed out on a sign-in slip must
be replaced before the lab opens: a correct initial password does not sign in, it
brings back the form with fields for a new password.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from jupyterhub.handlers.login import LoginHandler
from tornado import web
from traitlets import Integer, Unicode

from hub.auth.base import ClassroomAuthenticator
from hub.auth.handlers import HUB_HANDLERS
from hub.messages import text
from hub.org.credentials import (
    hash_password,
    locked_minutes_left,
    record_failure,
    record_success,
    verify_password,
)
from hub.org.models import Credential
from hub.settings import AuthSettings, LocaleSettings


class PasswordChangeRequired(web.HTTPError):
    """The password was right but is an initial one: ask for a new password."""

    def __init__(self, message: str) -> None:
        super().__init__(403, message)


class RosterLoginHandler(LoginHandler):
    """JupyterHub's login page, which also asks for a new password when one is due."""

    async def post(self) -> None:
        try:
            await super().post()
        except PasswordChangeRequired as exc:
            self.set_status(403)
            username = self.get_argument("username", strip=True, default="")
            self.finish(await self._render(login_error=exc.log_message, username=username,
                                           change_password=True))


class RosterAuthenticator(ClassroomAuthenticator):
    """Authenticate against the roster in the service database.

    The defaults are the settings' (:class:`hub.settings.AuthSettings`), declared there once.
    """

    locale = Unicode(LocaleSettings.default,
                     help="Language of the messages shown on the login page").tag(config=True)
    max_failed_logins = Integer(AuthSettings.max_failed_logins,
                                help="Failed sign-ins before the account locks").tag(config=True)
    lockout_minutes = Integer(AuthSettings.lockout_minutes,
                              help="Minutes a locked account stays locked").tag(config=True)
    min_password_length = Integer(AuthSettings.min_password_length,
                                  help="Shortest new password accepted").tag(config=True)

    def get_handlers(self, app: Any) -> list[tuple[str, type]]:
        """Our login page, which also asks for a new password, in place of JupyterHub's."""
        return [("/login", RosterLoginHandler), *HUB_HANDLERS]

    def check_allowed(self, username: str, authentication: dict | None = None) -> bool:
        """Everyone who passed :meth:`authenticate` is on the roster, hence allowed."""
        return True

    async def authenticate(self, handler: web.RequestHandler, data: dict) -> dict | None:
        username = self.normalize_username(data.get("username", ""))
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            None,
            self._check_password,
            username,
            data.get("password", ""),
            data.get("new_password"),
            data.get("new_password_confirm"),
        )

    def _message(self, key: str, **values: object) -> str:
        return text(self.locale, key, **values)

    def _check_password(self, username: str, password: str, new_password: str | None,
                        new_password_confirm: str | None) -> dict:
        now = datetime.now(UTC).replace(tzinfo=None)
        refusal: web.HTTPError | None = None
        with self.database.session() as session:
            credential = session.get(Credential, username) if username else None
            if credential is None:
                verify_password(None, password)
                refusal = web.HTTPError(403, self._message("bad_credentials"))
            elif minutes := locked_minutes_left(credential, now):
                refusal = web.HTTPError(403, self._message("locked", minutes=minutes))
            elif not verify_password(credential.password_hash, password):
                record_failure(credential, now, self.max_failed_logins,
                               timedelta(minutes=self.lockout_minutes))
                self.log.warning("Failed sign-in for %s", username)
                locked = credential.locked_until is not None
                refusal = web.HTTPError(403, self._message(
                    "locked", minutes=self.lockout_minutes) if locked
                    else self._message("bad_credentials"))
            else:
                if credential.must_change:
                    self._change_initial_password(credential, password, new_password,
                                                  new_password_confirm)
                record_success(credential)
        if refusal is not None:
            raise refusal
        return {"name": username}

    def _change_initial_password(self, credential: Credential, password: str,
                                 new_password: str | None,
                                 new_password_confirm: str | None) -> None:
        if new_password is None:
            raise PasswordChangeRequired(self._message("must_change"))
        if len(new_password) < self.min_password_length:
            raise PasswordChangeRequired(
                self._message("password_too_short", length=self.min_password_length)
            )
        if new_password != new_password_confirm:
            raise PasswordChangeRequired(self._message("password_mismatch"))
        if new_password == password:
            raise PasswordChangeRequired(self._message("password_unchanged"))
        credential.password_hash = hash_password(new_password)
        credential.must_change = False
        self.log.info("Initial password replaced for %s", credential.username)
