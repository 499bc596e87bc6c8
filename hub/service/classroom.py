"""The classroom service's state: its database, file store, limits and assignment library.

One object per service process, configured from the settings (``[service]``) and
handed to every handler; handlers open a database session per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import Session
from tornado.ioloop import PeriodicCallback
from traitlets import Integer, Unicode, default
from traitlets.config import LoggingConfigurable

from grading.autograde.generate import generate_student_version
from grading.exchange.archive import MIB, ArchiveLimits
from grading.exchange.content_store import BLOBS_IN_DATA_DIR, ContentStore
from grading.exchange.errors import ExchangeRefused
from grading.exchange.models import Release, Submission
from grading.exchange.store import (
    ExchangeStore,
    NewSubmission,
    SubmissionLimits,
    check_assignment_id,
    referenced_blobs,
)
from grading.gradebook.queue import NewJob, enqueue_new, store_sources
from hub.audit.events import class_event
from hub.db import ServiceDatabase
from hub.settings import ServiceSettings, Settings

T = TypeVar("T")
log = logging.getLogger("aiclass.classroom")
MAX_BATCH = 200


@dataclass(frozen=True)
class FetchWrite:
    """A fetch to record: ``(class, assignment, student, version)``."""

    fetch: tuple[str, str, str, int]


@dataclass(frozen=True)
class SubmitWrite:
    """A submission to insert, with what its grading job needs and its unflushed files."""

    submission: NewSubmission
    grade_on: str | None
    due_at: datetime | None
    unflushed: tuple[Path, ...] = ()


class GroupCommit:
    """Writes the fetches and submissions of many requests at once, on the event loop.

    A request hands over its write and awaits the answer. While one group is being
    written, the next gathers; then its new files are flushed to disk together (a
    few threads calling ``fsync``, the journal merging them) and its rows inserted
    in one short transaction (a few statements however many requests). The
    transaction runs on the event loop on purpose: the service's work is many short
    steps, and thirty threads taking turns with the loop for the interpreter lock
    made each of a writer thread's statements wait behind the others, so forty
    submissions at once took half a second where the work itself takes a few
    milliseconds. A group that fails as a whole is written again one request at a
    time, so one bad request cannot fail the others.
    """

    def __init__(self, classroom: Classroom) -> None:
        self.classroom = classroom
        self._waiting: list[tuple[FetchWrite | SubmitWrite, asyncio.Future]] = []
        self._writing: asyncio.Task | None = None

    async def write(self, item: FetchWrite | SubmitWrite) -> tuple[Submission, bool] | None:
        """Write ``item``; a submit answers the submission and whether it is new."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._waiting.append((item, future))
        if self._writing is None or self._writing.done():
            self._writing = loop.create_task(self._write_groups())
        return await future

    async def _write_groups(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            try:
                files = [path for item, _future in group if isinstance(item, SubmitWrite)
                         for path in item.unflushed]
                if files:
                    await asyncio.get_running_loop().run_in_executor(
                        self.classroom.executor, self.classroom.content.make_durable, files)
                self._write(group)
            except BaseException as exc:  # noqa: BLE001 - every waiting request gets an answer
                log.exception("classroom group commit")
                for _item, future in group:
                    if not future.done():
                        future.set_exception(exc)

    def _write(self, group: list[tuple[FetchWrite | SubmitWrite, asyncio.Future]]) -> None:
        fetches = [item.fetch for item, _future in group if isinstance(item, FetchWrite)]
        submits = [(item, future) for item, future in group if isinstance(item, SubmitWrite)]
        try:
            with self.classroom.store() as (session, store):
                store.record_fetches(fetches)
                outcomes = store.add_submissions([item.submission for item, _f in submits],
                                                 self.classroom.submission_limits)
                enqueue_new(session, [
                    NewJob(outcome[0], item.grade_on, item.due_at)
                    for (item, _future), outcome in zip(submits, outcomes, strict=True)
                    if isinstance(outcome, tuple) and outcome[1]])
        except Exception as exc:
            if len(group) > 1:
                for one in group:
                    self._write([one])
                return
            group[0][1].set_exception(exc)
            return
        for (_item, future), outcome in zip(submits, outcomes, strict=True):
            if isinstance(outcome, ExchangeRefused):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
        for item, future in group:
            if isinstance(item, FetchWrite):
                future.set_result(None)


LIBRARY_DIR = Path(__file__).resolve().parents[2] / "assignments"
SERVICE_DEFAULTS = ServiceSettings()
#: Folders of a source assignment that are an editor's or interpreter's leftovers, not the
#: teacher's work: never kept as the instructor files the workers grade against.
NOT_SOURCE = frozenset({"__pycache__", ".ipynb_checkpoints"})


def instructor_files(source: Path) -> dict[str, bytes]:
    """The files of a source assignment folder, by relative path, leftovers excluded."""
    return {path.relative_to(source).as_posix(): path.read_bytes()
            for path in sorted(source.rglob("*"))
            if path.is_file() and not NOT_SOURCE & set(path.relative_to(source).parts)}


def _commit_without_fsync(dbapi_connection: DBAPIConnection, _record: object) -> None:
    """In WAL mode, commit without waiting for the disk: still atomic after a killed process.

    Blobs are fsynced before their row is committed, so a power loss can at worst
    forget the newest rows (absent submissions), never leave a row without its files.
    """
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class Classroom(LoggingConfigurable):
    """Everything the exchange API needs, configurable like any JupyterHub component."""

    database_url = Unicode(help="SQLAlchemy URL of the service database").tag(config=True)
    data_dir = Unicode(help="The aiclass data dir; files live in <data>/exchange/").tag(
        config=True)
    library_dir = Unicode(help="Source assignments teachers may release by name").tag(
        config=True)
    # The limits' defaults are the ``[service]`` settings' own, declared once in hub.settings.
    max_submission_bytes = Integer(SERVICE_DEFAULTS.max_submission_mb * MIB,
                                   help="Size limit of one upload").tag(config=True)
    max_file_bytes = Integer(SERVICE_DEFAULTS.max_file_mb * MIB,
                             help="Size limit of one file of an upload").tag(config=True)
    max_files = Integer(SERVICE_DEFAULTS.max_files, help="Files in one upload").tag(config=True)
    max_unpack_ratio = Integer(SERVICE_DEFAULTS.max_unpack_ratio,
                               help="How many times its size an upload may inflate to").tag(
                                   config=True)
    submissions_per_minute = Integer(SERVICE_DEFAULTS.submissions_per_minute,
                                     help="Submissions per student, assignment, minute").tag(
                                         config=True)
    max_submissions = Integer(SERVICE_DEFAULTS.max_submissions,
                              help="Submissions kept per student and assignment").tag(
                                  config=True)
    queued_per_student = Integer(SERVICE_DEFAULTS.grading_queue_per_student,
                                 help="Submissions one student may have waiting to be "
                                 "graded").tag(config=True)

    @default("library_dir")
    def _default_library_dir(self) -> str:
        return str(LIBRARY_DIR)

    @classmethod
    def from_settings(cls, settings: Settings) -> Classroom:
        service = settings.service
        return cls(database_url=settings.database_url, data_dir=str(settings.data_dir),
                   max_submission_bytes=service.max_submission_mb * MIB,
                   max_file_bytes=service.max_file_mb * MIB, max_files=service.max_files,
                   max_unpack_ratio=service.max_unpack_ratio,
                   submissions_per_minute=service.submissions_per_minute,
                   max_submissions=service.max_submissions,
                   queued_per_student=service.grading_queue_per_student)

    worker_threads = Integer(4, help="Threads for blocking work off the event loop: large "
                             "uploads, and waiting for a group's files to reach the disk").tag(
                                 config=True)
    inline_upload_bytes = Integer(1 * MIB, help="Uploads up to this size are checked and "
                                  "stored on the event loop (a millisecond or two); larger "
                                  "ones on a worker thread, so that one big upload cannot "
                                  "hold up everybody else's requests").tag(config=True)

    sweep_grace_seconds = Integer(6 * 3600, help="Blobs no row names are removed once this "
                                  "old: far longer than any upload takes between writing its "
                                  "files and committing its row").tag(config=True)
    sweep_interval_seconds = Integer(3600, help="Seconds between two sweeps of blobs no row "
                                     "names (one also runs at start-up, after a crash)").tag(
                                         config=True)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.database = ServiceDatabase(self.database_url)
        self.content = ContentStore(Path(self.data_dir) / BLOBS_IN_DATA_DIR)
        sqlite = self.database.engine.dialect.name == "sqlite"
        if sqlite:
            event.listen(self.database.engine, "connect", _commit_without_fsync)
            self.database.engine.dispose()
        self._turn = threading.Lock() if sqlite else contextlib.nullcontext()
        self.executor = ThreadPoolExecutor(self.worker_threads,
                                           thread_name_prefix="classroom-worker")
        self.commits = GroupCommit(self)

    async def handle_upload(self, size: int, work: Callable[..., T], *args: object) -> T:
        """Run ``work`` on an upload of ``size`` bytes: here when small, else on a thread."""
        if size <= self.inline_upload_bytes:
            return work(*args)
        return await asyncio.get_running_loop().run_in_executor(self.executor, work, *args)

    def sweep_blobs(self) -> list[str]:
        """Remove the blobs no row names, past the grace period (blocking: a thread's job)."""
        with self.reader() as (session, _store):
            referenced = referenced_blobs(session)
        removed = self.content.sweep(referenced, self.sweep_grace_seconds)
        if removed:
            log.info("removed %d blobs no row names", len(removed))
        return removed

    def start_blob_sweeps(self) -> PeriodicCallback:
        """Sweep now and then every ``sweep_interval_seconds``, off the event loop."""
        def sweep() -> None:
            done = asyncio.get_running_loop().run_in_executor(self.executor, self.sweep_blobs)
            done.add_done_callback(
                lambda future: future.exception() and log.error(
                    "sweeping blobs failed", exc_info=future.exception()))

        sweeps = PeriodicCallback(sweep, self.sweep_interval_seconds * 1000)
        sweep()
        sweeps.start()
        return sweeps

    @property
    def archive_limits(self) -> ArchiveLimits:
        return ArchiveLimits(self.max_submission_bytes, self.max_file_bytes, self.max_files,
                             self.max_unpack_ratio)

    @property
    def submission_limits(self) -> SubmissionLimits:
        return SubmissionLimits(self.archive_limits, self.submissions_per_minute,
                                self.max_submissions)

    @contextmanager
    def store(self) -> Iterator[tuple[Session, ExchangeStore]]:
        """A session (committed when the block succeeds) and the exchange store on it.

        SQLite allows one writer at a time and makes the others sleep and retry in
        steps of up to 100 ms; taking turns in this process instead keeps a class
        submitting at once from waiting on those sleeps. PostgreSQL needs no turns.
        """
        with self._turn, self.database.session() as session:
            yield session, ExchangeStore(session, self.content)

    @contextmanager
    def reader(self) -> Iterator[tuple[Session, ExchangeStore]]:
        """A session for reading only, without waiting for the writers' turn.

        In WAL mode (SQLite) and in PostgreSQL readers never wait for a writer, so
        the checks before a fetch or a submit run beside other requests' commits.
        """
        with self.database.session() as session:
            yield session, ExchangeStore(session, self.content)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that writes in turn with the exchange (for the grading workers)."""
        with self._turn, self.database.session() as session:
            yield session

    async def release(self, class_ids: list[str], assignment_id: str,
                      source: Path | Mapping[str, bytes], teacher: str,
                      due_at: datetime | None, grade_on: str = "submit", *,
                      address: str = "") -> list[Release]:
        """Release a source assignment to each class: the one way both the API and pages do.

        ``source`` is a folder (a library lesson) or the uploaded files by relative path.
        nbgrader makes the student version off the event loop (seconds); the instructor
        files are kept with each release, so that the workers grade every submission
        against the version it came from. ``grade_on`` is ``"due"`` to grade everything
        when the class is due; anything else (a form's empty default) grades on submit.
        The caller has checked that ``teacher`` teaches every class. Each release is on
        the audit trail, from ``address``.
        """
        check_assignment_id(assignment_id)
        with tempfile.TemporaryDirectory(prefix="aiclass-source-") as workdir:
            if not isinstance(source, Path):
                for path, data in source.items():
                    target = Path(workdir) / path
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
                source = Path(workdir)
            files = await asyncio.get_running_loop().run_in_executor(
                None, generate_student_version, source, assignment_id)
            instructor = instructor_files(source)
        with self.store() as (session, store):
            releases = store.release(class_ids, assignment_id, files, teacher, due_at)
            store_sources(session, releases, instructor, self.content.put,
                          "due" if grade_on == "due" else "submit")
            for release in releases:
                class_event(session, "assignment.released", teacher, address, release.class_id,
                            {"assignment": assignment_id, "version": release.version})
        return releases

    def library_assignment(self, name: str) -> Path:
        """A source assignment of the library, e.g. ``junior/knn-decision-tree``."""
        root = Path(self.library_dir).resolve()
        candidate = (root / name).resolve()
        if (root not in candidate.parents or not candidate.is_dir()
                or not list(candidate.glob("*.ipynb"))):
            raise ExchangeRefused("not_found", f"作业库中没有 {name!r}",
                                  f"the library has no assignment {name!r}")
        return candidate
