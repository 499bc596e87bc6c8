"""The grading queue: claims are exclusive, a dead worker's job is retried and graded once."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from grading.exchange.errors import ExchangeRefused
from grading.exchange.models import Submission
from grading.exchange.store import NewSubmission, utcnow
from grading.gradebook.models import CellGrade, GradingJob, NotebookGrade
from grading.gradebook.queue import (
    NewJob,
    QueuePolicy,
    check_queue_share,
    claim,
    enqueue,
    enqueue_new,
    finish,
    progress,
    regrade,
    store_sources,
)
from grading.gradebook.worker import GradingWorker
from tests.exchange.service_steps import submit
from tests.gradebook.conftest import (
    CLASS,
    CORRECT,
    LIMITS,
    PS1_SOURCE,
    REPO,
    TEACHER,
    Service,
    open_sessions,
)

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
        while grading.is_alive():  # the rival starts once the patient worker holds the job
            with service.session() as session:
                if session.scalar(select(GradingJob.lease_owner)) == "patient":
                    break
            time.sleep(0.05)
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


def _submit_as_the_service(service: Service, student: str, key: str,
                           class_id: str = CLASS, assignment_id: str = "ps1") -> int:
    """A submission stored and queued the way the service's group commit does it."""
    with service.store() as (session, store):
        check_queue_share(session, class_id, assignment_id, student, most=3)
        release = store.require_release_head(class_id, assignment_id)
        manifest = [{"path": path, "sha256": service.content.put(data), "size": len(data)}
                    for path, data in sorted(service.release_files.items())]
        [(submission, _new)] = store.add_submissions([NewSubmission(
            class_id, assignment_id, student, release.version, manifest, key)], LIMITS)
        enqueue_new(session, [NewJob(submission, "submit", None)])
        session.flush()
        return submission.id


def _release_to(service: Service, class_id: str, assignment_id: str) -> None:
    source = {p.name: p.read_bytes() for p in PS1_SOURCE.iterdir() if p.is_file()}
    with service.store() as (session, store):
        releases = store.release([class_id], assignment_id, service.release_files, TEACHER,
                                 None)
        store_sources(session, releases, source, service.content.put)


def _queued(service: Service) -> list[tuple[str, int]]:
    with service.session() as session:
        return sorted(session.execute(
            select(Submission.username, GradingJob.submission_id)
            .join(Submission, Submission.id == GradingJob.submission_id)
            .where(GradingJob.state == "queued")).all())


def test_a_newer_submission_replaces_the_same_students_queued_older_one(
        service: Service) -> None:
    """Does resubmitting leave one waiting job (the newest), and touch no one else's,
    nor a teacher's regrade, nor the submission a teacher chose?"""
    service.release()
    first = _submit_as_the_service(service, "s-01", "key-first-1")
    other = _submit_as_the_service(service, "s-02", "key-other-1")
    newest = [_submit_as_the_service(service, "s-01", f"key-again-{n}") for n in range(5)][-1]
    assert _queued(service) == [("s-01", newest), ("s-02", other)]
    with service.session() as session:
        regraded = session.get_one(Submission, first)
        assert enqueue(session, regraded, "regrade", TEACHER) is not None
        chosen = session.get_one(Submission, newest)
        chosen.chosen = True
    latest = _submit_as_the_service(service, "s-01", "key-latest-1")
    assert _queued(service) == [("s-01", first), ("s-01", newest), ("s-01", latest),
                                ("s-02", other)]


def test_a_student_holds_at_most_the_configured_number_of_waiting_jobs(
        service: Service) -> None:
    """Is a fourth assignment refused while three wait, with nothing written, and allowed
    again (or for the same assignment, which replaces its job) meanwhile?"""
    for assignment_id in ("ps1", "ps2", "ps3", "ps4"):
        _release_to(service, CLASS, assignment_id)
    for assignment_id in ("ps1", "ps2", "ps3"):
        _submit_as_the_service(service, "s-01", f"key-{assignment_id}-1", CLASS, assignment_id)
    with pytest.raises(ExchangeRefused) as refusal:
        _submit_as_the_service(service, "s-01", "key-ps4-1", CLASS, "ps4")
    assert refusal.value.code == "grading_queue_full" and "等待评分" in refusal.value.zh
    with service.session() as session:
        assert session.scalar(select(func.count()).select_from(Submission).where(
            Submission.assignment_id == "ps4")) == 0
    _submit_as_the_service(service, "s-01", "key-ps3-2", CLASS, "ps3")
    _submit_as_the_service(service, "s-02", "key-ps4-2", CLASS, "ps4")
    with service.session() as session:
        job = claim(session, "w1")
        assert finish(session, job.id, "w1")
    _submit_as_the_service(service, "s-01", "key-ps4-3", CLASS, "ps4")


@pytest.mark.parametrize("workers", [1, 2])
def test_workers_take_turns_so_a_flood_delays_others_by_one_job(service: Service,
                                                                 workers: int) -> None:
    """With one student's 40 jobs queued first, is everyone else (6 classmates, 3 students
    of another class) graded before the flooder gets more than one job per worker, and
    does the flooder never hold two workers at once?"""
    service.release()
    _release_to(service, "other-class", "ps1")
    with service.store() as (session, store):
        for n in range(40):
            submission, _new = submit(store, CLASS, "ps1", "flooder", service.release_files,
                                      f"key-flood-{n:03d}", LIMITS)
            enqueue(session, submission, "submit", "flooder")
    others = [f"s-{n:02d}" for n in range(6)]
    for name in others:
        _submit_as_the_service(service, name, f"key-{name}-1")
    for name in ("o-00", "o-01", "o-02"):
        _submit_as_the_service(service, name, f"key-{name}-1", "other-class")
        others.append(name)
    rounds = _claim_all(service, workers)
    assert max(taken.count("flooder") for taken in rounds) == 1  # one worker at a time
    order = [name for taken in rounds for name in taken]
    assert len(order) == 40 + len(others)
    last_honest = max(order.index(name) for name in others)
    assert order[:last_honest].count("flooder") <= workers, order[:last_honest + 1]


def _claim_all(service: Service, workers: int) -> list[list[str]]:
    """Whose jobs ``workers`` workers take, round by round (each worker claims, then all
    finish)."""
    rounds = []
    with service.session() as session:
        names = dict(session.execute(select(Submission.id, Submission.username)).all())
    while True:
        taken = []
        for worker in range(workers):
            with service.session() as session:
                job = claim(session, f"w{worker}")
                if job is not None:
                    taken.append((worker, job.id, job.submission_id))
        if not taken:
            return rounds
        for worker, job_id, _submission_id in taken:
            with service.session() as session:
                assert finish(session, job_id, f"w{worker}")
        rounds.append([names[submission_id] for _worker, _job, submission_id in taken])


def test_workers_starting_together_on_a_flood_take_one_of_its_jobs(service: Service) -> None:
    """Do four workers claiming at the same instant, with only one student's jobs queued,
    take exactly one of them (the others stay free for whoever submits next)?"""
    service.release()
    with service.store() as (session, store):
        for n in range(10):
            submission, _new = submit(store, CLASS, "ps1", "flooder", service.release_files,
                                      f"key-flood-{n:03d}", LIMITS)
            enqueue(session, submission, "submit", "flooder")
    start = threading.Barrier(4)
    taken: list[int | None] = []

    def work(name: str) -> None:
        maker = open_sessions(service.url)
        start.wait()
        with maker() as session, session.begin():
            job = claim(session, name)
            taken.append(None if job is None else job.id)

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(taken) == 4 and len([job for job in taken if job is not None]) == 1, taken
