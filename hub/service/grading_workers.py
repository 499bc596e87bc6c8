"""Grading workers inside the classroom service process, as asyncio tasks.

Each task hands :meth:`GradingWorker.run_once` to a thread (student code runs in
the sandbox, not here) and sleeps when the queue is empty. No job waits out its lease
because its service went away: a service that stops puts its workers' jobs back in the
queue (:func:`stop_grading_workers`), and one that starts puts back those of an earlier
service on this host whose process is gone, killed or crashed (:func:`requeue_abandoned`).
A worker on another host is left to its lease, which runs out without it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket

from grading.autograde.results import StudentResult
from grading.gradebook.models import GradingJob
from grading.gradebook.queue import QueuePolicy, requeue, running_owners
from grading.gradebook.worker import GradingWorker
from grading.sandbox.base import SandboxError
from hub.service.classroom import Classroom
from hub.service.metrics import GRADING_JOBS, SANDBOX_FAILURES

log = logging.getLogger("aiclass.classroom")
#: How long an idle worker sleeps before it asks the queue again: what a submission to an
#: idle queue waits at most before its grading starts. Two seconds were as long as
#: grading a short notebook itself; an empty claim is one indexed query.
IDLE_SECONDS = 0.5


OUTCOMES = {"done": "done", "failed": "failed", "queued": "preempted"}
"""A graded job's state afterwards, as its outcome: back in the queue means given up to
others (pre-empted, or the service stopping); held by another worker, the lease was lost."""


class MeteredGradingWorker(GradingWorker):
    """A grading worker that counts its jobs by outcome and its sandbox failures.

    ``grading/`` knows nothing of the service or its metrics, so the counting wraps the
    worker's two steps here: a sandbox failure is seen as it leaves :meth:`grade` (the
    worker turns it into a failed job), the outcome by reading back the finished job's
    state, one primary-key read after seconds of grading.
    """

    def run_once(self) -> int | None:
        job_id = super().run_once()
        if job_id is not None:
            with self.sessions() as session:
                state = session.get(GradingJob, job_id).state
            GRADING_JOBS.labels(OUTCOMES.get(state, "lease_lost")).inc()
        return job_id

    def grade(self, assignment_id: str, username: str, source_manifest: list[dict],
              submission_manifest: list[dict]) -> StudentResult:
        try:
            return super().grade(assignment_id, username, source_manifest, submission_manifest)
        except SandboxError:
            if self.backend().halted_for is None:  # not its own worker giving the job up
                SANDBOX_FAILURES.labels(self.sandbox).inc()
            raise


async def work(worker: GradingWorker) -> None:
    """Grade jobs until cancelled; an unexpected error is logged and the loop goes on."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            job = await loop.run_in_executor(None, worker.run_once)
        except Exception:
            log.exception("grading worker %s", worker.name)
            job = None
        if job is None:
            await asyncio.sleep(IDLE_SECONDS)


def start_grading_workers(classroom: Classroom, count: int, sandbox: str = "local",
                          image: str | None = None,
                          fair_share_seconds: float = QueuePolicy.fair_share_seconds
                          ) -> list[asyncio.Task]:
    """Start ``count`` workers on the service's database and content store.

    ``sandbox`` is named, never guessed: local mode grades in bubblewrap even on a host
    where a Docker engine and the student image happen to exist; docker mode in containers
    of ``image`` (the student image, under the center's registry prefix).
    """
    prefix = _own_prefix(os.getpid())
    return [asyncio.get_running_loop().create_task(work(MeteredGradingWorker(
        classroom.session, classroom.content, f"{prefix}{n}", sandbox=sandbox, image=image,
        policy=QueuePolicy(fair_share_seconds=fair_share_seconds))))
        for n in range(count)]


def _own_prefix(pid: int) -> str:
    """How the names of the workers of service process ``pid`` on this host begin."""
    return f"{socket.gethostname()}-{pid}-"


def _abandoned_here(owner: str) -> bool:
    """Whether ``owner`` is a worker of a service process on this host that is gone.

    This process's own pid counts as gone: its workers have not started yet, and a hub
    container started again hands its new service the pid the old one had.
    """
    pid = owner.removeprefix(f"{socket.gethostname()}-").split("-")[0]
    if not pid.isdigit() or not owner.startswith(_own_prefix(int(pid))):
        return False
    if int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def requeue_abandoned(classroom: Classroom) -> int:
    """Before the workers start: put back the jobs that dead services of this host held."""
    with classroom.session() as session:
        owners = {owner for owner in running_owners(session) if _abandoned_here(owner)}
        count = requeue(session, owners, counts_as_attempt=True)
    if count:
        log.info("requeued %d grading jobs of a service that is gone", count)
    return count


def stop_grading_workers(classroom: Classroom, workers: list[asyncio.Task]) -> int:
    """Stop the workers and put the jobs they hold back in the queue; how many there were.

    A job being graded is given up rather than waited for (a sandbox may run for minutes
    while the hub waits ten seconds): the next worker grades it from the start, and this
    one, should it finish first, writes nothing, since it no longer holds the job.
    """
    for task in workers:
        task.cancel()
    prefix = _own_prefix(os.getpid())
    with classroom.session() as session:
        owners = {owner for owner in running_owners(session) if owner.startswith(prefix)}
        return requeue(session, owners, counts_as_attempt=False)
