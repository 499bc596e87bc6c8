"""A flood's long jobs give their worker up to students waiting behind them.

The attack: a student queues several notebooks that sleep as long as the sandbox
allows, so that the workers grading them leave everybody else waiting. With two
workers and one flood, half the grading capacity would be theirs. Does a worker
grading such a job for longer than the fair share put it back (its sandbox killed, no
attempt counted, nothing written), grade the honest student next and the flood job
later exactly once? Is a student's only submission never given up, however long it
runs?
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from grading.exchange.models import Submission
from grading.gradebook.models import CellGrade, GradingJob, NotebookGrade
from grading.gradebook.queue import (
    QueuePolicy,
    claim,
    enqueue,
    finish,
    holds,
    preempt,
    preemptible,
)
from grading.gradebook.worker import GradingWorker
from grading.sandbox.docker import DockerSandbox
from hub.images import image_reference
from tests.gradebook.conftest import CORRECT, TEACHER, Service

STUDENT_IMAGE = image_reference("student")
SANDBOXES = ["local", pytest.param("docker", marks=pytest.mark.skipif(
    not DockerSandbox(image=STUDENT_IMAGE).available(),
    reason="Docker engine or student image missing: `make images` starts the engine "
           "and builds it"))]

FLOOD_SLEEP = 20
#: The fair share, scaled down so that the test takes seconds.
POLICY = QueuePolicy(fair_share_seconds=2, preempt_check_seconds=0.3)


def queue(service: Service, student: str, edits: dict[str, str], key: str) -> int:
    """Submit and queue one submission; its job's id."""
    submission_id = service.submit(student, edits, key=key)
    with service.session() as session:
        return enqueue(session, session.get_one(Submission, submission_id), "submit",
                       TEACHER).id


def state(service: Service, job_id: int) -> tuple[str, int, int, int]:
    """A job's state and attempts, and the notebook and cell grades of its submission."""
    with service.session() as session:
        job = session.get_one(GradingJob, job_id)
        notebooks = session.scalar(select(func.count()).select_from(NotebookGrade).where(
            NotebookGrade.submission_id == job.submission_id))
        cells = session.scalar(select(func.count()).select_from(CellGrade).where(
            CellGrade.submission_id == job.submission_id))
        return job.state, job.attempts, notebooks, cells


def scores(service: Service, job_id: int) -> dict[str, float | None]:
    with service.session() as session:
        return {cell.grade_id: cell.auto_score for cell in session.scalars(
            select(CellGrade).where(CellGrade.job_id == job_id))}


@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_a_flood_job_past_its_fair_share_is_given_up_and_graded_once_later(
        service: Service, sandbox: str) -> None:
    service.release()
    sleeper = {**CORRECT, "squares": f"import time\ntime.sleep({FLOOD_SLEEP})\n"
                                     + CORRECT["squares"]}
    flood = [queue(service, "s-flood", sleeper, f"flood-key-{n}") for n in range(2)]
    worker = GradingWorker(service.session, service.content, "w-fair", sandbox=sandbox,
                           image=STUDENT_IMAGE, policy=POLICY)
    try:
        ran: list[int | None] = []
        grading = threading.Thread(target=lambda: ran.append(worker.run_once()))
        grading.start()
        while state(service, flood[0])[0] != "running":
            assert grading.is_alive(), "the worker did not take the flood's first job"
            time.sleep(0.05)
        honest = queue(service, "s-honest", CORRECT, "honest-key")
        grading.join(timeout=120)
        assert ran == [flood[0]]
        # Given up, not waited out: a job that ran its sleep to the end would be done and
        # graded (no time bound here, which a busy machine's slow sandbox start could break).
        assert state(service, flood[0]) == ("queued", 0, 0, 0), (
            "a pre-empted job must go back uncounted with nothing written")

        assert worker.run_once() == honest, "the honest student is served before the flood"
        assert state(service, honest) == ("done", 1, 2, len(scores(service, honest)))

        for _ in flood:  # nobody else waits now: the flood's jobs run to their end
            worker.run_once()
        assert worker.run_once() is None
    finally:
        worker.close()
    assert state(service, flood[0]) == ("done", 1, 2, len(scores(service, flood[0])))
    assert scores(service, flood[0]) == scores(service, honest)
    assert scores(service, honest)["correct_squares"] == 1.0
    with service.session() as session:
        assert session.scalar(select(func.count()).select_from(NotebookGrade)) == 6, (
            "each of the three submissions is graded exactly once")


def test_only_a_student_with_more_waiting_gives_way_and_only_to_someone_idle(
        service: Service) -> None:
    """The rules of :func:`preemptible`, on the real queue without grading."""
    service.release()
    long_one = queue(service, "s-cnn", CORRECT, "cnn-key-1")
    with service.session() as session:
        assert claim(session, "w1").id == long_one
    other = queue(service, "s-other", CORRECT, "other-key")
    with service.session() as session:
        assert not preemptible(session, long_one), (
            "a student's only submission must never be given up")
    second = queue(service, "s-cnn", CORRECT, "cnn-key-2")
    with service.session() as session:
        assert preemptible(session, long_one)
        assert claim(session, "w2").id == other
    with service.session() as session:
        assert not preemptible(session, long_one), "nobody idle is waiting any more"
        assert finish(session, other, "w2")
    third = queue(service, "s-third", CORRECT, "third-key")
    with service.session() as session:
        assert preemptible(session, long_one)
        assert not preempt(session, long_one, "w2"), "only the holder may give a job up"
        assert preempt(session, long_one, "w1")
        assert not holds(session, long_one, "w1")
        assert not finish(session, long_one, "w1"), "the pre-empted worker wrote a result"
        assert session.get_one(GradingJob, long_one).attempts == 0
        assert claim(session, "w1").id == third, "the pre-empted student goes behind"
        assert claim(session, "w2").id in (long_one, second)
