"""nbgrader's student extensions load at their first request, not when the server starts.

A real Jupyter server started with the extension settings the spawner gives students.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import nbgrader
import pytest
import requests

from tests.hub.hubprocess import free_port

TOKEN = "deferred-test-token"
STUDENT_EXTENSIONS = ("--ServerApp.jpserver_extensions={'aiclass_deferred_nbgrader': True, "
                      "'nbgrader.server_extensions.assignment_list': False, "
                      "'nbgrader.server_extensions.validate_assignment': False, "
                      # off in the student profile (images/student/etc/), on in this venv
                      "'nbgrader.server_extensions.formgrader': False, "
                      "'nbgrader.server_extensions.course_list': False}")
NBGRADER_LOADED = "Loading the assignment_list nbgrader serverextension"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    log = tmp_path / "server.log"
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    with log.open("wb") as stream:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", "--no-browser", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={port}", f"--IdentityProvider.token={TOKEN}",
             f"--ServerApp.root_dir={tmp_path}", "--allow-root", STUDENT_EXTENSIONS],
            env=env, stdout=stream, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/api/status", headers=auth(), timeout=5).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        else:
            pytest.fail(log.read_text())
        yield url, log
    finally:
        process.terminate()
        process.wait(30)


def auth() -> dict[str, str]:
    return {"Authorization": f"token {TOKEN}"}


def test_nbgrader_loads_at_the_first_request_and_then_answers_itself(
        server: tuple[str, Path]) -> None:
    url, log = server
    version = f"{url}/nbgrader_version?version={nbgrader.__version__}"
    assert NBGRADER_LOADED not in log.read_text()

    anonymous = requests.get(version, allow_redirects=False, timeout=30)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert NBGRADER_LOADED not in log.read_text()  # only a signed-in user's request loads it

    first = requests.get(version, headers=auth(), allow_redirects=False, timeout=60)
    assert first.status_code == 307
    assert first.headers["Location"].endswith(f"/nbgrader_version?version={nbgrader.__version__}")
    assert NBGRADER_LOADED in log.read_text()

    again = requests.get(version, headers=auth(), allow_redirects=False, timeout=30)
    assert again.status_code == 200, again.text
    assert again.json() == {"success": True}
    validate = requests.post(f"{url}/assignments/validate", headers=auth(),
                             data={"path": "missing.ipynb"}, allow_redirects=False, timeout=30)
    assert validate.status_code == 200  # nbgrader's own validate handler, not the stand-in
    assert validate.json()["success"] is False
