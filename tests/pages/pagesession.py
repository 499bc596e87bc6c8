"""Signed-in people on the classroom pages, for the page tests.

A person signs in on the hub's login form (replacing the initial password), then
opens the service's pages, which sign them in again through the hub's OAuth.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import requests

from tests.hub.hubprocess import Browser, RunningHub

NEW_PASSWORD = "qingchun-2026"
PAGES = "/services/classroom/"


@dataclass
class PagePerson:
    username: str
    browser: Browser

    @property
    def hub(self) -> RunningHub:
        return self.browser.hub

    def get(self, path: str, **kwargs: object) -> requests.Response:
        return self.browser.session.get(f"{self.hub.url}{PAGES}{path}", timeout=120, **kwargs)

    def form_xsrf(self, path: str) -> str:
        """The ``_xsrf`` value a page's forms carry."""
        response = self.get(path)
        if response.status_code == 503:
            # the proxy's kept-alive connection to the service can be the one a refused
            # upload closed a moment ago (configurable-http-proxy answers 503 for it): once more
            response = self.get(path)
        match = re.search(r'name="_xsrf" value="([^"]+)"', response.text)
        assert match, f"no form on {path}: {response.status_code}"
        return match.group(1)

    def post(self, path: str, data: dict | None = None, **kwargs: object) -> requests.Response:
        return self.browser.session.post(f"{self.hub.url}{PAGES}{path}", data=data or {},
                                         timeout=300, allow_redirects=False, **kwargs)

    def token(self) -> str:
        response = self.browser.session.post(
            f"{self.hub.url}/hub/api/users/{self.username}/tokens", json={"note": "page tests"},
            headers={"X-XSRFToken": self.browser.xsrf()}, timeout=30)
        assert response.status_code == 201, response.text
        return response.json()["token"]


def sign_in(hub: RunningHub, account: dict[str, str]) -> PagePerson:
    browser = Browser(hub)
    browser.sign_in(account, NEW_PASSWORD)
    return PagePerson(account["username"], browser)
