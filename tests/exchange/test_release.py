"""One release for the API and the teacher pages: ``Classroom.release``, without a hub."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from grading.gradebook.queue import release_grade_on, release_source
from hub.service.classroom import Classroom

PS1 = Path(__file__).resolve().parents[2] / "benchmarks" / "fixtures" / "ps1"


@pytest.fixture
def classroom(tmp_path: Path) -> Classroom:
    room = Classroom(database_url=f"sqlite:///{tmp_path / 'aiclass.sqlite'}",
                     data_dir=str(tmp_path))
    yield room
    room.executor.shutdown()
    room.database.engine.dispose()


def test_a_folder_and_its_upload_release_the_same(classroom: Classroom,
                                                  tmp_path: Path) -> None:
    """Do a library folder and the same files uploaded keep the same instructor files,
    leftovers (checkpoints, bytecode) left out of both, and the same grade_on rule?"""
    folder = tmp_path / "ps1"
    shutil.copytree(PS1, folder)
    (folder / ".ipynb_checkpoints").mkdir()
    (folder / ".ipynb_checkpoints" / "problem1-checkpoint.ipynb").write_bytes(b"{}")
    uploaded = {path.relative_to(folder).as_posix(): path.read_bytes()
                for path in folder.rglob("*") if path.is_file()}

    by_folder = asyncio.run(classroom.release(["c1"], "ps1", folder, "t1", None, "due"))
    by_upload = asyncio.run(classroom.release(["c2"], "ps1", uploaded, "t1", None, ""))

    with classroom.store() as (session, _store):
        sources = [release_source(session, r.class_id, "ps1", r.version)
                   for r in (*by_folder, *by_upload)]
        grade_on = [release_grade_on(session, r.class_id, "ps1", r.version)
                    for r in (*by_folder, *by_upload)]
    assert sources[0].manifest == sources[1].manifest
    assert sorted(e["path"] for e in sources[0].manifest) == sorted(
        p.name for p in PS1.iterdir())
    assert by_folder[0].archive_sha256 == by_upload[0].archive_sha256
    assert grade_on == ["due", "submit"]
