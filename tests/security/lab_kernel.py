"""Run code in a person's own JupyterLab kernel, the way the notebook page does.

A kernel is started through the Jupyter server's REST API and fed an ``execute_request``
over its websocket, with the person's own API token: exactly what a student can do from a
browser tab, so the code runs with whatever that student's server can reach.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import requests
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect


def _execute_request(code: str) -> dict:
    return {
        "header": {"msg_id": uuid.uuid4().hex, "session": uuid.uuid4().hex, "username": "",
                   "msg_type": "execute_request", "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
    }


async def _run(url: str, token: str, code: str, timeout: float) -> str:
    request = HTTPRequest(url, headers={"Authorization": f"token {token}"},
                          request_timeout=timeout)
    connection = await websocket_connect(request)
    message = _execute_request(code)
    msg_id = message["header"]["msg_id"]
    await connection.write_message(json.dumps(message))
    output: list[str] = []
    try:
        while True:
            raw = await asyncio.wait_for(connection.read_message(), timeout)
            if raw is None:
                raise ConnectionError("the kernel's websocket closed")
            reply = json.loads(raw)
            if reply.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = reply["msg_type"], reply["content"]
            if kind == "stream":
                output.append(content["text"])
            elif kind == "error":
                output.append("\n".join(content["traceback"]))
            elif kind == "status" and content["execution_state"] == "idle":
                return "".join(output)
    finally:
        connection.close()


def run_code(hub_url: str, username: str, token: str, code: str, timeout: float = 120) -> str:
    """Start a kernel in ``username``'s server, run ``code``, return what it printed."""
    base = f"{hub_url}/user/{username}/api/kernels"
    headers = {"Authorization": f"token {token}"}
    started = requests.post(base, json={"name": "python3"}, headers=headers, timeout=60)
    assert started.status_code == 201, started.text
    kernel = started.json()["id"]
    ws_url = f"{hub_url.replace('http', 'ws', 1)}/user/{username}/api/kernels/{kernel}/channels"
    try:
        return asyncio.run(_run(ws_url, token, code, timeout))
    finally:
        requests.delete(f"{base}/{kernel}", headers=headers, timeout=60)
