"""nbgrader's ``generate_assignment``, run on a copy of a source assignment.

Two callers need it: the exchange, for the student version a release hands out
(solutions and hidden tests removed), and the grader, for what nbgrader records of
each grade cell (source, checksum, points). Both run it here, in a private course
directory, the same way.

nbgrader stamps a new gradebook by running the ``alembic`` command, found on
``PATH``: five seconds, and from the service's worker threads it would need ``PATH``
changed in an environment every thread shares. Every course here instead starts
from one empty gradebook, stamped once per process through alembic's own Python API
(:func:`empty_gradebook`, a tenth of a second), so nbgrader never stamps and
nothing touches ``os.environ``.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import tempfile
import threading
from contextlib import closing
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from alembic.script import ScriptDirectory
from nbgrader.api import Gradebook
from nbgrader.apps.api import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from nbgrader.dbutil import ALEMBIC_DIR
from traitlets.config import Config

from grading.exchange.errors import ExchangeRefused

#: The course id of every private course directory (nbgrader requires one).
COURSE_ID = "aiclass"
#: Never copied from a source folder: editor and interpreter leftovers.
IGNORED = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc")


class GenerateFailed(Exception):
    """nbgrader could not generate the assignment (a broken source); ``detail`` says why."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class GeneratedAssignment:
    """A private course directory after ``generate_assignment``."""

    #: The student version: what nbgrader's ``release/<assignment>/`` holds.
    release_dir: Path
    #: nbgrader's gradebook, with every grade cell of the assignment.
    db_url: str


def _stamp(path: Path) -> None:
    """Record nbgrader's newest schema revision in a new database, as ``alembic`` would.

    nbgrader stamps only a database without tables; one stamped first is left alone
    and gets its tables from :class:`~nbgrader.api.Gradebook`.
    """
    head = ScriptDirectory(ALEMBIC_DIR).get_current_head()
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        db.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (head,))


#: nbgrader's converters change the process's working directory into the course and back
#: (``os.chdir``, shared by every thread): two releases generating at once in the service's
#: threads sent each other into a removed temporary course ("generate_failed"), so one
#: generation runs at a time in a process.
_WORKING_DIRECTORY = threading.Lock()


@cache
def empty_gradebook() -> bytes:
    """An empty, stamped nbgrader gradebook (an SQLite file's bytes), made once per process.

    A tenth of a second: made on first use (two threads at once may both make it, alike).
    """
    with tempfile.TemporaryDirectory(prefix="aiclass-gradebook-") as workdir:
        path = Path(workdir) / "gradebook.db"
        _stamp(path)
        Gradebook(f"sqlite:///{path}", COURSE_ID).close()
        return path.read_bytes()


def generate_assignment(source_dir: Path, course_dir: Path,
                        assignment_id: str) -> GeneratedAssignment:
    """Copy ``source_dir`` into the new ``course_dir`` and run nbgrader's generate on it."""
    shutil.copytree(source_dir, course_dir / "source" / assignment_id, ignore=IGNORED)
    gradebook = course_dir / "gradebook.db"
    gradebook.write_bytes(empty_gradebook())
    config = Config()
    config.CourseDirectory.root = str(course_dir)
    config.CourseDirectory.db_url = f"sqlite:///{gradebook}"
    config.CourseDirectory.course_id = COURSE_ID
    config.Application.log_level = logging.WARNING
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    with _WORKING_DIRECTORY:
        result = api.generate_assignment(assignment_id, force=True, create=True)
    if not result["success"]:
        raise GenerateFailed(result.get("error") or result.get("log") or "")
    return GeneratedAssignment(course_dir / "release" / assignment_id,
                               config.CourseDirectory.db_url)


def generate_student_version(source_dir: Path, assignment_id: str) -> dict[str, bytes]:
    """The student version of a source assignment, the files a release hands out.

    Solutions and hidden tests are removed here, in the service; only the result is
    stored and handed to students.
    """
    with tempfile.TemporaryDirectory(prefix="aiclass-release-") as workdir:
        try:
            release_dir = generate_assignment(source_dir, Path(workdir),
                                              assignment_id).release_dir
        except GenerateFailed as failed:
            detail = failed.detail[-2000:]
            raise ExchangeRefused("generate_failed", f"nbgrader 无法生成学生版本：{detail}",
                                  f"nbgrader could not generate the student version: "
                                  f"{detail}") from failed
        return {path.relative_to(release_dir).as_posix(): path.read_bytes()
                for path in sorted(release_dir.rglob("*")) if path.is_file()}
