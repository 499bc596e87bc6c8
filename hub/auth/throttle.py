"""A limit per network address on failed sign-ins: it slows a guesser and lets a class in.

A classroom reaches the hub through one NAT address: forty students sign in at the bell
from the same IP, and some of them mistype. A limit on *attempts* per address would turn
the class away, and a lock per address would let one pupil shut the whole room out. So
only *failed* attempts count, in a token bucket per address:

- the bucket holds ``burst`` failures (``[auth] address_failure_burst``, 100 by default:
  a class of forty mistyping twice each still fits) and earns back ``per_minute``
  (``[auth] address_failures_per_minute``, 20) every minute;
- a token is taken *before* the password is checked (so guesses sent at once cannot
  overdraw the bucket) and given back when the password was right: signing in correctly
  never costs anything;
- an empty bucket refuses the attempt unchecked, with 429 and "try again in N s", N being
  the wait for the next token (3 s at the defaults): a delay, never a lock-out.

A guesser behind one address thus gets 100 tries, then one every 3 s, spread over all
accounts (each of which also locks on its own after ``[auth] max_failed_logins``).

A hold is worth a row in the audit trail, but its refusals are not: they come as fast as a
script sends them, unchecked, and a row each would let a guesser fill the trail. So
:meth:`FailedSignInThrottle.take` says when a hold *starts* (the first refusal after an
attempt was let through), and the authenticator records that one.

The address is the last entry of ``X-Forwarded-For``: the hub's proxy appends the peer it
saw there. Tornado's ``remote_ip`` would prefer an ``X-Real-Ip`` header sent by the client
itself, and a guesser could then claim a fresh address for every try. Buckets live in the
hub process (JupyterHub runs one); a restart refills them.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from tornado.httputil import HTTPServerRequest

#: Buckets kept before full ones are forgotten (a full bucket is the same as none).
MAX_TRACKED_ADDRESSES = 10_000


def client_address(request: HTTPServerRequest) -> str:
    """The address the hub's proxy saw the request come from."""
    forwarded = request.headers.get("X-Forwarded-For", "")
    return forwarded.rsplit(",", 1)[-1].strip() or request.remote_ip or ""


@dataclass
class _Bucket:
    tokens: float
    updated: float
    holding: bool = False


@dataclass(frozen=True)
class Verdict:
    """What :meth:`FailedSignInThrottle.take` decided for one attempt."""

    #: Seconds to wait for the next token; 0 when the attempt may go on.
    wait: int
    #: This refusal is the first since the address was last let through.
    hold_starts: bool = False


class FailedSignInThrottle:
    """Token buckets of failed sign-ins, one per address (see the module's docstring)."""

    def __init__(self, burst: int, per_minute: int) -> None:
        self.burst = burst
        self.per_second = per_minute / 60
        self._buckets: dict[str, _Bucket] = {}

    def _refilled(self, address: str, now: float) -> _Bucket:
        bucket = self._buckets.setdefault(address, _Bucket(self.burst, now))
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.per_second)
        bucket.updated = now
        return bucket

    def take(self, address: str) -> Verdict:
        """Take a token for an attempt from ``address``, or say how long to wait for one."""
        now = time.monotonic()
        if len(self._buckets) > MAX_TRACKED_ADDRESSES:
            self._forget_full(now)
        bucket = self._refilled(address, now)
        if bucket.tokens < 1:
            hold_starts, bucket.holding = not bucket.holding, True
            return Verdict(max(1, math.ceil((1 - bucket.tokens) / self.per_second)), hold_starts)
        bucket.tokens -= 1
        bucket.holding = False
        return Verdict(0)

    def give_back(self, address: str) -> None:
        """The attempt signed in: it was not a failure."""
        bucket = self._refilled(address, time.monotonic())
        bucket.tokens = min(self.burst, bucket.tokens + 1)

    def _forget_full(self, now: float) -> None:
        for address in list(self._buckets):
            if self._refilled(address, now).tokens >= self.burst:
                del self._buckets[address]
