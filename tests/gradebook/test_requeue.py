"""Jobs of workers that are gone go back to the queue at once, without a second result.

Does a stopped service's job go back without costing the submission an attempt, while a
dead service's job does (so that a notebook that kills its grader every time still ends
failed)? Can the worker that lost its job still write a result? Which workers count as
gone: those of this host whose process is not there, and never another host's?
"""

from __future__ import annotations

import os
import socket
import subprocess

from grading.exchange.models import Submission
from grading.gradebook.models import GradingJob
from grading.gradebook.queue import (
    QueuePolicy,
    claim,
    enqueue,
    finish,
    holds,
    requeue,
    running_owners,
)
from hub.service.grading_workers import requeue_abandoned
from tests.gradebook.conftest import TEACHER, Service


def queued_job(service: Service) -> int:
    service.release()
    submission_id = service.submit("s-01")
    with service.session() as session:
        return enqueue(session, session.get_one(Submission, submission_id), "submit",
                       TEACHER).id


def test_a_stopped_workers_job_is_requeued_uncounted_and_its_result_refused(
        service: Service) -> None:
    job_id = queued_job(service)
    with service.session() as session:
        assert claim(session, "host-10-0").id == job_id
        assert running_owners(session) == {"host-10-0"}
    with service.session() as session:
        assert requeue(session, {"host-10-0"}, counts_as_attempt=False) == 1
    with service.session() as session:
        job = session.get_one(GradingJob, job_id)
        assert (job.state, job.attempts, job.lease_owner) == ("queued", 0, None)
        assert not holds(session, job_id, "host-10-0")
        assert not finish(session, job_id, "host-10-0"), "the old worker wrote a result"
        assert claim(session, "host-11-0").id == job_id
    with service.session() as session:
        assert session.get_one(GradingJob, job_id).attempts == 1
        assert finish(session, job_id, "host-11-0")
        assert session.get_one(GradingJob, job_id).state == "done"


def test_a_notebook_that_kills_its_grader_every_time_ends_failed(service: Service) -> None:
    job_id = queued_job(service)
    policy = QueuePolicy(max_attempts=2)
    for attempt in (1, 2):
        with service.session() as session:
            assert claim(session, f"host-{attempt}-0", policy).id == job_id
        with service.session() as session:
            requeue(session, {f"host-{attempt}-0"}, counts_as_attempt=True)
    with service.session() as session:
        assert claim(session, "host-3-0", policy) is None
        job = session.get_one(GradingJob, job_id)
        assert job.state == "failed" and "gave up after 2 attempts" in job.error


def test_a_starting_service_requeues_only_this_hosts_dead_workers_jobs(
        service: Service) -> None:
    """``requeue_abandoned`` as the service runs it before its workers start."""
    host = socket.gethostname()
    finished = subprocess.Popen(["true"])
    finished.wait()
    owners = {"dead here": f"{host}-{finished.pid}-0",
              "own pid (a restarted container)": f"{host}-{os.getpid()}-1",
              "running here": f"{host}-{os.getppid()}-0",
              "another host": f"elsewhere-{finished.pid}-0",
              "named otherwise": "doomed"}
    service.release()
    jobs = {}
    for n, (what, owner) in enumerate(owners.items()):
        submission_id = service.submit(f"s-{n:02d}")
        with service.session() as session:
            enqueue(session, session.get_one(Submission, submission_id), "submit", TEACHER)
        with service.session() as session:
            jobs[what] = claim(session, owner).id
    assert requeue_abandoned(service) == 2
    with service.session() as session:
        states = {what: session.get_one(GradingJob, job_id).state
                  for what, job_id in jobs.items()}
    assert states == {"dead here": "queued", "own pid (a restarted container)": "queued",
                      "running here": "running", "another host": "running",
                      "named otherwise": "running"}
