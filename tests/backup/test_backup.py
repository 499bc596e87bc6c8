"""Backups of a running class, restored onto an empty data dir, and damaged backups refused."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.exchange.conftest import (
    ASSIGNMENT,
    CLASS,
    LIBRARY,
    NEW_PASSWORD,
    Person,
    make_zip,
    read_zip,
    sign_in,
    wait_for_service,
)
from tests.hub.hubprocess import (
    AICLASS,
    Browser,
    RunningHub,
    free_port,
    start_hub,
    stop_process_group,
    world_traversable_dir,
)
from tests.security.test_teacher_server import graded

pytestmark = pytest.mark.integration

KEPT_TABLES = ("regions", "schools", "classes", "people", "enrollments", "credentials",
               "exchange_releases", "exchange_fetches", "exchange_submissions",
               "exchange_feedback", "grading_sources", "grading_jobs", "grading_notebooks",
               "grading_cells", "grading_lost_points", "grading_changes")
"""What a class is: the organisation, its work and its grades (activity rows keep growing)."""


def rows(database: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(database) as connection:
        return {table: sorted(connection.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
                for table in KEPT_TABLES}


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def aiclass(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([AICLASS, *args], capture_output=True, text=True, timeout=600)


def service_settings(port: int) -> str:
    return f"[service]\nport = {port}\n"


@pytest.fixture(scope="module")
def base() -> Iterator[Path]:
    path = world_traversable_dir("aiclass-backup-test-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def submit(student: Person, answer: str) -> str:
    fetched = read_zip(student.api("GET", f"/classes/{CLASS}/assignments/{ASSIGNMENT}/release")
                       .content)
    notebook = json.loads(fetched["classify.ipynb"])
    notebook["cells"][0]["source"] = answer
    response = student.api("POST", f"/classes/{CLASS}/assignments/{ASSIGNMENT}/submissions",
                           data=make_zip({"classify.ipynb": json.dumps(notebook).encode()}),
                           headers={"Idempotency-Key": f"backup-{student.username}"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_a_running_class_comes_back_whole(base: Path) -> None:
    """Is every class, person, submission, grade, feedback and home file back after a backup
    taken while the hub runs is restored onto an empty data dir and started?"""
    hub = start_hub(base / "data", service_settings(free_port()))
    try:
        teacher_account = next(a for a in hub.accounts
                               if a["role"] == "teacher" and CLASS in a["class"].split(";"))
        student_accounts = [a for a in hub.accounts
                            if a["role"] == "student" and a["class"] == CLASS][:2]
        teacher = sign_in(hub, teacher_account, open_lab=False)
        students = [sign_in(hub, student_accounts[0], open_lab=True),
                    sign_in(hub, student_accounts[1], open_lab=False)]
        wait_for_service(teacher)
        due = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        assert teacher.api("POST", f"/assignments/{ASSIGNMENT}/releases", params={
            "class": CLASS, "library": LIBRARY, "due": due}).status_code == 201
        keys = [submit(student, f"# {student.username} 的答案") for student in students]
        grades = {key: graded(teacher, key) for key in keys}
        cell = next(c for c in grades[keys[0]]["cells"] if c["kind"] == "auto")
        changed = teacher.api("PUT", f"/submissions/{keys[0]}/grades/{cell['notebook']}/"
                                     f"{cell['grade_id']}",
                              json={"override_score": 0.5, "reason": "备份测试 / backup test"})
        assert changed.status_code == 200, changed.text
        grades[keys[0]] = changed.json()
        released = teacher.api("POST", f"/submissions/{keys[0]}/feedback/release")
        assert released.status_code == 200, released.text
        feedback = students[0].api("GET", f"/submissions/{keys[0]}/feedback")
        assert feedback.status_code == 200, feedback.text
        saved = students[0].lab("PUT", "api/contents/笔记.txt", json={
            "type": "file", "format": "text", "content": "我的笔记 / my notes\n"})
        assert saved.status_code in (200, 201), saved.text

        made = aiclass("backup", str(base / "backups"), "--data", str(hub.data_dir))
        assert made.returncode == 0, made.stderr
        readable = [p for p in (base / "backups").rglob("*") if p.stat().st_mode & 0o077]
        assert readable == []  # password hashes and students' work: the hub's user only
        before_rows = rows(hub.data_dir / "aiclass.sqlite")
    finally:
        stop_process_group(hub)
    before_files = {part: files(hub.data_dir / part) for part in ("homes", "exchange/blobs")}
    notes = before_files["homes"][f"{students[0].username}/笔记.txt"]
    assert notes == "我的笔记 / my notes\n".encode()

    restored = base / "restored"
    done = aiclass("restore", str(base / "backups"), "--data", str(restored))
    assert done.returncode == 0, done.stderr
    assert rows(restored / "aiclass.sqlite") == before_rows
    for part, contents in before_files.items():
        assert files(restored / part) == contents, part

    shutil.copy(hub.data_dir / "demo-accounts.csv", restored / "demo-accounts.csv")
    again = start_hub(restored, service_settings(free_port()))
    try:
        teacher_again = sign_in_again(again, teacher.username)
        wait_for_service(teacher_again)
        for key in keys:
            after = teacher_again.api("GET", f"/submissions/{key}/grades")
            assert after.status_code == 200 and after.json() == grades[key]
        student_again = sign_in_again(again, students[0].username)
        feedback_again = student_again.api("GET", f"/submissions/{keys[0]}/feedback")
        assert feedback_again.status_code == 200, feedback_again.text
        assert read_zip(feedback_again.content) == read_zip(feedback.content)
    finally:
        stop_process_group(again)


def sign_in_again(hub: RunningHub, username: str) -> Person:
    """Sign in with the password chosen before the backup; a token of one's own."""
    browser = Browser(hub)
    assert browser.login(username, NEW_PASSWORD).status == 302
    response = browser.session.post(
        f"{hub.url}/hub/api/users/{username}/tokens", json={"note": "backup tests"},
        headers={"X-XSRFToken": browser.xsrf()}, timeout=30)
    assert response.status_code == 201, response.text
    return Person(username, browser, response.json()["token"])
