"""``grade_folder``: grade a folder of submissions in parallel, one sandbox per notebook.

Used by ``aiclass grade`` for a teacher with a folder of notebooks, and by the
service's workers. Workers are threads: the heavy work (student code) runs in
the sandboxes, the threads only drive nbclient and nbgrader's preprocessors.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path

import nbformat

from grading.autograde.assignment import GradingError, PreparedAssignment
from grading.autograde.grader import NotebookGrader
from grading.autograde.results import NotebookResult, StudentResult, assignment_result
from grading.sandbox.base import SandboxBackend
from grading.sandbox.limits import SandboxLimits
from grading.sandbox.pool import SandboxPool
from grading.sandbox.registry import choose_backend

Progress = Callable[[str, str, NotebookResult], None]


def find_submissions(submissions_dir: Path, assignment_id: str) -> dict[str, Path]:
    """``<student>/<assignment>/`` folders under an nbgrader ``submitted/`` tree."""
    if not submissions_dir.is_dir():
        raise GradingError(f"找不到提交目录 / submissions folder not found: {submissions_dir}")
    found = {}
    for student_dir in sorted(submissions_dir.iterdir()):
        folder = student_dir / assignment_id
        if student_dir.is_dir() and folder.is_dir():
            found[student_dir.name] = folder
    return found


def grade_submissions(
    grader: NotebookGrader,
    submissions: dict[str, Path],
    backend: SandboxBackend,
    jobs: int,
    progress: Progress | None = None,
) -> list[StudentResult]:
    """Grade every notebook of every submission; results keep the students' order."""
    notebooks = list(grader.assignment.notebooks)
    results: dict[tuple[str, str], NotebookResult] = {}
    tasks = []
    for student, folder in submissions.items():
        for notebook in notebooks:
            if (folder / f"{notebook}.ipynb").is_file():
                tasks.append((student, notebook, folder))
            else:
                results[student, notebook] = grader.missing(notebook)
    remote = backend.grades_whole_notebooks
    pool = nullcontext() if remote else SandboxPool(backend, size=jobs)
    with pool, ThreadPoolExecutor(jobs) as workers:
        def grade_one(task: tuple[str, str, Path]) -> None:
            student, notebook, folder = task
            if remote:
                result = backend.grade_notebook(grader, student, notebook, folder)
            else:
                result = grader.grade(student, notebook, folder, pool.take())
            results[student, notebook] = result
            if progress:
                progress(student, notebook, result)

        for finished in [workers.submit(grade_one, task) for task in tasks]:
            finished.result()
    return [StudentResult(student, [results[student, nb] for nb in notebooks])
            for student in submissions]


def grade_folder(
    source_dir: Path | str,
    submissions_dir: Path | str,
    jobs: int = 2,
    sandbox: str = "auto",
    limits: SandboxLimits | None = None,
    image: str | None = None,
    progress: Progress | None = None,
    autograded_dir: Path | str | None = None,
) -> dict:
    """Grade ``submissions_dir/<student>/<assignment>/*.ipynb`` against ``source_dir``.

    Returns the result dict (``{"assignment": ..., "students": [...]}``). Raises
    :class:`GradingError` (or :class:`~grading.sandbox.SandboxError`) only when
    grading itself fails; a student's broken notebook is a flag, not an error.
    ``sandbox`` and ``image`` choose the backend (:func:`~grading.sandbox.choose_backend`).
    With ``autograded_dir`` the graded notebooks are kept there, laid out as
    ``nbgrader autograde``'s ``autograded/`` (:func:`write_autograded`).
    """
    source_dir, submissions_dir = Path(source_dir), Path(submissions_dir)
    if jobs < 1:
        raise ValueError("jobs must be at least 1")
    with tempfile.TemporaryDirectory(prefix="aiclass-grade-") as workdir:
        assignment = PreparedAssignment(source_dir, workdir)
        submissions = find_submissions(submissions_dir, assignment.assignment_id)
        limits = limits or SandboxLimits()
        backend = choose_backend(sandbox, limits=limits, image=image)
        grader = NotebookGrader(assignment, limits)
        students = grade_submissions(grader, submissions, backend, jobs, progress)
    if autograded_dir is not None:
        write_autograded(Path(autograded_dir), assignment.assignment_id, students)
    return assignment_result(assignment.assignment_id, students)


def write_autograded(root: Path, assignment_id: str, students: list[StudentResult]) -> None:
    """Write each graded notebook to ``root/<student>/<assignment>/<notebook>.ipynb``.

    These are the notebooks as the grader ran them, hidden tests and their errors
    included: what a teacher opens to see why a point was lost, never for students.
    """
    for student in students:
        for notebook in student.notebooks:
            if notebook.executed is None:
                continue
            folder = root / student.student / assignment_id
            folder.mkdir(parents=True, exist_ok=True)
            nbformat.write(notebook.executed, folder / f"{notebook.notebook}.ipynb")
