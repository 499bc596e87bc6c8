"""A real PostgreSQL for tests: the project's own image on a free loopback port.

The image (``aiclass/postgres``) is the one docker mode runs, so a test sees the server
version and settings a center gets. The container is named with the caller's prefix and
removed afterwards.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from hub.images import image_reference
from tests.hub.hubprocess import free_port


@contextmanager
def running_postgres(prefix: str, databases: tuple[str, ...] = ()) -> Iterator[str]:
    """Yield the URL of database ``aiclass`` on a fresh server; ``databases`` are there too
    (the image may make some of them itself).

    Skips the test when no Docker engine runs (``.ci/run`` starts one).
    """
    if subprocess.run(["docker", "info"], capture_output=True).returncode:
        pytest.skip("Docker engine not running: `make dockerd` starts one")
    port, name = free_port(), f"{prefix}-pg-{uuid.uuid4().hex[:8]}"
    subprocess.run(["docker", "run", "-d", "--rm", "--name", name, "--network", "host",
                    "-e", "POSTGRES_USER=aiclass", "-e", "POSTGRES_DB=aiclass",
                    "-e", "POSTGRES_PASSWORD=test-only", "-e", "POSTGRES_LISTEN=127.0.0.1",
                    "-e", f"PGPORT={port}", image_reference("postgres")],
                   check=True, capture_output=True)
    url = f"postgresql+psycopg2://aiclass:test-only@127.0.0.1:{port}/aiclass"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with create_engine(url).connect():
                    break
            except OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            for database in databases:
                if not connection.exec_driver_sql(
                        "SELECT 1 FROM pg_database WHERE datname = %(name)s",
                        {"name": database}).first():
                    connection.exec_driver_sql(f'CREATE DATABASE "{database}"')
        engine.dispose()
        yield url
    finally:
        # -v: the image's data volume is anonymous; ``--rm`` removes it only when the
        # container exits by itself, not when removed by force.
        subprocess.run(["docker", "rm", "-f", "-v", name], capture_output=True)
