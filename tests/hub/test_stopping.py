"""Stopping, restarting and a second hub on one machine, with a real ``aiclass up``.

Does SIGTERM stop the hub, its services and the students' servers within 10 s, leaving
no process behind? Does a second hub on the same ports refuse, naming the port, while
the first goes on? Does a hub killed mid-lesson come back and adopt the lab a student
is using, which never stopped answering?
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from grading.sandbox.proc_stat import proc_stat
from tests.exchange.conftest import (
    ASSIGNMENT,
    CLASS,
    LIBRARY,
    Person,
    sign_in,
    wait_for_service,
)
from tests.exchange.test_grading_survives_restart import jobs_of, submit_slow
from tests.hub.hubprocess import (
    AICLASS,
    Browser,
    RunningHub,
    free_port,
    start_hub,
    stop_process_group,
    world_traversable_dir,
)

pytestmark = pytest.mark.integration
NEW_PASSWORD = "tingzhi-2026"


def descendants(pid: int) -> set[int]:
    """Every process below ``pid``, whatever session it started for itself."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = list(Path(f"/proc/{parent}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                children = {int(c) for c in (task / "children").read_text().split()}
            except OSError:
                continue
            todo.extend(children - found)
            found |= children
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` is a process that has not exited (a zombie has)."""
    try:
        return proc_stat(pid)[0] != "Z"
    except OSError:
        return False


def lab_status(browser: Browser, username: str) -> int:
    """The status of the student's own server's API, reached through the hub's proxy."""
    try:
        return browser.lab_api(username, "api/status").status_code
    except requests.RequestException:
        return 0


def kill_boxes_under(base: Path) -> None:
    """Kill what a failed test left: boxes outlive a killed hub, and killing every
    bubblewrap process of ``base`` (the box's init among them) ends everything in them."""
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and str(base).encode() in (entry / "cmdline").read_bytes():
                os.kill(int(entry.name), signal.SIGKILL)
        except (OSError, ProcessLookupError):
            continue


@pytest.fixture
def hub() -> Iterator[RunningHub]:
    base = world_traversable_dir("aiclass-stopping-test-")
    running = start_hub(base / "data")
    try:
        yield running
    finally:
        stop_process_group(running)
        kill_boxes_under(base)
        shutil.rmtree(base, ignore_errors=True)


def open_student_lab(hub: RunningHub) -> tuple[Browser, str]:
    account = hub.account("student")
    browser = Browser(hub)
    browser.sign_in(account, NEW_PASSWORD)
    browser.open_lab(account["username"])
    return browser, account["username"]


def grading_in_flight(hub: RunningHub) -> Person:
    """A teacher releases from the library, a student (lab open) submits a notebook that
    takes 20 s to grade; returns the student once a worker is grading it."""
    students = [a for a in hub.accounts if a["class"] == CLASS and a["role"] == "student"]
    teacher = next(a for a in hub.accounts
                   if a["role"] == "teacher" and CLASS in a["class"].split(";"))
    teacher_person = sign_in(hub, teacher, open_lab=False)
    student = sign_in(hub, students[0], open_lab=True)
    wait_for_service(teacher_person)
    released = teacher_person.api("POST", f"/assignments/{ASSIGNMENT}/releases",
                                  params={"class": CLASS, "library": LIBRARY})
    assert released.status_code == 201, released.text
    submission = submit_slow(hub.data_dir, student)
    deadline = time.monotonic() + 120
    while not any(job["state"] == "running" for job in jobs_of(hub.data_dir, submission)):
        assert time.monotonic() < deadline, f"grading did not start:\n{hub.log()[-3000:]}"
        time.sleep(0.5)
    return student


def test_sigterm_stops_hub_services_and_servers_within_10_s(hub: RunningHub) -> None:
    """SIGTERM to ``aiclass up`` with a student's lab open and their submission being
    graded (it took 27 s before: the service waited for the grading thread): gone in
    10 s, nothing left, the job back in the queue."""
    student = grading_in_flight(hub)
    browser, username = student.browser, student.username
    assert lab_status(browser, username) == 200
    below = descendants(hub.process.pid)
    commands = {pid: Path(f"/proc/{pid}/cmdline").read_bytes() for pid in below if alive(pid)}
    assert any(b"hub.service" in argv for argv in commands.values()), commands
    assert any(b"jupyterhub-singleuser" in argv for argv in commands.values()), commands

    started = time.monotonic()
    hub.process.send_signal(signal.SIGTERM)
    try:
        hub.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the hub was still running 10 s after SIGTERM:\n{hub.log()[-3000:]}")
    took = time.monotonic() - started
    time.sleep(0.5)
    survivors = {pid: commands[pid] for pid in commands if alive(pid)}
    assert survivors == {}, f"left running after the hub stopped: {survivors}"
    log = hub.log()
    for trouble in ("Task was destroyed", "Failed to stop", "Traceback", "KeyboardInterrupt"):
        assert trouble not in log, f"{trouble!r} in the hub's log:\n{log[-3000:]}"
    assert "classroom service stopped; 1 grading jobs back in the queue" in log
    print(f"stopped in {took:.1f} s")


def test_second_hub_on_the_same_ports_refuses_naming_the_port(hub: RunningHub) -> None:
    """Two data dirs, the second set up with the first one's hub and proxy API ports."""
    settings = (hub.data_dir / "aiclass.toml").read_text(encoding="utf-8")
    taken = dict(line.split(" = ") for line in settings.splitlines() if " = " in line)
    second = hub.data_dir.parent / "second"
    for key in ("hub_port", "proxy_api_port"):
        other = {"hub_port": free_port(), "proxy_api_port": free_port(), key: taken[key]}
        second.mkdir(exist_ok=True)
        (second / "aiclass.toml").write_text(
            f"[hub]\nport = {free_port()}\nhub_port = {other['hub_port']}\n"
            f"proxy_api_port = {other['proxy_api_port']}\n", encoding="utf-8")
        refused = subprocess.run([AICLASS, "up", "--data", str(second)], capture_output=True,
                                 text=True, timeout=60)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert f"[hub] {key} = {taken[key]}" in refused.stderr, refused.stderr
        assert "already in use" in refused.stderr and "已被占用" in refused.stderr
        assert not (second / "jupyterhub.pid").exists()
    assert requests.get(f"{hub.url}/hub/login", timeout=10).status_code == 200


def test_killed_hub_comes_back_and_adopts_the_running_lab(hub: RunningHub) -> None:
    """SIGKILL the hub mid-lesson: its services end with it, the lab keeps running, the
    new hub adopts it (and stops it when it is stopped itself)."""
    browser, username = open_student_lab(hub)
    commands = {pid: Path(f"/proc/{pid}/cmdline").read_bytes()
                for pid in descendants(hub.process.pid) if alive(pid)}
    servers = [pid for pid, argv in commands.items() if b"jupyterhub-singleuser" in argv]
    services = [pid for pid, argv in commands.items()
                if b"hub.service" in argv or b"hub.org.mirror" in argv]
    # the classroom service, its grading worker process and the organisation mirror
    assert servers and len(services) == 3, commands
    hub.process.kill()
    hub.process.wait()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in services) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not any(alive(pid) for pid in services), "the services outlived their hub"
    assert all(alive(pid) for pid in servers), "the lab died with the hub"

    before = hub.start_again(timeout=120)
    assert f"{username} still running" in hub.log()[before:], hub.log()[before:]
    assert lab_status(browser, username) == 200
    assert all(alive(pid) for pid in servers), "the restarted hub started a new server"

    hub.process.send_signal(signal.SIGTERM)
    hub.process.wait(timeout=10)
    time.sleep(0.5)
    assert not any(alive(pid) for pid in servers), "the adopted lab outlived its hub's stop"
