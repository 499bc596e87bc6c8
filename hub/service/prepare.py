"""Preparing a class: start every student's server before the lesson, so nobody waits at the bell.

A teacher presses "prepare" on the class page (or an administrator scripts it); the
servers start through the hub's REST API with a token that may start these users' servers,
in any mode. Requests over the hub's concurrent spawn limit (HTTP 429) and servers still
stopping after the previous lesson are retried, so a whole class is one call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping

from hub.hub_api import HubAPI, server_state


def prepare_class(
    hub_api_url: str,
    token: str,
    usernames: Iterable[str],
    *,
    wait: bool = True,
    timeout: float = 600.0,
    user_options: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Start every listed user's server through the hub's REST API before the lesson.

    Returns each user's state: ``ready``, ``starting`` (when not waiting or timed out) or an
    error text. The token needs ``servers`` on these users.
    """
    api = HubAPI(hub_api_url, token, timeout=30)
    try:
        return asyncio.run(
            _prepare_class(api, list(usernames), wait, timeout, dict(user_options or {}))
        )
    finally:
        api.http.close()


async def _prepare_class(
    api: HubAPI,
    usernames: list[str],
    wait: bool,
    timeout: float,
    user_options: dict[str, str],
) -> dict[str, str]:
    deadline = time.monotonic() + timeout

    async def start_one(name: str) -> str:
        while True:
            response = await asyncio.to_thread(api.start_server, name, user_options)
            if response.status_code == 429 and time.monotonic() < deadline:
                await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
                continue
            if "is pending stop" in response.text and time.monotonic() < deadline:
                await asyncio.sleep(1)  # the previous lesson's server is still shutting down
                continue
            break
        if response.status_code == 201:
            return "ready"
        if response.status_code == 400 and "already running" in response.text:
            return "ready"
        if response.status_code != 202:
            return f"error {response.status_code}: {response.text[:200]}"
        while wait and time.monotonic() < deadline:
            answer = await asyncio.to_thread(api.request, "GET", f"users/{name}")
            state = server_state(answer.json())
            if state == "ready":
                return "ready"
            if state == "stopped":
                return "error: 启动失败 / failed to start"
            await asyncio.sleep(0.5)
        return "starting"

    return dict(zip(usernames, await asyncio.gather(*(start_one(n) for n in usernames)),
                    strict=True))
