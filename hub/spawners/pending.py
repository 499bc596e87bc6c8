"""The "your server is starting" page, damped against a class refreshing it.

When forty students sign in at 8:00 and their servers start together, impatient students
(or clients that poll) ask for the pending page again and again. JupyterHub renders it
afresh each time — three requests through the proxy, a cookie lookup and a template — and a
class refreshing four times a second kept one of a two-core server's cores busy drawing
progress pages instead of starting the very servers they waited for. A repeated request
for the page (the same student within :data:`HOLD_SECONDS` of the last one) is therefore
held until the server is ready — then answered at once with the redirect to it — or the
hold runs out, and only then rendered. A browser's first visit is rendered at once, as
before, and its progress bar follows the start through the progress API, untouched.

Installed by the authenticators' ``get_handlers``, which JupyterHub puts before its own
handlers for the same URLs.
"""

from __future__ import annotations

import asyncio
import time

from jupyterhub.handlers.pages import SpawnPendingHandler
from jupyterhub.scopes import needs_scope
from tornado import web

HOLD_SECONDS = 5.0
"""How long a repeated request for the page waits for the server before it is rendered."""
CHECK_SECONDS = 0.1


class HeldSpawnPendingHandler(SpawnPendingHandler):
    """JupyterHub's pending page, holding repeated requests while the server starts."""

    last_shown: dict[tuple[str, str], float] = {}

    @web.authenticated
    @needs_scope("servers")
    async def get(self, user_name: str, server_name: str = "") -> None:
        key = (user_name, server_name)
        spawner = self.current_user.spawners.get(server_name) if (
            user_name == self.current_user.name) else None
        now = time.monotonic()
        if spawner is not None and spawner.pending == "spawn" and (
                now - self.last_shown.get(key, -HOLD_SECONDS) < HOLD_SECONDS):
            deadline = now + HOLD_SECONDS
            while (spawner.pending == "spawn" and time.monotonic() < deadline
                   and not self.request.connection.stream.closed()):
                await asyncio.sleep(CHECK_SECONDS)
        if spawner is not None and spawner.pending == "spawn":
            self.last_shown[key] = time.monotonic()
        else:
            self.last_shown.pop(key, None)
        await super().get(user_name, server_name)


SPAWN_PENDING_HANDLERS = [
    (r"/spawn-pending/([^/]+)", HeldSpawnPendingHandler),
    (r"/spawn-pending/([^/]+)/([^/]+)", HeldSpawnPendingHandler),
]
