"""Roster passwords: hashing with Argon2id, initial passwords, lock-out bookkeeping.

Only hashes are stored. Initial passwords avoid look-alike characters because
they are printed on sign-in slips that twelve-year-olds type in. Lock-out is counted
in the database with single statements, so concurrent guesses cannot slip past it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from hub.org.models import Credential

INITIAL_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
INITIAL_PASSWORD_LENGTH = 10

#: OWASP's Argon2id minimum (19 MiB, 2 passes, 1 lane): about 20 ms a check on one core.
#: argon2-cffi's default (64 MiB, 3 passes, 4 lanes) takes 300 ms or more on a 2-core hub,
#: and a class of 40 signing in at the bell would queue for over 7 s. Guessing is limited
#: by the lock-out (``[auth] max_failed_logins``), not by the cost of one check. Hashes
#: made with other parameters still verify: each hash carries its own.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_DUMMY_HASH = _hasher.hash("aiclass-dummy-password")


def hash_password(password: str) -> str:
    """Argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check ``password``; with no hash, spend the same time and answer no."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def new_initial_password() -> str:
    """A random initial password that is easy to read off a printed slip."""
    return "".join(secrets.choice(INITIAL_PASSWORD_ALPHABET)
                   for _ in range(INITIAL_PASSWORD_LENGTH))


def set_initial_password(session: Session, username: str) -> str:
    """Give ``username`` a fresh initial password (changed at first sign-in); return it."""
    password = new_initial_password()
    credential = session.get(Credential, username)
    if credential is None:
        credential = Credential(username=username, password_hash="")
        session.add(credential)
    credential.password_hash = hash_password(password)
    credential.must_change = True
    credential.failed_attempts = 0
    credential.locked_until = None
    return password


@dataclass(frozen=True)
class Attempt:
    """A sign-in attempt, counted before its password is checked."""

    number: int
    """Its place among the account's consecutive failed attempts, itself included."""
    password_hash: str
    must_change: bool


def begin_attempt(session: Session, username: str, now: datetime) -> Attempt | None:
    """Count an attempt at ``username`` in one statement; ``None`` if unknown or locked.

    The count goes up *before* the password is checked, in a single
    ``UPDATE ... SET failed_attempts = failed_attempts + 1 ... RETURNING`` (SQLite and
    PostgreSQL alike), so that thirty guesses sent at once get thirty different numbers:
    a read followed by a write would let them all read the same count, and every one of
    them would be checked although the account should have locked after the fifth. A
    right password gives the attempt back (:func:`record_success`).
    """
    statement = (
        update(Credential)
        .where(Credential.username == username,
               or_(Credential.locked_until.is_(None), Credential.locked_until <= now))
        .values(failed_attempts=Credential.failed_attempts + 1)
        .returning(Credential.failed_attempts, Credential.password_hash,
                   Credential.must_change)
    )
    row = session.execute(statement).one_or_none()
    return None if row is None else Attempt(*row)


def lock(session: Session, username: str, until: datetime) -> None:
    """Lock ``username`` until ``until``; the count starts again once it opens."""
    session.execute(update(Credential).where(Credential.username == username)
                    .values(locked_until=until, failed_attempts=0))


def record_success(session: Session, username: str) -> None:
    """Forget earlier failures after a right password."""
    session.execute(update(Credential).where(Credential.username == username)
                    .values(failed_attempts=0, locked_until=None))
