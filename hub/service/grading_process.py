"""One grading worker in an OS process of its own: ``python -m hub.service.grading_process``.

The classroom service starts these (:mod:`hub.service.grading_workers`). Grading used to
run on threads of the service itself, and nbgrader's pipeline is pure Python that holds
the interpreter lock for seconds: with grading on, the exchange's submit p95 was two to
three times what it was with grading off. In a process of its own, niced, a worker takes
CPU from nobody who is waiting for an answer.

The service nices the worker as it starts it (:data:`NICENESS`), before the seconds of
CPU its imports take: a service starting while a class is fetching does not answer
slower for them.

What the worker needs comes on stdin as one JSON object (:class:`WorkerConfig`), so the
database URL, which may carry a password, never appears on a command line. The worker
dies with the service, SIGKILL included (``PR_SET_PDEATHSIG``), and a stop is a SIGKILL
too: its job goes back to the queue either way. What it counts for the service's
metrics it reports as JSON lines on its stdout (:class:`Report`), which the service
reads and adds to its own counters. Its log goes to stderr, the service's log.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
from dataclasses import asdict, dataclass
from typing import TextIO

from grading.autograde.results import StudentResult
from grading.gradebook.models import GradingJob
from grading.gradebook.queue import QueuePolicy
from grading.gradebook.worker import GradingWorker
from grading.sandbox.base import SandboxError
from hub.process_lifetime import die_with_parent
from hub.service.classroom import Classroom
from hub.service.log_format import configure_service_logging

log = logging.getLogger("aiclass.classroom")
#: How long an idle worker sleeps before it asks the queue again: what a submission to an
#: idle queue waits at most before its grading starts. Two seconds were as long as
#: grading a short notebook itself; an empty claim is one indexed query.
IDLE_SECONDS = 0.5
#: How much nicer than the service a worker runs: when the CPUs are busy, the service's
#: requests (and the pupils' kernels) go first and grading takes what is left; with idle
#: CPUs it changes nothing. (The kernel keeps a niceness at 19 at most.)
NICENESS = 10

OUTCOMES = {"done": "done", "failed": "failed", "queued": "preempted"}
"""A graded job's state afterwards, as its outcome: back in the queue means given up to
others (pre-empted, or the service stopping); held by another worker, the lease was lost."""
LEASE_LOST = "lease_lost"
#: The report a worker sends once, when it is ready to grade: its imports (seconds of CPU)
#: done, just before it first asks the queue. The service counts itself ready
#: (``/ready``) when every worker has sent it.
READY = "ready"


@dataclass(frozen=True)
class WorkerConfig:
    """What one worker process is told by the service that starts it."""

    name: str
    database_url: str
    data_dir: str
    sandbox: str = "local"
    image: str | None = None
    fair_share_seconds: float = QueuePolicy.fair_share_seconds
    log_format: str = "text"

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> WorkerConfig:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class Report:
    """One event the worker counts for the service: a finished job or a failed sandbox.

    ``counter`` is ``"grading_jobs"`` (``label``: the job's outcome, one of
    :data:`OUTCOMES`' values or :data:`LEASE_LOST`) or ``"sandbox_failures"``
    (``label``: the sandbox backend); ``job`` is the job's id, for the service's log.
    :data:`READY` (``label``: the worker's name) counts nothing: it says the worker is
    ready to grade.
    """

    counter: str
    label: str
    job: int | None = None

    def to_line(self) -> str:
        return json.dumps(asdict(self)) + "\n"

    @classmethod
    def from_line(cls, line: str) -> Report:
        return cls(**json.loads(line))


class ReportingGradingWorker(GradingWorker):
    """A grading worker that reports its jobs by outcome and its sandbox failures.

    ``grading/`` knows nothing of the service or its metrics, so the reporting wraps the
    worker's two steps here: a sandbox failure is seen as it leaves :meth:`grade` (the
    worker turns it into a failed job), the outcome by reading back the finished job's
    state, one primary-key read after seconds of grading.
    """

    def __init__(self, *args: object, reports: TextIO, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.reports = reports

    def report(self, report: Report) -> None:
        self.reports.write(report.to_line())
        self.reports.flush()

    def run_once(self) -> int | None:
        job_id = super().run_once()
        if job_id is not None:
            with self.sessions() as session:
                state = session.get(GradingJob, job_id).state
            self.report(Report("grading_jobs", OUTCOMES.get(state, LEASE_LOST), job_id))
        return job_id

    def grade(self, assignment_id: str, username: str, source_manifest: list[dict],
              submission_manifest: list[dict]) -> StudentResult:
        try:
            return super().grade(assignment_id, username, source_manifest, submission_manifest)
        except SandboxError:
            if self.backend().halted_for is None:  # not its own worker giving the job up
                self.report(Report("sandbox_failures", self.sandbox))
            raise


def work(worker: GradingWorker) -> None:
    """Grade jobs until the process is stopped; an unexpected error is logged, and on."""
    while True:
        try:
            job = worker.run_once()
        except Exception:
            log.exception("grading worker %s", worker.name)
            job = None
        if job is None:
            time.sleep(IDLE_SECONDS)


def private_reports() -> TextIO:
    """The stdout the service reads reports from, kept for them alone.

    Anything else that writes to stdout (a library's ``print``) goes to stderr, the log,
    instead of into the middle of a report line.
    """
    reports = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return reports


def main() -> None:
    """Run one worker as told on stdin until killed (stopped, or its service gone).

    Its job goes back to the queue (by the stopping service, or by the next one), its
    bubblewrap boxes die with it, and the next Docker backend removes its containers.
    """
    die_with_parent(signal.SIGKILL)
    config = WorkerConfig.from_json(sys.stdin.readline())
    reports = private_reports()
    configure_service_logging(config.log_format)
    classroom = Classroom(database_url=config.database_url, data_dir=config.data_dir)
    worker = ReportingGradingWorker(
        classroom.session, classroom.content, config.name, sandbox=config.sandbox,
        image=config.image, policy=QueuePolicy(fair_share_seconds=config.fair_share_seconds),
        reports=reports)
    worker.report(Report(READY, config.name))
    work(worker)


if __name__ == "__main__":
    main()
