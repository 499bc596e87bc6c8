"""HTTP calls to the classroom service, with its refusals turned into readable errors.

The service answers errors as JSON ``{"error", "message", "message_en"}``; they reach
the student as ``ExchangeError("<中文>（<English>）")``, which nbgrader's Assignments
panel and command line show as they are.
"""

from __future__ import annotations

import time
from typing import Any

import requests
from nbgrader.exchange.abc.exchange import ExchangeError

UNREACHABLE = "无法连接课堂服务，请稍后再试或联系老师（cannot reach the classroom service）"


class ServiceClient:
    """The caller's side of the classroom service's ``/api/v1``."""

    def __init__(self, base_url: str, token: str, timeout: float = 120.0,
                 retries: int = 3) -> None:
        if not base_url:
            raise ExchangeError("没有配置课堂服务地址（the classroom service URL is not set: "
                                "AICLASS_EXCHANGE_URL）")
        if not token:
            raise ExchangeError("没有 JupyterHub 令牌，请从 JupyterHub 启动服务器（no "
                                "JUPYTERHUB_API_TOKEN）")
        self.api = base_url.rstrip("/") + "/api/v1"
        self.timeout = timeout
        self.retries = retries
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {token}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send a request, retrying when the service cannot be reached.

        Every write the client sends is idempotent (submissions carry an
        ``Idempotency-Key``), so a retry after a lost answer stores nothing twice.
        """
        for attempt in range(self.retries):
            try:
                response = self.session.request(method, self.api + path,
                                                timeout=self.timeout, **kwargs)
            except requests.ConnectionError as exc:
                if attempt + 1 == self.retries:
                    raise ExchangeError(UNREACHABLE) from exc
                time.sleep(0.5 * 2 ** attempt)
                continue
            if response.status_code in (502, 503) and attempt + 1 < self.retries:
                time.sleep(0.5 * 2 ** attempt)
                continue
            if response.status_code >= 400:
                raise ExchangeError(self.describe(response))
            return response
        raise ExchangeError(UNREACHABLE)

    @staticmethod
    def describe(response: requests.Response) -> str:
        """The service's message for a refusal, Chinese first."""
        try:
            body = response.json()
            return f"{body['message']}（{body['message_en']}）"
        except (ValueError, KeyError, TypeError):
            return f"课堂服务返回错误 {response.status_code}（classroom service error " \
                   f"{response.status_code}）"

    def get_json(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params).json()

    def get_bytes(self, path: str) -> bytes:
        return self.request("GET", path).content

    def send_zip(self, method: str, path: str, data: bytes, params: dict | None = None,
                 headers: dict | None = None) -> Any:
        headers = {"Content-Type": "application/zip", **(headers or {})}
        return self.request(method, path, data=data, params=params, headers=headers).json()

    def put_json(self, path: str, body: dict) -> Any:
        return self.request("PUT", path, json=body).json()

    def post_json(self, path: str, body: dict) -> Any:
        return self.request("POST", path, json=body).json()
