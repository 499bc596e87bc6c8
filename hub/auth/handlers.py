"""The handlers every aiclass authenticator adds to the hub, in one list.

JupyterHub serves what ``Authenticator.get_handlers`` returns before its own handlers, so
this is where the hub process gains the organisation mirror's bulk endpoints
(:mod:`hub.auth.user_api`, :mod:`hub.auth.group_api`, :mod:`hub.auth.role_api`) and the held
pending page (:mod:`hub.spawners.pending`), whichever way people sign in.
"""

from __future__ import annotations

from hub.auth.group_api import GROUP_API_HANDLERS
from hub.auth.role_api import ROLE_API_HANDLERS
from hub.auth.user_api import USER_API_HANDLERS
from hub.spawners.pending import SPAWN_PENDING_HANDLERS

HUB_HANDLERS: list[tuple[str, type]] = [
    *ROLE_API_HANDLERS,
    *USER_API_HANDLERS,
    *GROUP_API_HANDLERS,
    *SPAWN_PENDING_HANDLERS,
]
"""``(url, handler)`` pairs, relative to the hub's prefix, that both authenticators add."""
