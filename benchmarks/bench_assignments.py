"""Assignment library: time of each lesson's solution on CPU, graded in the sandbox.

For every assignment in ``assignments/`` (or those named with ``--only``), in one process:

1. baseline: the instructor's notebooks executed with plain nbclient (a normal kernel, no
   sandbox, no grading);
2. aiclass: the same notebooks graded by ``grading.grade_folder(..., sandbox="local")``, with
   generate, sandbox start-up, hidden tests and scoring included.

Prints one row per assignment with both times, their ratio and the assignment's budget
(``time_budget_s``, 120 s per notebook on 2 CPU cores).

Run: ``.venv/bin/python -m benchmarks assignments`` or
``.venv/bin/python -m benchmarks assignments [--band junior] [--only ID ...]``.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from benchmarks import argument_parser
from grading import grade_folder
from hub.library import Assignment, load_library


def run_with_nbclient(lesson: Assignment) -> float:
    """Seconds to execute the lesson's notebooks top to bottom with plain nbclient."""
    started = time.perf_counter()
    for path in lesson.notebooks:
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=lesson.time_budget_s, kernel_name="python3",
                       resources={"metadata": {"path": str(lesson.folder)}}).execute()
    return time.perf_counter() - started


def run_with_grader(lesson: Assignment) -> tuple[float, float, float]:
    """Seconds to grade the solution in the sandbox; also its score and the maximum."""
    with tempfile.TemporaryDirectory(prefix="bench-assignments-") as work:
        shutil.copytree(lesson.folder, Path(work) / "solution" / lesson.id)
        started = time.perf_counter()
        result = grade_folder(lesson.folder, work, jobs=1, sandbox="local")
        seconds = time.perf_counter() - started
    cells = [c for n in result["students"][0]["notebooks"] for c in n["cells"]
             if c["kind"] == "auto"]
    return seconds, sum(c["score"] for c in cells), sum(c["max_score"] for c in cells)


def main(argv: list[str] | None = None) -> None:
    parser = argument_parser(__name__, __doc__)
    parser.add_argument("--band", choices=["primary", "junior", "senior", "teacher"],
                        help="only the lessons of one grade band")
    parser.add_argument("--only", nargs="*", default=[], metavar="ID",
                        help="only these assignments")
    args = parser.parse_args(argv)
    lessons = [a for a in load_library()
               if (not args.band or a.grade_band == args.band)
               and (not args.only or a.id in args.only)]
    header = f"{'assignment':32} {'band':8} {'nbclient s':>10} {'graded s':>9} {'ratio':>6} " \
             f"{'budget s':>8} {'auto score':>11}"
    print(header)
    print("-" * len(header))
    total_plain = total_graded = 0.0
    for lesson in lessons:
        plain = run_with_nbclient(lesson)
        graded, score, best = run_with_grader(lesson)
        total_plain += plain
        total_graded += graded
        budget = lesson.time_budget_s * len(lesson.notebooks)
        print(f"{lesson.id:32} {lesson.grade_band:8} {plain:10.1f} {graded:9.1f} "
              f"{graded / plain:6.2f} {budget:8d} {score:5.1f}/{best:<5.1f}", flush=True)
    if lessons:
        print(f"{'total':32} {'':8} {total_plain:10.1f} {total_graded:9.1f} "
              f"{total_graded / total_plain:6.2f}")
