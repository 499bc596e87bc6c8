"""Kill the classroom service (SIGKILL) during submissions: each is complete or absent.

The hub restarts its managed service; afterwards every stored submission must have
every file it names, byte for byte, and a retry with the same Idempotency-Key must
store the submission exactly once.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.exchange.conftest import (
    ASSIGNMENT,
    CLASS,
    SERVICE,
    Classroom,
    make_zip,
    wait_for_service,
)

pytestmark = pytest.mark.integration


def service_pid(port: int) -> int:
    """The classroom service process listening on ``port``."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"hub.service" in argv and str(port).encode() in argv:
            return int(entry.name)
    raise LookupError(f"no classroom service on port {port}")


def slow_body(data: bytes, started: threading.Event):
    """Send ``data`` in pieces, slowly, so the service is killed mid-upload."""
    step = 64 * 1024
    for offset in range(0, len(data), step):
        yield data[offset:offset + step]
        started.set()
        time.sleep(0.2)


def stored_submissions(data_dir: Path, username: str) -> list[tuple[str, list[dict]]]:
    with sqlite3.connect(data_dir / "aiclass.sqlite") as db:
        rows = db.execute("SELECT idempotency_key, manifest FROM exchange_submissions "
                          "WHERE username = ?", (username,)).fetchall()
    return [(key, json.loads(manifest)) for key, manifest in rows]


def test_killed_service_leaves_submissions_complete_or_absent(classroom: Classroom,
                                                              released: dict) -> None:
    student = classroom.student("uploader cut off by a kill")
    notebook = json.dumps({"cells": [{"cell_type": "markdown", "metadata": {},
                                      "source": "中断测试"}], "metadata": {},
                           "nbformat": 4, "nbformat_minor": 5}).encode()
    body = make_zip({"classify.ipynb": notebook, "data.bin": os.urandom(700_000)})
    key = "crash-during-upload-1"
    url = f"{classroom.hub.url}{SERVICE}/classes/{CLASS}/assignments/{ASSIGNMENT}/submissions"
    headers = {"Authorization": f"token {student.token}", "Idempotency-Key": key,
               "Content-Type": "application/zip"}
    started = threading.Event()
    outcome: dict[str, object] = {}

    def upload() -> None:
        try:
            outcome["response"] = requests.post(url, data=slow_body(body, started),
                                                headers=headers, timeout=120)
        except requests.RequestException as exc:
            outcome["error"] = exc

    sender = threading.Thread(target=upload)
    sender.start()
    assert started.wait(60)
    time.sleep(0.5)
    os.kill(service_pid(classroom.service_port), signal.SIGKILL)
    sender.join(120)
    wait_for_service(student)
    response = outcome.get("response")
    assert response is None or response.status_code >= 500, "the upload should not finish"
    assert key not in [k for k, _ in stored_submissions(classroom.hub.data_dir,
                                                        student.username)]
    retried = student.api("POST", f"/classes/{CLASS}/assignments/{ASSIGNMENT}/submissions",
                          data=body, headers={"Idempotency-Key": key})
    assert retried.status_code == 201, retried.text
    again = student.api("POST", f"/classes/{CLASS}/assignments/{ASSIGNMENT}/submissions",
                        data=body, headers={"Idempotency-Key": key})
    assert again.status_code == 200 and again.json()["id"] == retried.json()["id"]

    blobs = classroom.hub.data_dir / "exchange" / "blobs"
    for stored_key, manifest in stored_submissions(classroom.hub.data_dir, student.username):
        for entry in manifest:
            blob = blobs / entry["sha256"][:2] / entry["sha256"]
            assert hashlib.sha256(blob.read_bytes()).hexdigest() == entry["sha256"], stored_key
    assert [k for k, _ in stored_submissions(classroom.hub.data_dir,
                                             student.username)].count(key) == 1
