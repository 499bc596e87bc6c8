"""The classroom service's state: its database, file store, limits and assignment library.

One object per service process, configured from the settings (``[service]``) and
handed to every handler; handlers open a database session per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import Session
from traitlets import Integer, Unicode, default
from traitlets.config import LoggingConfigurable

from grading.content_store import ContentStore
from grading.exchange import ExchangeStore, SubmissionLimits
from grading.exchange_archive import MIB, ArchiveLimits
from grading.exchange_errors import ExchangeRefused
from hub.db import ServiceDatabase
from hub.settings import Settings

T = TypeVar("T")
LIBRARY_DIR = Path(__file__).resolve().parents[2] / "assignments"


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
    max_submission_bytes = Integer(100 * MIB, help="Size limit of one upload").tag(config=True)
    max_file_bytes = Integer(50 * MIB, help="Size limit of one file of an upload").tag(
        config=True)
    max_files = Integer(200, help="Files in one upload").tag(config=True)
    submissions_per_minute = Integer(6, help="Submissions per student, assignment, minute").tag(
        config=True)
    max_submissions = Integer(100, help="Submissions kept per student and assignment").tag(
        config=True)

    @default("library_dir")
    def _default_library_dir(self) -> str:
        return str(LIBRARY_DIR)

    @classmethod
    def from_settings(cls, settings: Settings) -> Classroom:
        service = settings.service
        return cls(database_url=settings.database_url, data_dir=str(settings.data_dir),
                   max_submission_bytes=service.max_submission_mb * MIB,
                   max_file_bytes=service.max_file_mb * MIB, max_files=service.max_files,
                   submissions_per_minute=service.submissions_per_minute,
                   max_submissions=service.max_submissions)

    worker_threads = Integer(8, help="Threads that check and store uploads off the event "
                             "loop (fsync and SQLite commits wait on the disk)").tag(config=True)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.database = ServiceDatabase(self.database_url)
        self.content = ContentStore(Path(self.data_dir) / "exchange" / "blobs")
        sqlite = self.database.engine.dialect.name == "sqlite"
        if sqlite:
            event.listen(self.database.engine, "connect", _commit_without_fsync)
            self.database.engine.dispose()
        self._turn = threading.Lock() if sqlite else contextlib.nullcontext()
        self.executor = ThreadPoolExecutor(self.worker_threads,
                                           thread_name_prefix="classroom-worker")

    async def run(self, work: Callable[..., T], *args: object) -> T:
        """Run blocking work (checking, storing, committing) on a worker thread."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, work, *args)

    @property
    def archive_limits(self) -> ArchiveLimits:
        return ArchiveLimits(self.max_submission_bytes, self.max_file_bytes, self.max_files)

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

    def library_assignment(self, name: str) -> Path:
        """A source assignment of the library, e.g. ``junior/knn-decision-tree``."""
        root = Path(self.library_dir).resolve()
        candidate = (root / name).resolve()
        if (root not in candidate.parents or not candidate.is_dir()
                or not list(candidate.glob("*.ipynb"))):
            raise ExchangeRefused("not_found", f"作业库中没有 {name!r}",
                                  f"the library has no assignment {name!r}")
        return candidate
