"""Export and erasure where a center keeps its data: both databases on PostgreSQL.

The SQLite tests beside this one search the database files themselves; here each database
is read back table by table, every row as text, which is what anyone with the database's
credentials could search. One PostgreSQL server for the module, a fresh pair of databases
per test.
"""

from __future__ import annotations

import json
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import MetaData, create_engine, select, text

from hub.cli import main
from hub.privacy.export import INDEX_JSON, export_person
from tests.postgres import running_postgres
from tests.privacy.conftest import ERASED, OTHER, Classroom, build_classroom

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    with running_postgres("aiclass-privacy-pg") as url:
        yield url


@pytest.fixture
def classroom(server_url: str, tmp_path: Path,
              ps1_release: dict[str, bytes]) -> Iterator[Classroom]:  # noqa: F811
    """The two pupils' classroom with its service and hub databases on PostgreSQL."""
    suffix = uuid.uuid4().hex[:8]
    service, hub = f"service_{suffix}", f"hub_{suffix}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in (service, hub):
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    base = server_url.rsplit("/", 1)[0]
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "aiclass.toml").write_text(
        f'[database]\nurl = "{base}/{service}"\nhub_url = "{base}/{hub}"\n', encoding="utf-8")
    room = build_classroom(data_dir, ps1_release)
    yield room
    room.database.engine.dispose()
    with admin.connect() as connection:
        for name in (service, hub):
            connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.dispose()


def rows_as_text(url: str) -> dict[str, str]:
    """Every table of the database at ``url``, its rows as text, by table name."""
    engine = create_engine(url)
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        tables = {table.name: "\n".join(repr(tuple(row)) for row in
                                        connection.execute(select(table)))
                  for table in metadata.sorted_tables}
    engine.dispose()
    return tables


def mentions(room: Classroom, needle: str) -> list[str]:
    """Where ``needle`` is found: table names of either database, files of the data dir."""
    settings = room.settings
    found = [f"service:{name}" for name, rows in rows_as_text(settings.database_url).items()
             if needle in rows]
    found += [f"hub:{name}" for name, rows in rows_as_text(settings.hub_database_url).items()
              if needle in rows]
    found += [str(path) for path in room.data_dir.rglob("*")
              if path.is_file() and needle.encode() in path.read_bytes()]
    return found


def test_export_and_erasure_on_postgresql(classroom: Classroom, tmp_path: Path) -> None:
    """Does a center on PostgreSQL get the same export, and does erasure leave nothing of
    the pupil in either database while the other pupil's work stays whole?"""
    assert classroom.database.engine.dialect.name == "postgresql"
    exported = export_person(classroom.settings, ERASED.username, tmp_path / "out")
    with zipfile.ZipFile(exported.path) as archive:
        index = json.loads(archive.read(INDEX_JSON))
        notebooks = [archive.read(n) for n in archive.namelist()
                     if n.startswith("submissions/") and n.endswith("problem1.ipynb")]
    assert index["counts"]["submissions"] == 2
    assert len(notebooks) == 2 and all(ERASED.unique.encode() in n for n in notebooks)

    for needle in (ERASED.username, ERASED.real_name, ERASED.unique):
        assert mentions(classroom, needle), needle  # the search finds them beforehand
    other_before = mentions(classroom, OTHER.unique)
    assert main(["privacy", "erase", ERASED.username, "--data",
                 str(classroom.data_dir)]) == 0
    for needle in (ERASED.username, ERASED.real_name, ERASED.unique):
        assert mentions(classroom, needle) == [], needle
    assert mentions(classroom, OTHER.unique) == other_before
    engine = create_engine(classroom.settings.database_url)
    with engine.connect() as connection:
        kept = connection.execute(text(
            "SELECT count(*) FROM grading_cells WHERE username LIKE 'anon-%'")).scalar()
        erased = connection.execute(text(
            "SELECT count(*) FROM audit_events WHERE action = 'privacy.erased'")).scalar()
    engine.dispose()
    assert (kept, erased) == (2, 1)  # grades kept anonymised, the erasure itself recorded
    assert main(["audit", "verify", "--data", str(classroom.data_dir)]) == 0
