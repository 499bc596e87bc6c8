"""A running hub seen from the organisation tests: its REST API with the mirror's token."""

from __future__ import annotations

import subprocess
import time
import tomllib
from pathlib import Path

import requests

from tests.hub.hubprocess import AICLASS, Browser, RunningHub


def hub_api_url(hub: RunningHub) -> str:
    settings = tomllib.loads((hub.data_dir / "aiclass.toml").read_text(encoding="utf-8"))
    return f"http://127.0.0.1:{settings['hub']['hub_port']}/hub/api"


class HubREST:
    """GET/POST/DELETE on the hub's REST API with one token."""

    def __init__(self, hub: RunningHub, token: str) -> None:
        self.url = hub_api_url(hub)
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"token {token}"

    def request(self, method: str, path: str, body: object = None) -> requests.Response:
        return self.http.request(method, f"{self.url}/{path}", json=body, timeout=120)

    def groups(self) -> dict[str, list[str]]:
        answer = self.request("GET", "groups?limit=200").json()
        return {g["name"]: sorted(g["users"]) for g in answer}

    def roles(self) -> dict[str, dict]:
        return {r["name"]: r for r in self.request("GET", "aiclass/roles").json()}

    def wait_for_group(self, name: str, timeout: float = 120) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            groups = self.groups()
            if name in groups:
                return groups[name]
            time.sleep(1)
        raise TimeoutError(f"group {name} never appeared in the hub")


def mirror_api(hub: RunningHub) -> HubREST:
    return HubREST(hub, (hub.data_dir / "org-mirror.token").read_text().strip())


def aiclass(hub: RunningHub, *args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([AICLASS, *map(str, args), "--data", str(hub.data_dir)],
                          capture_output=True, text=True, timeout=600)


def new_password(hub: RunningHub, username: str) -> str:
    result = aiclass(hub, "roster", "reset-password", username)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().rsplit(" ", 1)[-1]


def user_token(hub: RunningHub, username: str, password: str, chosen: str) -> str:
    """Sign in through the login form (choosing a new password) and make an API token."""
    browser = Browser(hub)
    browser.sign_in({"username": username, "password": password}, chosen)
    response = browser.session.post(
        f"{hub.url}/hub/api/users/{username}/tokens", json={"note": "test"},
        headers={"X-XSRFToken": browser.xsrf()}, timeout=60)
    assert response.status_code == 201, response.text
    return response.json()["token"]
