"""Roster passwords: hashing with Argon2id, initial passwords, lock-out bookkeeping.

Only hashes are stored. Initial passwords avoid look-alike characters because
they are printed on sign-in slips that twelve-year-olds type in.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
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


def locked_minutes_left(credential: Credential, now: datetime) -> int:
    """Whole minutes until a locked account opens again; 0 when it is not locked."""
    if credential.locked_until is None or credential.locked_until <= now:
        return 0
    return max(1, int((credential.locked_until - now) / timedelta(minutes=1) + 0.999))


def record_failure(credential: Credential, now: datetime, max_failed: int,
                   lockout: timedelta) -> None:
    """Count a failed sign-in and lock the account once ``max_failed`` is reached."""
    credential.failed_attempts += 1
    if credential.failed_attempts >= max_failed:
        credential.locked_until = now + lockout
        credential.failed_attempts = 0


def record_success(credential: Credential) -> None:
    """Forget earlier failures after a good sign-in."""
    credential.failed_attempts = 0
    credential.locked_until = None
