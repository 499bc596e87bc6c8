"""The grading queue: claims are exclusive, a dead worker's job is retried and graded once."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import timedelta

from sqlalchemy import func, select

from grading.exchange.store import utcnow
from grading.gradebook.models import CellGrade, GradingJob, NotebookGrade
from grading.gradebook.queue import QueuePolicy, claim, enqueue, finish, progress, regrade
from grading.gradebook.worker import GradingWorker
from tests.gradebook.conftest import CLASS, CORRECT, REPO, TEACHER, Service, open_sessions

#: A worker that claims one job, says so, and waits to be killed (as a crash mid-job).
DYING_WORKER = """
import sys, time
from tests.gradebook.conftest import open_sessions
from grading.gradebook.queue import QueuePolicy, claim
maker = open_sessions(sys.argv[1])
with maker() as session, session.begin():
    job = claim(session, "doomed", QueuePolicy(lease_seconds=int(sys.argv[2])))
print(job.id if job else "none", flush=True)
time.sleep(600)
"""


def test_two_workers_never_take_the_same_job(service: Service) -> None:
    service.release()
    ids = [service.submit(f"s-{n:02d}") for n in range(12)]
    with service.store() as (session, _store):
        for submission_id in ids:
            assert enqueue(session, session.get_one(_submission(), submission_id), "submit",
                           TEACHER) is not None
    taken: dict[str, list[int]] = {"w1": [], "w2": []}

    def work(name: str) -> None:
        maker = open_sessions(service.url)
        while True:
            with maker() as session, session.begin():
                job = claim(session, name)
                if job is None:
                    return
                taken[name].append(job.id)

    threads = [threading.Thread(target=work, args=(name,)) for name in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    everything = taken["w1"] + taken["w2"]
    assert sorted(everything) == sorted(set(everything))
    assert len(everything) == 12
    with service.session() as session:
        assert progress(session, CLASS, "ps1") == {"queued": 0, "running": 12, "done": 0,
                                                   "failed": 0}


def test_a_killed_worker_job_is_retried_once_and_graded_once(service: Service) -> None:
    service.release()
    submission_id = service.submit("s-01", CORRECT)
    with service.store() as (session, _store):
        enqueue(session, session.get_one(_submission(), submission_id), "submit", "s-01")
    dying = subprocess.Popen([sys.executable, "-c", DYING_WORKER, service.url, "20"],
                             cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        claimed = dying.stdout.readline().strip()
    finally:
        dying.kill()
        dying.wait()
    assert claimed.isdigit()
    worker = GradingWorker(service.session, service.content, "survivor", sandbox="local")
    with service.session() as session:
        # The lease is still held: nobody else may take the job yet.
        assert claim(session, "early", now=utcnow()) is None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and utcnow() <= _lease_expiry(service, int(claimed)):
        time.sleep(0.5)
    try:
        assert worker.run_once() == int(claimed)
        assert worker.run_once() is None
    finally:
        worker.close()
    with service.session() as session:
        job = session.get(GradingJob, int(claimed))
        assert (job.state, job.attempts, job.error) == ("done", 2, None)
        assert session.scalar(select(func.count()).select_from(NotebookGrade)) == 2
        cells = session.scalars(select(CellGrade).where(CellGrade.job_id == job.id)).all()
        scores = {c.grade_id: c.auto_score for c in cells}
    assert scores["correct_squares"] == 1.0
    assert scores["correct_sum_of_squares"] == 2.0
    assert scores["correct_mean"] == 2.0
    assert scores["growth_answer"] is None


def test_a_result_from_a_lost_lease_is_refused(service: Service) -> None:
    service.release()
    submission_id = service.submit("s-02")
    policy = QueuePolicy(lease_seconds=1)
    with service.store() as (session, _store):
        enqueue(session, session.get_one(_submission(), submission_id), "submit", "s-02")
    with service.session() as session:
        first = claim(session, "slow", policy)
    with service.session() as session:
        second = claim(session, "fast", policy, now=utcnow() + timedelta(seconds=5))
    assert first.id == second.id
    with service.session() as session:
        assert finish(session, first.id, "slow") is False
        assert finish(session, second.id, "fast") is True
        assert finish(session, second.id, "fast") is False
        assert session.get(GradingJob, first.id).attempts == 2


def test_a_job_that_keeps_losing_its_worker_fails_after_the_limit(service: Service) -> None:
    service.release()
    submission_id = service.submit("s-03")
    policy = QueuePolicy(lease_seconds=1, max_attempts=2)
    with service.store() as (session, _store):
        enqueue(session, session.get_one(_submission(), submission_id), "submit", "s-03")
    later = utcnow()
    for _ in range(2):
        later += timedelta(seconds=10)
        with service.session() as session:
            assert claim(session, "crashy", policy, now=later) is not None
    with service.session() as session:
        assert claim(session, "crashy", policy, now=later + timedelta(seconds=10)) is None
        assert progress(session, CLASS, "ps1")["failed"] == 1


def test_a_worker_keeps_its_lease_while_grading_takes_longer_than_the_lease(
        service: Service) -> None:
    """Does a worker still grading keep others off its job after the first lease ran out?"""
    service.release()
    slow = {"squares": "import time\ntime.sleep(10)\n" + CORRECT["squares"]}
    submission_id = service.submit("s-06", {**CORRECT, **slow})
    with service.store() as (session, _store):
        enqueue(session, session.get_one(_submission(), submission_id), "submit", "s-06")
    policy = QueuePolicy(lease_seconds=3)
    worker = GradingWorker(service.session, service.content, "patient", sandbox="local",
                           policy=policy)
    graded: list[int | None] = []
    grading = threading.Thread(target=lambda: graded.append(worker.run_once()))
    started = time.monotonic()
    grading.start()
    rivals = []
    try:
        while grading.is_alive():
            with service.session() as session:
                rivals.append(claim(session, "rival", policy))
            time.sleep(0.2)
        grading.join()
    finally:
        worker.close()
    assert time.monotonic() - started > 2 * policy.lease_seconds
    assert [rival for rival in rivals if rival is not None] == []
    with service.session() as session:
        job = session.get(GradingJob, graded[0])
        assert (job.state, job.attempts, job.lease_owner) == ("done", 1, None)


def test_regrade_queues_the_counted_submission_once(service: Service) -> None:
    service.release()
    service.submit("s-04", key="first-try-s04")
    latest = service.submit("s-04", CORRECT, key="second-try-s04")
    with service.store() as (session, store):
        jobs = regrade(session, store, CLASS, "ps1", ["s-04", "s-05"], TEACHER)
        again = regrade(session, store, CLASS, "ps1", ["s-04"], TEACHER)
        assert [job.submission_id for job in jobs] == [latest]
        assert again == []
        assert progress(session, CLASS, "ps1")["queued"] == 1


def _submission() -> type:
    from grading.exchange.models import Submission
    return Submission


def _lease_expiry(service: Service, job_id: int):  # noqa: ANN202
    with service.session() as session:
        return session.get(GradingJob, job_id).lease_expires_at
