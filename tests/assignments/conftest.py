"""Each library assignment generated and graded once per sandbox, shared by the proof tests.

Grading is the expensive part (a sandboxed kernel per notebook), so one ``grade_folder`` call
per assignment and sandbox grades both submissions: the instructor's solution and the
untouched release. Both sandboxes, because a lesson must score the same in bubblewrap (local
mode) and in the student image's containers (docker mode): a package missing from the image
once cost ``senior/cnn-digits`` five of its seven points there and nowhere else.

The sandbox's limits are three times the lesson's budget: enough to stop a hung kernel, not so
tight that a busy machine makes a solution lose points. Whether a lesson fits its budget is
measured by ``python -m benchmarks assignments``, which prints each lesson's time beside it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from grading import grade_folder
from grading.sandbox.limits import SandboxLimits
from hub.library import DEFAULT_ROOT, Assignment, load_library
from tests.sandboxes import SANDBOXES, STUDENT_IMAGE

LIBRARY = load_library(DEFAULT_ROOT)
SOLUTION, UNTOUCHED = "instructor-solution", "untouched-release"
#: The sandbox's limits, in lesson budgets (see the module's docstring).
BUDGET_MARGIN = 3


@dataclass
class GradedAssignment:
    """One assignment after ``generate_assignment`` and one grading run of both submissions."""

    lesson: Assignment
    sandbox: str
    release_dir: Path
    result: dict

    def student(self, name: str) -> dict:
        return next(s for s in self.result["students"] if s["student"] == name)


def generate_release(lesson: Assignment, course: Path) -> Path:
    """Run ``nbgrader generate_assignment`` in a fresh course dir; return ``release/<id>``."""
    shutil.copytree(lesson.folder, course / "source" / lesson.id)
    env = dict(os.environ, PATH=os.pathsep.join([os.path.dirname(sys.executable),
                                                 os.environ.get("PATH", "")]))
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", "generate_assignment", lesson.id, "--force",
         f"--CourseDirectory.root={course}", f"--db=sqlite:///{course / 'gradebook.db'}"],
        cwd=course, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, f"generate_assignment {lesson.id} failed:\n{done.stderr[-4000:]}"
    return course / "release" / lesson.id


def grade_both(lesson: Assignment, release: Path, work: Path, sandbox: str) -> GradedAssignment:
    """Grade the instructor's notebooks and the untouched release in one sandboxed run."""
    submissions = work / "submitted"
    shutil.copytree(lesson.folder, submissions / SOLUTION / lesson.id)
    shutil.copytree(release, submissions / UNTOUCHED / lesson.id)
    limit = BUDGET_MARGIN * lesson.time_budget_s
    limits = SandboxLimits(wall_seconds=limit, cell_timeout=limit)
    result = grade_folder(lesson.folder, submissions, jobs=2, sandbox=sandbox, limits=limits,
                          image=STUDENT_IMAGE)
    return GradedAssignment(lesson, sandbox, release, result)


_graded: dict[tuple[str, str], GradedAssignment] = {}


@pytest.fixture(params=LIBRARY, ids=[lesson.id for lesson in LIBRARY])
def lesson(request) -> Assignment:
    return request.param


@pytest.fixture(params=SANDBOXES)
def sandbox(request) -> str:
    return request.param


@pytest.fixture
def graded(lesson: Assignment, sandbox: str, tmp_path_factory) -> GradedAssignment:
    """Generate and grade ``lesson`` once per session and sandbox (later tests reuse it)."""
    key = lesson.id, sandbox
    if key not in _graded:
        work = tmp_path_factory.mktemp(f"{lesson.id}-{sandbox}")
        release = generate_release(lesson, work / "course")
        _graded[key] = grade_both(lesson, release, work, sandbox)
    return _graded[key]
