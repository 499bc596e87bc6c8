"""The service database: one engine per process, the organisation and grading tables.

SQLite in local mode, PostgreSQL in docker mode; the URL comes from the settings.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from hub.migrations import upgrade_service_database


def _enable_sqlite_foreign_keys(dbapi_connection, _record) -> None:  # noqa: ANN001
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def sqlite_wal_connector(path: Path) -> Callable[[], sqlite3.Connection]:
    """A ``creator`` for JupyterHub's own SQLite database (``JupyterHub.db_kwargs``).

    JupyterHub commits once or twice per user it creates; in SQLite's default journal
    mode every commit waits for the disk (about 17 ms here), so mirroring a region's
    twenty thousand students would take many minutes. In WAL mode with
    ``synchronous=NORMAL`` a commit is a memory write; a power cut can lose the last
    transactions, which the organisation mirror restores from the service database.
    """
    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(str(path), check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        return connection

    return connect


def open_engine(url: str) -> Engine:
    """Create the engine for ``url`` and migrate every table to the newest revision."""
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _enable_sqlite_foreign_keys)
    upgrade_service_database(engine)
    return engine


class ServiceDatabase:
    """Sessions on the service database, for the hub process and the command line."""

    def __init__(self, url: str) -> None:
        self.engine = open_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on error."""
        with self._sessions() as session:
            with session.begin():
                yield session
