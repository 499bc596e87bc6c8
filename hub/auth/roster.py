"""Sign-in with roster passwords: Argon2id hashes, lock-out, forced change of the initial password.

One refusal, in text, status and cost, for a wrong password, an unknown user and a
locked account; failures are counted per account in single statements
(:func:`hub.org.credentials.begin_attempt`) and per address (:mod:`hub.auth.throttle`).

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

from hub.audit.scope import school_of
from hub.audit.trail import record
from hub.auth.base import ClassroomAuthenticator
from hub.auth.handlers import HUB_HANDLERS
from hub.auth.throttle import FailedSignInThrottle, client_address
from hub.messages import text
from hub.org.credentials import (
    begin_attempt,
    hash_password,
    lock,
    record_success,
    verify_password,
)
from hub.org.models import Credential, Person
from hub.settings import AuthSettings, LocaleSettings


class PasswordChangeRequired(web.HTTPError):
    """The password was right but is an initial one: ask for a new password."""

    sign_in_outcome = "password_change"

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
    address_failure_burst = Integer(
        AuthSettings.address_failure_burst,
        help="Failed sign-ins one address may make in a burst (hub.auth.throttle)",
    ).tag(config=True)
    address_failures_per_minute = Integer(
        AuthSettings.address_failures_per_minute,
        help="Failed sign-ins an address earns back per minute (hub.auth.throttle)",
    ).tag(config=True)

    _throttle: FailedSignInThrottle | None = None

    def get_handlers(self, app: Any) -> list[tuple[str, type]]:
        """Our login page, which also asks for a new password, in place of JupyterHub's."""
        return [("/login", RosterLoginHandler), *HUB_HANDLERS]

    def check_allowed(self, username: str, authentication: dict | None = None) -> bool:
        """Everyone who passed :meth:`authenticate` is on the roster, hence allowed."""
        return True

    @property
    def throttle(self) -> FailedSignInThrottle:
        """The per-address limit on failed sign-ins, made on first use from the traits."""
        if self._throttle is None:
            self._throttle = FailedSignInThrottle(self.address_failure_burst,
                                                  self.address_failures_per_minute)
        return self._throttle

    async def authenticate(self, handler: web.RequestHandler, data: dict) -> dict | None:
        """Check the password, within the per-address limit on failures.

        A wrong password, an unknown user and a locked account get the same 403 and text,
        after the same work (one Argon2 check), so that neither the page nor its timing
        tells a guesser which usernames exist or which accounts they have locked.
        """
        username = self.normalize_username(data.get("username", ""))
        address = client_address(handler.request)
        verdict = self.throttle.take(address)
        if verdict.wait:
            if verdict.hold_starts:
                self.log.warning("Sign-ins from %s held back: too many failures", address)
                with self.database.session() as session:
                    record(session, actor="", action="sign_in.held_back", source=address,
                           detail={"wait_seconds": verdict.wait})
            raise web.HTTPError(429, self._message("retry_later", seconds=verdict.wait))
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(
                None,
                self._check_password,
                username,
                data.get("password", ""),
                data.get("new_password"),
                data.get("new_password_confirm"),
                address,
            )
        except PasswordChangeRequired:
            self.throttle.give_back(address)
            raise
        self.throttle.give_back(address)
        return {"name": username}

    def _message(self, key: str, **values: object) -> str:
        return text(self.locale, key, **values)

    def _refusal(self, username: str, address: str, reason: str) -> web.HTTPError:
        """The one refusal, after the audit trail has the failure (or the lock-out).

        A username nobody holds is not written: it could be a real name typed by mistake.
        """
        self.log.warning("Failed sign-in for %r", username[:64])
        with self.database.session() as session:
            known = bool(username) and session.get(Person, username) is not None
            record(session, actor="", subject=username if known else "",
                   action="sign_in.locked" if reason == "locked_now" else "sign_in.failed",
                   school=school_of(session, username) if known else "", source=address,
                   detail={"reason": reason if known else "unknown_user"})
        return web.HTTPError(403, self._message("bad_credentials"))

    def _lock(self, username: str, now: datetime) -> None:
        with self.database.session() as session:
            lock(session, username, now + timedelta(minutes=self.lockout_minutes))

    def _check_password(self, username: str, password: str, new_password: str | None,
                        new_password_confirm: str | None, address: str = "") -> None:
        now = datetime.now(UTC).replace(tzinfo=None)
        with self.database.session() as session:
            attempt = begin_attempt(session, username, now) if username else None
        if attempt is None or attempt.number > self.max_failed_logins:
            verify_password(None, password)
            if attempt is not None:
                self._lock(username, now)
            raise self._refusal(username, address,
                                "locked_now" if attempt is not None else "locked")
        if not verify_password(attempt.password_hash, password):
            locks = attempt.number >= self.max_failed_logins
            if locks:
                self._lock(username, now)
            raise self._refusal(username, address, "locked_now" if locks else "wrong_password")
        with self.database.session() as session:
            record_success(session, username)
        if attempt.must_change:
            with self.database.session() as session:
                self._change_initial_password(session.get(Credential, username), password,
                                              new_password, new_password_confirm)

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
