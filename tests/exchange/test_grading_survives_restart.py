"""The classroom service killed or stopped while it grades: every submission graded once.

A job the dead service was grading goes back to the queue as soon as the hub has started
the service again (not ten minutes later, when its lease runs out); one waiting stays
waiting; each ends with exactly one job, done, whose grades are the gradebook's. A
service told to stop (SIGTERM) is gone within seconds and does not count the interrupted
grading as one of the submission's attempts.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from grading.gradebook.queue import QueuePolicy
from grading.sandbox.proc_stat import proc_stat
from tests.exchange.conftest import (
    ASSIGNMENT,
    CLASS,
    Classroom,
    Person,
    make_zip,
    read_zip,
    wait_for_service,
)
from tests.exchange.test_survives_kill import service_pid

pytestmark = pytest.mark.integration
SLOW_CELL = {"cell_type": "code", "id": "slow-start", "metadata": {}, "outputs": [],
             "execution_count": None, "source": "import time\ntime.sleep(20)"}


def submit_slow(data_dir: Path, student: Person) -> int:
    """Submit the release with a first cell that takes 20 s; the submission's row id."""
    fetched = student.api("GET", f"/classes/{CLASS}/assignments/{ASSIGNMENT}/release")
    assert fetched.status_code == 200, fetched.text
    notebook = json.loads(read_zip(fetched.content)["classify.ipynb"])
    notebook["cells"].insert(0, SLOW_CELL)
    response = student.api("POST", f"/classes/{CLASS}/assignments/{ASSIGNMENT}/submissions",
                           data=make_zip({"classify.ipynb": json.dumps(notebook).encode()}),
                           headers={"Idempotency-Key": f"restart-{student.username}"})
    assert response.status_code == 201, response.text
    with sqlite3.connect(data_dir / "aiclass.sqlite") as db:
        (row_id,) = db.execute("SELECT id FROM exchange_submissions WHERE key = ?",
                               (response.json()["id"],)).fetchone()
    return row_id


def jobs_of(data_dir: Path, submission_id: int) -> list[dict]:
    with sqlite3.connect(data_dir / "aiclass.sqlite") as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute(
            "SELECT id, state, attempts, lease_owner, finished_at FROM grading_jobs "
            "WHERE submission_id = ?", (submission_id,))]


def graded_by(data_dir: Path, submission_id: int) -> set[int]:
    """The jobs the gradebook's rows of the submission say they came from."""
    with sqlite3.connect(data_dir / "aiclass.sqlite") as db:
        notebooks = db.execute("SELECT job_id FROM grading_notebooks WHERE submission_id = ?",
                               (submission_id,)).fetchall()
        cells = db.execute("SELECT job_id FROM grading_cells WHERE submission_id = ?",
                           (submission_id,)).fetchall()
    assert notebooks and cells, f"submission {submission_id} has no grades"
    return {job_id for (job_id,) in notebooks + cells}


def wait_until(what: str, check, timeout: float, room: Classroom):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise TimeoutError(f"{what} within {timeout} s:\n{room.hub.log()[-3000:]}")


@contextmanager
def service_back_afterwards(room: Classroom) -> Iterator[None]:
    """Pass or fail, wait until the hub has started the service again: the session's
    other exchange tests share it, and a failure here must not leave them a 503."""
    try:
        yield
    finally:
        wait_for_service(room.teacher)


def still_running(pids: set[int]) -> dict[int, str]:
    """Those of ``pids`` that are neither gone nor zombies (:func:`process_gone`): their
    state and command."""
    found = {}
    for pid in pids:
        if not process_gone(pid):
            try:
                found[pid] = (f"{proc_stat(pid)[0]} "
                              f"{Path(f'/proc/{pid}/cmdline').read_bytes()[:80]!r}")
            except OSError:
                continue
    return found


def running_one(room: Classroom, submissions: list[int]) -> int | None:
    """The submission whose job a worker is grading now, if any."""
    for submission in submissions:
        if any(job["state"] == "running" for job in jobs_of(room.hub.data_dir, submission)):
            return submission
    return None


def all_done(room: Classroom, submissions: list[int]) -> bool:
    return all(job["state"] in ("done", "failed") for submission in submissions
               for job in jobs_of(room.hub.data_dir, submission))


def process_gone(pid: int) -> bool:
    try:
        return proc_stat(pid)[0] == "Z"
    except OSError:
        return True


def test_killed_service_grades_each_submission_exactly_once(classroom: Classroom,
                                                            released: dict) -> None:
    """SIGKILL the service mid-grading, with a second submission waiting behind it."""
    submissions = [submit_slow(classroom.hub.data_dir, classroom.student(part))
                   for part in ("graded when killed", "queued when killed")]
    graded_now = wait_until("no job started", lambda: running_one(classroom, submissions),
                            120, classroom)
    with service_back_afterwards(classroom):
        os.kill(service_pid(classroom.service_port), signal.SIGKILL)
        killed_at = time.monotonic()
    wait_until("grading did not finish", lambda: all_done(classroom, submissions), 300,
               classroom)
    assert time.monotonic() - killed_at < QueuePolicy.lease_seconds, "waited for the lease"
    for submission in submissions:
        (job,) = jobs_of(classroom.hub.data_dir, submission)
        assert job["state"] == "done" and job["lease_owner"] is None, job
        assert job["attempts"] == (2 if submission == graded_now else 1), job
        assert graded_by(classroom.hub.data_dir, submission) == {job["id"]}
    assert "requeued 1 grading jobs of a service that is gone" in classroom.hub.log()


