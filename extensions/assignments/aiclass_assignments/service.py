"""The classroom service as the panel's list reads it: non-blocking and without nbgrader.

The list is asked for every time a student opens the lab; reading it with tornado's own
client keeps nbgrader (about 0.7 s of imports) out of a server until the student acts.
"""

from __future__ import annotations

import json
import os
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPClientError

EXCHANGE_URL_ENV = "AICLASS_EXCHANGE_URL"
TOKEN_ENV = "JUPYTERHUB_API_TOKEN"


class ServiceUnavailable(Exception):
    """The service could not be asked or refused: the message is Chinese first."""


async def get_json(path: str) -> Any:
    """``GET /api/v1<path>`` as the server's owner (their JupyterHub token)."""
    base = os.environ.get(EXCHANGE_URL_ENV, "").rstrip("/")
    token = os.environ.get(TOKEN_ENV, "")
    if not base or not token:
        raise ServiceUnavailable("这台服务器没有连接课堂服务，请从课堂网站启动（this server is "
                                 "not connected to the classroom service: start it from the hub）")
    try:
        response = await AsyncHTTPClient().fetch(
            f"{base}/api/v1{path}", headers={"Authorization": f"token {token}"},
            request_timeout=30)
    except HTTPClientError as error:
        raise ServiceUnavailable(f"课堂服务返回错误 {error.code}（classroom service error "
                                 f"{error.code}）") from error
    except OSError as error:
        raise ServiceUnavailable("无法连接课堂服务，请稍后再试或联系老师（cannot reach the "
                                 "classroom service）") from error
    return json.loads(response.body)
