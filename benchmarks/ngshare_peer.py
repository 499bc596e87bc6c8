"""ngshare, the exchange benchmark's second baseline: nbgrader's HTTP exchange service.

ngshare (PyPI ``ngshare``, installed by the ``bench`` extra only) does the job of our
classroom service's exchange: a JupyterHub service that keeps courses, releases and
submissions in its own database and file store, and checks every caller's token against
the hub (``GET /hub/api/user``). It is run here as its documentation sets it up as a hub
service: ngshare's ``main`` with ``--admins ...`` (through :mod:`benchmarks.ngshare_launch`,
which lets its 1.x-era models save on SQLAlchemy 2) with the environment a hub gives a managed
service (API URL and token, prefix, service URL), its own SQLite database and storage in
the benchmark's temporary dir, against the same stand-in hub API as ours.

The load is the one ngshare-exchange (its nbgrader exchange) sends: the instructor makes
the course, adds the students and uploads the generated release as base64 JSON files;
each student downloads the release (``GET /assignment/<course>/<id>``) and uploads the
answered notebooks (``POST /submission/<course>/<id>``). ngshare listens on all
interfaces (it has no option for one address); the benchmark talks to it on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

from tornado.httpclient import AsyncHTTPClient, HTTPRequest

PREFIX = "/services/ngshare/"
INSTRUCTOR = "tch-bench"


def start_ngshare(work: Path, port: int, hub_port: int) -> subprocess.Popen:
    """ngshare as a hub would start it, with its own database and storage under ``work``."""
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "JUPYTERHUB_API_URL": f"http://127.0.0.1:{hub_port}/hub/api",
           "JUPYTERHUB_API_TOKEN": "ngshare-token", "JUPYTERHUB_SERVICE_NAME": "ngshare",
           "JUPYTERHUB_SERVICE_PREFIX": PREFIX, "JUPYTERHUB_CLIENT_ID": "service-ngshare",
           "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}"}
    log = (work / "ngshare.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "benchmarks.ngshare_launch", "--admins", INSTRUCTOR,
         "--database", f"sqlite:///{work / 'ngshare.db'}", "--storage", str(work / "files")],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[1])


def packed(files: dict[str, bytes]) -> str:
    """Files as ngshare's JSON directory tree (base64 content)."""
    return json.dumps([{"path": path, "content": base64.encodebytes(data).decode()}
                       for path, data in sorted(files.items())])


def unpacked(body: bytes) -> dict[str, bytes]:
    return {entry["path"]: base64.decodebytes(entry["content"].encode())
            for entry in json.loads(body)["files"]}


class NgshareClient:
    """Requests to ngshare as ngshare-exchange makes them: form-encoded, a user's token."""

    def __init__(self, port: int, concurrency: int) -> None:
        self.base = f"http://127.0.0.1:{port}{PREFIX}"
        self.client = AsyncHTTPClient(max_clients=concurrency)

    async def call(self, user: str, method: str, path: str, form: dict[str, str] | None = None,
                   timeout: float = 300) -> bytes:
        response = await self.client.fetch(HTTPRequest(
            f"{self.base}{path}", method=method,
            body=urlencode(form) if form is not None else None,
            headers={"Authorization": f"token tok-{user}"}, request_timeout=timeout))
        answer = json.loads(response.body)
        if not answer.get("success"):
            raise RuntimeError(f"ngshare {method} {path}: {answer}")
        return response.body

    async def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                await self.client.fetch(f"{self.base}healthz", request_timeout=5)
                return
            except (ConnectionError, OSError):
                await asyncio.sleep(0.3)
            except Exception:  # noqa: BLE001 - tornado's errors while it starts; try again
                await asyncio.sleep(0.3)
        raise RuntimeError(f"ngshare did not answer within {timeout:.0f} s")

    async def enrol(self, course: str, students: list[str]) -> None:
        """The instructor's course and its students, as ``ngshare-course-management``
        adds them: one request with the whole roster. ngshare's time for it grows with the
        square of the class (200 students 3.7 s, 600 students 29 s on this 2-core host), so
        2,000 take minutes: an hour is allowed, and the benchmark times it apart."""
        await self.call(INSTRUCTOR, "POST", f"course/{course}",
                        {"instructors": json.dumps([INSTRUCTOR])})
        roster = [{"username": name, "first_name": "", "last_name": "", "email": ""}
                  for name in students]
        await self.call(INSTRUCTOR, "POST", f"students/{course}",
                        {"students": json.dumps(roster)}, timeout=3600)

    async def release(self, course: str, assignment: str, files: dict[str, bytes]) -> None:
        """The generated student version, uploaded as the instructor's release."""
        await self.call(INSTRUCTOR, "POST", f"assignment/{course}/{assignment}",
                        {"files": packed(files)})

    async def fetch(self, student: str, course: str, assignment: str) -> dict[str, bytes]:
        return unpacked(await self.call(student, "GET", f"assignment/{course}/{assignment}"))

    async def submit(self, student: str, course: str, assignment: str,
                     files: dict[str, bytes]) -> None:
        await self.call(student, "POST", f"submission/{course}/{assignment}",
                        {"files": packed(files)})

    async def submitted_students(self, course: str, assignment: str) -> list[str]:
        body = await self.call(INSTRUCTOR, "GET", f"submissions/{course}/{assignment}")
        return [entry["student_id"] for entry in json.loads(body)["submissions"]]