def test_stopped_service_leaves_in_seconds_and_its_job_is_graded_once(classroom: Classroom,
                                                                     released: dict) -> None:
    """SIGTERM the service mid-grading, as the hub does when it stops."""
    submission = submit_slow(classroom.hub.data_dir, classroom.student("graded when stopped"))
    wait_until("the job did not start", lambda: running_one(classroom, [submission]), 120,
               classroom)
    pid = service_pid(classroom.service_port)
    stopped_at = time.monotonic()
    with service_back_afterwards(classroom):
        os.kill(pid, signal.SIGTERM)
        wait_until("the service did not stop", lambda: process_gone(pid), 10, classroom)
        print(f"service stopped {time.monotonic() - stopped_at:.2f} s after SIGTERM")
        assert "1 grading jobs back in the queue" in classroom.hub.log()
    wait_until("grading did not finish", lambda: all_done(classroom, [submission]), 300,
               classroom)
    (job,) = jobs_of(classroom.hub.data_dir, submission)
    assert job["state"] == "done" and job["attempts"] == 1, job
    assert graded_by(classroom.hub.data_dir, submission) == {job["id"]}


def stat_fields(pid: int | str) -> list[str]:
    """``/proc/<pid>/stat`` from its third field (the state) on: [1] ppid, [16] nice."""
    return proc_stat(pid)


def children_of() -> dict[int, list[int]]:
    """Every live process's children, by parent pid."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = stat_fields(int(entry.name))
            except OSError:
                continue
            if fields[0] != "Z":
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def descendants(pid: int) -> set[int]:
    tree, found, todo = children_of(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def grading_workers_of(service: int) -> list[int]:
    return [pid for pid in children_of().get(service, [])
            if b"hub.service.grading_process" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def test_grading_runs_in_a_niced_worker_process_that_dies_with_the_service(
        classroom: Classroom, released: dict) -> None:
    """Is the submission graded in a process of its own, niced, without the hub's token;
    after a SIGKILL of the service, is that process (and its sandbox) gone at once, and
    the job graded again by the next service's worker?"""
    submission = submit_slow(classroom.hub.data_dir, classroom.student("graded by a worker"))
    wait_until("the job did not start", lambda: running_one(classroom, [submission]), 120,
               classroom)
    service = service_pid(classroom.service_port)
    (worker,) = grading_workers_of(service)
    environment = Path(f"/proc/{worker}/environ").read_bytes().split(b"\0")
    assert not any(entry.startswith(b"JUPYTERHUB_API_TOKEN=") for entry in environment)
    sandboxes = wait_until("no sandbox under the worker", lambda: {
        pid for pid in descendants(worker)
        if b"bwrap" in Path(f"/proc/{pid}/cmdline").read_bytes()}, 60, classroom)
    assert not sandboxes & set(children_of().get(service, [])), "the service ran a sandbox"
    # Every thread of the worker is niced, and the sandboxes it started at least as much
    # (the local sandbox adds its own [grading] niceness on top).
    service_nice = int(stat_fields(service)[16])
    thread_nice = {int(stat_fields(f"{worker}/task/{task.name}")[16])
                   for task in Path(f"/proc/{worker}/task").iterdir()}
    niced = min(service_nice + 10, 19)
    assert thread_nice == {niced} and niced > service_nice
    assert all(int(stat_fields(pid)[16]) >= niced for pid in sandboxes), sandboxes
    requeued_before = classroom.hub.log().count("grading jobs of a service that is gone")

    # Gone, not within an exact time: their group's CPU weight is one niced process's, so
    # on a busy host their exit takes a while; an orphan (a worker still polling the
    # queue, a kernel nobody shuts down) would be there for good.
    with service_back_afterwards(classroom):
        os.kill(service, signal.SIGKILL)
        killed_at = time.monotonic()
        try:
            wait_until("the worker or its sandbox outlived the service",
                       lambda: not still_running({worker, *sandboxes}), 30, classroom)
        except TimeoutError as late:
            raise AssertionError(f"still running: {still_running({worker, *sandboxes})}"
                                 ) from late
        print(f"worker and sandboxes gone {time.monotonic() - killed_at:.2f} s after SIGKILL")
    wait_until("grading did not finish", lambda: all_done(classroom, [submission]), 300,
               classroom)
    (job,) = jobs_of(classroom.hub.data_dir, submission)
    assert job["state"] == "done" and job["attempts"] == 2, job
    log = classroom.hub.log()
    assert log.count("grading jobs of a service that is gone") == requeued_before + 1
    new_service = service_pid(classroom.service_port)
    (new_worker,) = grading_workers_of(new_service)
    assert f"grading job {job['id']}: done (worker " in log
    assert f"pid {new_worker})" in log.split(f"grading job {job['id']}: done", 1)[1][:200]
