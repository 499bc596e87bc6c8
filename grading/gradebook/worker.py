"""A grading worker: claims a job, grades the submission in a sandbox, writes the gradebook.

The submission and the instructor version it was released from come out of the
content store into a private temporary folder; grading is ``grade_folder``'s own
path for one student (nbgrader's pipeline, one sandbox per notebook). The worker
renews the job's lease while it grades, so however long a submission takes, no
other worker takes it up. Only the worker holding the lease may write the result,
in the transaction that marks the job done, so a job lands in the gradebook exactly
once however often it is tried. A job past its fair share while others wait is given
up (``grading.gradebook.queue``): the worker puts it back in the queue and halts its
sandboxes, and writes nothing for it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import threading
import traceback
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import nbformat
from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from grading.autograde.assignment import GradingError, PreparedAssignment
from grading.autograde.folder import grade_submissions
from grading.autograde.grader import NotebookGrader
from grading.autograde.results import StudentResult
from grading.exchange.content_store import ContentStore
from grading.exchange.models import Submission
from grading.exchange.store import utcnow
from grading.gradebook.models import CellGrade, GradeChange, LostPoints, NotebookGrade
from grading.gradebook.queue import (
    QueuePolicy,
    claim,
    finish,
    holds,
    preempt,
    preemptible,
    renew,
    source_of,
)
from grading.sandbox.base import SandboxBackend, SandboxError
from grading.sandbox.limits import SandboxLimits
from grading.sandbox.registry import choose_backend

log = logging.getLogger("aiclass.grading")

Sessions = Callable[[], AbstractContextManager[Session]]
AUTOGRADER = "autograder"


def write_files(root: Path, files: dict[str, bytes]) -> None:
    """Write relative paths (already checked by the exchange) under ``root``."""
    for relpath, data in files.items():
        target = root / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def store_executed(result: StudentResult, content: ContentStore) -> list[str | None]:
    """Make each notebook's executed copy durable; their digests, in order.

    Done before the transaction that records them (see :meth:`GradingWorker.run_once`),
    so that no database lock is held across an fsync.
    """
    return [None if notebook.executed is None
            else content.put(nbformat.writes(notebook.executed).encode())
            for notebook in result.notebooks]


def record_result(session: Session, job_id: int, submission: Submission,
                  result: StudentResult, content: ContentStore,
                  executed_of: list[str | None] | None = None) -> None:
    """Write (or rewrite, on a regrade) the gradebook rows of one graded submission.

    Teachers' manual scores, overrides and comments stay; a changed auto score is
    recorded in the audit trail; why cells lost points is replaced by this grading's.
    """
    now = utcnow()
    if executed_of is None:
        executed_of = store_executed(result, content)
    for notebook, executed in zip(result.notebooks, executed_of, strict=True):
        row = session.scalars(select(NotebookGrade).where(
            NotebookGrade.submission_id == submission.id,
            NotebookGrade.notebook == notebook.notebook)).first()
        if row is None:
            row = NotebookGrade(submission_id=submission.id, notebook=notebook.notebook)
            session.add(row)
        row.job_id, row.flags, row.executed_sha256, row.graded_at = (
            job_id, list(notebook.flags), executed, now)
        for position, cell in enumerate(notebook.cells):
            grade = session.scalars(select(CellGrade).where(
                CellGrade.submission_id == submission.id,
                CellGrade.notebook == notebook.notebook,
                CellGrade.grade_id == cell.grade_id)).first()
            if grade is None:
                grade = CellGrade(submission_id=submission.id, class_id=submission.class_id,
                                  assignment_id=submission.assignment_id,
                                  username=submission.username, notebook=notebook.notebook,
                                  grade_id=cell.grade_id, comment="")
                session.add(grade)
            elif grade.auto_score != cell.score:
                session.flush()
                session.add(GradeChange(cell_id=grade.id, field="auto",
                                        old_value=json.dumps(grade.auto_score),
                                        new_value=json.dumps(cell.score),
                                        changed_by=AUTOGRADER, changed_at=now,
                                        reason=f"job {job_id}"))
            grade.position, grade.kind, grade.max_score = position, cell.kind, cell.max_score
            grade.auto_score, grade.job_id = cell.score, job_id
        session.execute(delete(LostPoints).where(LostPoints.submission_id == submission.id,
                                                 LostPoints.notebook == notebook.notebook))
        session.add_all(LostPoints(submission_id=submission.id, notebook=notebook.notebook,
                                   grade_id=cell.grade_id, reason=cell.reason, job_id=job_id)
                        for cell in notebook.cells if cell.reason)
    session.flush()


class GradingWorker:
    """Grades queued submissions one at a time; run several for parallel grading."""

    def __init__(self, sessions: Sessions, content: ContentStore, name: str,
                 sandbox: str = "auto", limits: SandboxLimits | None = None,
                 image: str | None = None,
                 policy: QueuePolicy | None = None) -> None:
        self.sessions = sessions
        self.content = content
        self.name = name
        self.sandbox = sandbox
        self.image = image
        self.limits = limits or SandboxLimits()
        self.policy = policy or QueuePolicy()
        self._backend: SandboxBackend | None = None
        self._prepared: OrderedDict[str, tuple[tempfile.TemporaryDirectory,
                                               PreparedAssignment]] = OrderedDict()
        self._lock = threading.Lock()

    def run_once(self) -> int | None:
        """Grade one job if one is waiting; return its id (``None``: the queue was empty)."""
        with self.sessions() as session:
            job = claim(session, self.name, self.policy)
            if job is None:
                return None
            job_id, submission_id = job.id, job.submission_id
            submission = session.get(Submission, job.submission_id)
            source = source_of(session, submission)
            assignment_id, username = submission.assignment_id, submission.username
            source_manifest = list(source.manifest) if source else []
            submission_manifest = list(submission.manifest)
        error = None
        result = None
        try:
            with self._lease_kept(job_id), self._fair_share_kept(job_id):
                result = self.grade(assignment_id, username, source_manifest,
                                    submission_manifest)
        except (GradingError, SandboxError, OSError, KeyError) as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.warning("grading job %d failed: %s", job_id, error)
        except Exception:
            error = traceback.format_exc(limit=5)
            log.exception("grading job %d failed", job_id)
        executed_of = None if result is None else store_executed(result, self.content)
        with self.sessions() as session:
            if not holds(session, job_id, self.name):
                log.warning("grading job %d: no longer held (pre-empted or taken over), "
                            "result dropped", job_id)
                return job_id
            if result is not None:
                submission = session.get(Submission, submission_id)
                record_result(session, job_id, submission, result, self.content, executed_of)
            finish(session, job_id, self.name, error)
        return job_id

    @contextmanager
    def _lease_kept(self, job_id: int) -> Iterator[None]:
        """Renew the job's lease every third of its length until the block ends.

        Grading blocks this thread (a submission may take longer than a lease), so a
        thread of its own renews; a dead worker's lease still runs out on time. Should
        another worker have taken the job meanwhile, renewing stops and the result
        is dropped when it is written (:func:`holds`).
        """
        stop = threading.Event()

        def renew_until_stopped() -> None:
            while not stop.wait(self.policy.lease_seconds / 3):
                try:
                    with self.sessions() as session:
                        if not renew(session, job_id, self.name, self.policy):
                            return
                except SQLAlchemyError as exc:  # a busy database: try again next time
                    log.warning("grading job %d: lease not renewed: %s", job_id, exc)

        renewer = threading.Thread(target=renew_until_stopped, name=f"lease-{job_id}",
                                   daemon=True)
        renewer.start()
        try:
            yield
        finally:
            stop.set()
            renewer.join()

    @contextmanager
    def _fair_share_kept(self, job_id: int) -> Iterator[None]:
        """Give the job up if it runs past its fair share while others wait.

        A thread of its own asks :func:`preemptible` every few seconds once the job has
        run ``fair_share_seconds``; when it is, the job goes back to the queue
        (:func:`preempt`) and the sandboxes grading it are killed (``halt``), so the
        grading thread ends at once and, no longer holding the job, writes nothing.
        """
        stop = threading.Event()
        halted = threading.Event()

        def watch() -> None:
            wait = self.policy.fair_share_seconds
            while not stop.wait(wait):
                wait = self.policy.preempt_check_seconds
                try:
                    with self.sessions() as session:
                        given_up = preemptible(session, job_id) and preempt(
                            session, job_id, self.name)
                except SQLAlchemyError as exc:  # a busy database: ask again next time
                    log.warning("grading job %d: fair share not checked: %s", job_id, exc)
                    continue
                if given_up:
                    log.info("grading job %d pre-empted: others are waiting", job_id)
                    halted.set()
                    self.backend().halt("preempted")
                    return

        watcher = threading.Thread(target=watch, name=f"fair-share-{job_id}", daemon=True)
        watcher.start()
        try:
            yield
        finally:
            stop.set()
            watcher.join()
            if halted.is_set():
                self.backend().resume()

    def grade(self, assignment_id: str, username: str, source_manifest: list[dict],
              submission_manifest: list[dict]) -> StudentResult:
        """Grade one student's files against the instructor files (both from the store)."""
        if not source_manifest:
            raise GradingError(f"作业 {assignment_id} 没有保存源版本 / no stored source")
        assignment = self._assignment(assignment_id, source_manifest)
        with tempfile.TemporaryDirectory(prefix="aiclass-submission-") as workdir:
            folder = Path(workdir) / username / assignment_id
            write_files(folder, {e["path"]: self.content.read(e["sha256"])
                                 for e in submission_manifest})
            grader = NotebookGrader(assignment, self.limits)
            [student] = grade_submissions(grader, {username: folder}, self.backend(), jobs=1)
        return student

    def backend(self) -> SandboxBackend:
        with self._lock:
            if self._backend is None:
                self._backend = choose_backend(self.sandbox, limits=self.limits, image=self.image)
            return self._backend

    def _assignment(self, assignment_id: str, manifest: list[dict]) -> PreparedAssignment:
        """The prepared source (nbgrader's generate takes seconds): kept for the next job."""
        key = hashlib.sha256(json.dumps([assignment_id, manifest], sort_keys=True).encode())
        digest = key.hexdigest()
        with self._lock:
            if digest in self._prepared:
                self._prepared.move_to_end(digest)
                return self._prepared[digest][1]
        workdir = tempfile.TemporaryDirectory(prefix="aiclass-source-")
        source_dir = Path(workdir.name) / "source" / assignment_id
        write_files(source_dir, {e["path"]: self.content.read(e["sha256"]) for e in manifest})
        prepared = PreparedAssignment(source_dir, Path(workdir.name) / "prepared")
        with self._lock:
            self._prepared[digest] = (workdir, prepared)
            while len(self._prepared) > 8:
                _digest, (old_dir, _old) = self._prepared.popitem(last=False)
                old_dir.cleanup()
        return prepared

    def close(self) -> None:
        with self._lock:
            for workdir, _prepared in self._prepared.values():
                workdir.cleanup()
            self._prepared.clear()
