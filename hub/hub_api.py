"""The one client of JupyterHub's REST API that the hub's parts share.

Four parts talk to the running hub with a token of their own: the organisation mirror (the
bulk endpoints of :mod:`hub.auth`, from its own process and from ``aiclass roster
import``), preparing a class before the lesson (starting servers), the teacher's class page
(whose servers are up) and the activity recorder (who has an active server). They share the
address, the token header, the errors and one reading of a user's model,
:func:`server_state`, so "ready" and "pending" mean the same on every page and report.

The mirror and the preparation run outside any event loop (a process or a thread of their
own) and use the blocking methods; the classroom service's handlers and timers share its
Tornado loop and use the ``async`` ones, which never block it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import requests
from tornado.httpclient import AsyncHTTPClient, HTTPRequest, HTTPResponse

from hub.settings import Settings

ServerState = Literal["ready", "pending", "stopped"]
PAGE_SIZE = 200


class HubAPIError(Exception):
    """The hub refused or could not be reached; the message says which call and why."""


class HubUnreachable(HubAPIError):
    """No answer at all: the hub is not running (yet), as opposed to a refusal."""


@functools.cache
def _students_gateway(network: str) -> str:
    from docker import APIClient

    from hub.spawners.student_network import StudentNetwork

    client = APIClient()
    try:
        return StudentNetwork.ensure(client, network).gateway
    finally:
        client.close()


def internal_address(settings: Settings) -> str:
    """Where the hub's API and the classroom service listen: loopback, except in docker mode
    behind ``[tls]``.

    There students' containers cannot go through the proxy (its certificate names the hub's
    public name, not the address they reach it at), so both listen on the students' network's
    gateway, an address of this host that only the fenced-in containers and the host reach
    (:mod:`hub.spawners.student_network`), never on every address where the school network
    would meet them in clear. The network is made here if missing, before the hub binds.
    """
    if settings.hub.mode == "docker" and settings.tls.enabled:
        return _students_gateway(settings.docker.network)
    return "127.0.0.1"


def hub_api_url(settings: Settings) -> str:
    """The hub's REST API where the hub itself listens (:func:`internal_address`)."""
    host = internal_address(settings)
    return f"http://{host}:{settings.hub.hub_port}{settings.hub.base_url}hub/api"


def server_state(user: Mapping[str, Any], server_name: str = "") -> ServerState:
    """A server as the hub's user model tells it: ``ready``, ``pending`` or ``stopped``.

    The model lists only active servers, and one that is listed but not ready is starting
    or stopping, which the model's ``pending`` says.
    """
    server = (user.get("servers") or {}).get(server_name)
    if server and server.get("ready"):
        return "ready"
    return "pending" if user.get("pending") else "stopped"


class HubAPI:
    """JupyterHub's REST API at ``url`` (``…/hub/api``), authenticated with one token."""

    def __init__(self, url: str, token: str, timeout: float = 300) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.headers = {"Authorization": f"token {token}"}
        self._session: requests.Session | None = None
        self.requests = 0
        """Blocking requests sent so far (the mirror reports how many a reconciliation took)."""

    # -- blocking, for a process or thread of its own ---------------------------------------

    @property
    def http(self) -> requests.Session:
        """One connection pool for the blocking calls, made on the first."""
        if self._session is None:
            self._session = requests.Session()
            self._session.headers.update(self.headers)
        return self._session

    def request(self, method: str, path: str, body: Any = None, **params: Any
                ) -> requests.Response:
        """Send one request and return the hub's answer, whatever its status."""
        self.requests += 1
        try:
            return self.http.request(method, f"{self.url}/{path}", json=body,
                                     params=params or None, timeout=self.timeout)
        except requests.RequestException as exc:
            raise HubUnreachable(f"hub 无法连接 / hub unreachable: {method} {path}: {exc}") from exc

    def call(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200,),
             **params: Any) -> Any:
        """Send one request; return the decoded answer, or raise unless its status is ``ok``."""
        response = self.request(method, path, body, **params)
        if response.status_code not in ok:
            raise HubAPIError(f"hub 拒绝 / hub refused {method} {path}: "
                              f"{response.status_code} {response.text[:300]}")
        return response.json() if response.content else None

    def user(self, name: str) -> dict[str, Any]:
        """The hub's model of one user."""
        return self.call("GET", f"users/{name}")

    def set_admin(self, name: str, admin: bool) -> None:
        """Make ``name`` a JupyterHub admin, or not."""
        self.call("PATCH", f"users/{name}", {"admin": admin})

    def start_server(self, name: str, user_options: Mapping[str, Any]) -> requests.Response:
        """Ask for ``name``'s default server; the answer's status says how it went (201
        started, 202 starting, 400 already running or pending stop, 429 over the spawn limit).
        """
        return self.request("POST", f"users/{name}/server", dict(user_options))

    def create_users(self, usernames: Iterable[str]) -> list[str]:
        """Create the accounts in one transaction (:mod:`hub.auth.user_api`); return the new."""
        answer = self.call("POST", "aiclass/users", {"usernames": list(usernames)},
                           ok=(200, 201))
        return answer["created"]

    def groups(self) -> dict[str, list[str]]:
        """The organisation's groups and their members (:mod:`hub.auth.group_api`)."""
        return self.call("GET", "aiclass/groups")

    def set_groups(self, groups: Mapping[str, Iterable[str]]) -> dict[str, int]:
        """Make the organisation's groups exactly these; return the counts of each change."""
        body = {"groups": {name: sorted(members) for name, members in sorted(groups.items())}}
        return self.call("PUT", "aiclass/groups", body)

    def roles(self) -> list[dict[str, Any]]:
        """The organisation's scoped roles (:mod:`hub.auth.role_api`)."""
        return self.call("GET", "aiclass/roles")

    def set_roles(self, roles: list[dict[str, Any]]) -> dict[str, int]:
        """Make the organisation's roles exactly these; return the counts of each change."""
        return self.call("PUT", "aiclass/roles", {"roles": roles})

    # -- non-blocking, for the classroom service's event loop -------------------------------

    async def fetch(self, path: str, raise_error: bool = True, **headers: str) -> HTTPResponse:
        """GET ``path`` with Tornado's client, which shares the loop instead of blocking it."""
        request = HTTPRequest(f"{self.url}/{path}", headers={**self.headers, **headers})
        return await AsyncHTTPClient().fetch(request, raise_error=raise_error)

    async def user_model(self, name: str) -> dict[str, Any] | None:
        """The hub's model of one user, or None when the hub does not answer it."""
        response = await self.fetch(f"users/{name}", raise_error=False)
        return json.loads(response.body) if response.code == 200 else None

    async def active_users(self) -> list[dict[str, Any]]:
        """Every user with an active server, page by page."""
        users: list[dict[str, Any]] = []
        offset = 0
        while True:
            response = await self.fetch(
                f"users?state=active&offset={offset}&limit={PAGE_SIZE}",
                Accept="application/jupyterhub-pagination+json")
            body = json.loads(response.body)
            items = body["items"] if isinstance(body, dict) else body
            users.extend(items)
            next_page = body.get("_pagination", {}).get("next") if isinstance(body, dict) \
                else None
            if not next_page or not items:
                return users
            offset = next_page["offset"]
