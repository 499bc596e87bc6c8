"""A student's processes end with their server: nothing left running in the background.

Local boxes no longer die with the hub's process (``--die-with-parent``), so that a hub
killed mid-lesson can adopt them; stopping a server must still end every process in the
box. The student, from a notebook, starts daemons the usual ways: ``setsid -f`` (a new
session, reparented), ``nohup … &`` through a shell, and a double fork. Once the server is
stopped (as the culler, the student or the hub's own stop would), is any of them left?
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.hub.hubprocess import (
    Browser,
    RunningHub,
    running_hub,
)
from tests.security.lab_kernel import run_code

pytestmark = pytest.mark.integration
MARKERS = ("987651", "987652", "987653")
DAEMONS = f"""
import os, subprocess
subprocess.Popen(["setsid", "-f", "sleep", "{MARKERS[0]}"])
subprocess.run("nohup sleep {MARKERS[1]} >/dev/null 2>&1 &", shell=True)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execvp("sleep", ["sleep", "{MARKERS[2]}"])
    os._exit(0)
os.wait()
print("started")
"""


def sleepers() -> dict[int, str]:
    """The marked ``sleep`` processes on this machine, by pid."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if entry.name.isdigit() and argv[0].endswith(b"sleep") and len(argv) > 1 \
                and argv[1].decode() in MARKERS:
            found[int(entry.name)] = argv[1].decode()
    return found


@pytest.fixture
def hub() -> Iterator[RunningHub]:
    with running_hub("aiclass-box-lifetime-test-") as running:
        yield running


def test_daemons_started_in_the_lab_end_when_the_server_stops(hub: RunningHub) -> None:
    account = hub.account("student")
    username = account["username"]
    browser = Browser(hub)
    browser.sign_in(account, "houtai-2026")
    browser.open_lab(username)
    made = browser.session.post(f"{hub.url}/hub/api/users/{username}/tokens",
                                json={"note": "box lifetime"},
                                headers={"X-XSRFToken": browser.xsrf()}, timeout=30)
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    assert "started" in run_code(hub.url, username, token, DAEMONS)
    started = time.monotonic() + 15
    while sorted(sleepers().values()) != sorted(MARKERS) and time.monotonic() < started:
        time.sleep(0.2)
    assert sorted(sleepers().values()) == sorted(MARKERS), "the daemons did not start"

    stopped = requests.delete(f"{hub.url}/hub/api/users/{username}/server",
                              headers={"Authorization": f"token {token}"}, timeout=60)
    assert stopped.status_code in (202, 204), stopped.text
    deadline = time.monotonic() + 15
    while sleepers() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert sleepers() == {}, "a student's daemon outlived the server's stop"
