"""Fixtures for grading tests: an nbgrader course built from the ps1 fixture assignment.

The release version comes from nbgrader's own ``generate_assignment``; student
submissions are release notebooks with some cells rewritten, the way a student
would hand them in.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import nbformat
import pytest
from nbgrader.apps.api import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config

from tests.ps1 import CORRECT as CORRECT  # re-exported: modules import it from here too
from tests.ps1 import PS1_SOURCE

REPO = Path(__file__).resolve().parents[2]


def nbgrader_config(root: Path) -> Config:
    config = Config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.course_id = "aiclass"
    config.Application.log_level = 40
    return config


def nbgrader_path() -> str:
    """PATH with this Python's bin dir: nbgrader runs ``alembic`` as a command."""
    return os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])


def with_nbgrader_path() -> AbstractContextManager:
    """This process's PATH with :func:`nbgrader_path` for the block, restored after.

    Not nbgrader's own ``nbgrader.utils.setenv``: it saves ``os.environ.get(value)`` instead
    of the key's old value, so it *deletes* PATH on the way out, and every later subprocess
    of the test run (``nft``, ``docker``) falls back to ``/bin:/usr/bin``.
    """
    return mock.patch.dict(os.environ, {"PATH": nbgrader_path()})


@pytest.fixture(scope="session")
def released_ps1(tmp_path_factory) -> Path:
    """An nbgrader course with ps1 generated: returns the course root."""
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(PS1_SOURCE, root / "source" / "ps1")
    config = nbgrader_config(root)
    with with_nbgrader_path():
        api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
        result = api.generate_assignment("ps1")
    assert result["success"], result.get("error")
    return root


def write_submission(release: Path, submitted: Path, student: str,
                     edits: dict[str, str] | None = None,
                     change: Callable[[str, nbformat.NotebookNode], None] | None = None,
                     skip: tuple[str, ...] = (), assignment: str = "ps1") -> Path:
    """Write ``submitted/<student>/<assignment>/`` from the release, cells rewritten by grade_id."""
    folder = submitted / student / assignment
    folder.mkdir(parents=True)
    for path in sorted(release.glob("*.ipynb")):
        if path.stem in skip:
            continue
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if edits and grade_id in edits:
                cell.source = edits[grade_id]
        if change:
            change(path.stem, nb)
        nbformat.write(nb, folder / path.name)
    return folder


def run_nbgrader_autograde(course: Path) -> dict[tuple[str, str, str], float | None]:
    """Plain ``nbgrader autograde`` over the course: (student, notebook, grade_id) -> score."""
    book = nbgrader_gradebook(course, "ps1")
    return {key: auto for key, (auto, _max) in book.cells.items()}


@dataclass
class NbgraderBook:
    """What plain nbgrader's gradebook holds after ``nbgrader autograde``."""

    #: (student, notebook, grade_id) -> (auto score, max score), task cells included.
    cells: dict[tuple[str, str, str], tuple[float | None, float]]
    #: (student, notebook) -> nbgrader's ``SubmittedNotebook.max_score``.
    notebook_max: dict[tuple[str, str], float]
    #: student -> nbgrader's ``Submission.max_score``.
    student_max: dict[str, float]


def nbgrader_gradebook(course: Path, assignment: str) -> NbgraderBook:
    """Run plain ``nbgrader autograde`` for every student of ``assignment``; read its gradebook."""
    from nbgrader.api import Gradebook

    config = nbgrader_config(course)
    with with_nbgrader_path():
        api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
        for student in sorted(p.name for p in (course / "submitted").iterdir()):
            result = api.autograde(assignment, student, force=True, create=True)
            assert result["success"], result.get("error")
    book = NbgraderBook({}, {}, {})
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "aiclass") as gradebook:
        for submission in gradebook.assignment_submissions(assignment):
            student = submission.student.id
            book.student_max[student] = float(submission.max_score)
            for notebook in submission.notebooks:
                book.notebook_max[student, notebook.name] = float(notebook.max_score)
                for grade in notebook.grades:
                    book.cells[student, notebook.name, grade.name] = (
                        grade.auto_score, float(grade.max_score))
    return book
