"""Honest work grades to exactly the per-cell scores plain ``nbgrader autograde`` gives.

In both sandboxes: the same submission gets the same grade in bubblewrap and in Docker.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.apps.api import NbGraderAPI
from nbgrader.coursedir import CourseDirectory

from grading import grade_folder
from tests.grading.conftest import (
    CORRECT,
    NbgraderBook,
    nbgrader_config,
    nbgrader_gradebook,
    run_nbgrader_autograde,
    with_nbgrader_path,
    write_submission,
)
from tests.sandboxes import SANDBOXES, STUDENT_IMAGE

pytestmark = pytest.mark.timeout(900)


PARTIAL = {
    **CORRECT,
    # right for n <= 2 only: 2 of the 4 visible cases pass, and the hidden case n = 3
    # fails and takes one back -> partial credit 0.5 of 2
    "sum_of_squares": "def sum_of_squares(n):\n    return [0, 1, 5][n] if n < 3 else 0",
}
WRONG = {
    "squares": "def squares(n):\n    return [i * i for i in range(n)]",
    "mean_score": "def mean_score(rows):\n    return 80.0",  # passes visible, fails hidden
    "growth_answer": "不知道",
    "best_student": "answer = 'A'",
}
NO_RAISE = {**CORRECT, "squares": "def squares(n):\n    return [i * i for i in range(1, n + 1)]"}


@pytest.fixture(scope="module")
def course(released_ps1, tmp_path_factory):
    root = tmp_path_factory.mktemp("equivalence")
    shutil.copytree(released_ps1, root, dirs_exist_ok=True)
    release = root / "release" / "ps1"
    submitted = root / "submitted"
    write_submission(release, submitted, "s-empty")
    write_submission(release, submitted, "s-correct", CORRECT)
    write_submission(release, submitted, "s-partial", PARTIAL)
    write_submission(release, submitted, "s-wrong", WRONG)
    write_submission(release, submitted, "s-noraise", NO_RAISE)
    write_submission(release, submitted, "s-half", CORRECT, skip=("problem2",))
    return root


@pytest.fixture(scope="module", params=SANDBOXES)
def ours(request, course):
    return grade_folder(course / "source" / "ps1", course / "submitted", jobs=2,
                        sandbox=request.param, image=STUDENT_IMAGE)


def test_per_cell_scores_match_plain_nbgrader(course, ours):
    theirs = run_nbgrader_autograde(course)

    compared = 0
    for student in ours["students"]:
        for notebook in student["notebooks"]:
            if "notebook_missing" in notebook["flags"]:
                continue
            assert notebook["flags"] == [], (student["student"], notebook)
            for cell in notebook["cells"]:
                key = (student["student"], notebook["notebook"], cell["grade_id"])
                assert cell["score"] == theirs[key], key
                compared += 1
    assert compared == 5 * 6 + 4


def test_scores_are_what_the_work_deserves(ours):
    """Guard against both graders agreeing on nonsense: spot-check known answers."""
    by_student = {s["student"]: s for s in ours["students"]}
    cells = {
        (s, n["notebook"], c["grade_id"]): c
        for s, student in by_student.items() for n in student["notebooks"] for c in n["cells"]
    }
    assert by_student["s-empty"]["score"] == 0.0
    assert by_student["s-correct"]["score"] == 6.0  # everything but the two hand-graded cells
    assert cells["s-correct", "problem1", "growth_answer"]["score"] is None
    assert cells["s-correct", "problem1", "growth_answer"]["kind"] == "manual"
    assert cells["s-correct", "problem2", "best_student"]["score"] is None
    assert cells["s-empty", "problem1", "growth_answer"]["score"] == 0.0
    assert cells["s-partial", "problem1", "correct_sum_of_squares"]["score"] == 0.5
    assert cells["s-wrong", "problem2", "correct_mean"]["score"] == 0.0  # hidden test fails
    assert cells["s-noraise", "problem1", "squares_invalid_input"]["score"] == 0.0
    assert by_student["s-half"]["notebooks"][1]["flags"] == ["notebook_missing"]
    assert by_student["s-correct"]["max_score"] == 9.0


# --- every cell type nbgrader knows, in both sandboxes ------------------------------------

EVERY = "every-type"


def nbgrader_cell(cell: nbformat.NotebookNode, grade_id: str, *, grade: bool = False,
                  solution: bool = False, locked: bool = False, task: bool = False,
                  points: float | None = None) -> nbformat.NotebookNode:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": task}
    if points is not None:
        meta["points"] = points
    cell.metadata["nbgrader"] = meta
    return cell


def every_type_source(folder: Path) -> None:
    """A source assignment with each nbgrader cell type once (task cells since nbgrader 0.6)."""
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    cells = [
        nbgrader_cell(md("# 每种单元格 / every cell type"), "intro", locked=True),
        nbgrader_cell(code("values = [3, 4, 5]"), "setup", locked=True),
        nbgrader_cell(code("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n"
                           "    ### END SOLUTION"), "double", solution=True),
        nbgrader_cell(code("assert double(2) == 4\n### BEGIN HIDDEN TESTS\n"
                           "assert double(-3) == -6, '负数 / negatives'\n### END HIDDEN TESTS"),
                      "test_double", grade=True, locked=True, points=2),
        nbgrader_cell(code("def total(xs):\n    ### BEGIN SOLUTION\n    return sum(xs)\n"
                           "    ### END SOLUTION"), "total", grade=True, solution=True,
                      points=1),
        nbgrader_cell(md("为什么？/ why?\n\n### BEGIN SOLUTION\n因为 / because\n"
                         "### END SOLUTION"), "explain", grade=True, solution=True, points=2),
        nbgrader_cell(md("**任务**：用 `double` 和 `total` 写一个小程序 / task: write a small "
                         "program with `double` and `total`"), "task_program", locked=True,
                      task=True, points=4),
        nbgrader_cell(code("assert sum(values) == 12"), "test_values", grade=True, locked=True,
                      points=1),
    ]
    folder.mkdir(parents=True)
    nb = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, folder / "types.ipynb")


EVERY_CORRECT = {"double": "def double(x):\n    return 2 * x",
                 "total": "def total(xs):\n    return sum(xs)",
                 "explain": "因为 double 是乘以二 / double multiplies by two"}
EVERY_WRONG = {"double": "def double(x):\n    return x * x"}  # visible test passes, hidden fails


def edit_read_only(_notebook: str, nb: nbformat.NotebookNode) -> None:
    """Rewrite the locked setup cell: nbgrader restores it, the grader also flags it."""
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "setup":
            cell.source = "values = [0]"


@pytest.fixture(scope="module")
def every_course(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("every-type")
    every_type_source(root / "source" / EVERY)
    config = nbgrader_config(root)
    with with_nbgrader_path():
        api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
        generated = api.generate_assignment(EVERY)
    assert generated["success"], generated.get("error")
    release, submitted = root / "release" / EVERY, root / "submitted"
    write_submission(release, submitted, "t-blank", assignment=EVERY)
    write_submission(release, submitted, "t-correct", EVERY_CORRECT, assignment=EVERY)
    write_submission(release, submitted, "t-wrong", EVERY_WRONG, assignment=EVERY)
    write_submission(release, submitted, "t-readonly", EVERY_CORRECT, change=edit_read_only,
                     assignment=EVERY)
    return root


@pytest.fixture(scope="module")
def plain_nbgrader(every_course) -> NbgraderBook:
    return nbgrader_gradebook(every_course, EVERY)


@pytest.fixture(scope="module", params=SANDBOXES)
def every_graded(request, every_course, tmp_path_factory) -> dict:
    autograded = tmp_path_factory.mktemp(f"autograded-{request.param}")
    result = grade_folder(every_course / "source" / EVERY, every_course / "submitted", jobs=2,
                          sandbox=request.param, image=STUDENT_IMAGE,
                          autograded_dir=autograded)
    return {"result": result, "autograded": autograded}


def every_cells(result: dict) -> dict[tuple[str, str, str], dict]:
    return {(s["student"], n["notebook"], c["grade_id"]): c for s in result["students"]
            for n in s["notebooks"] for c in n["cells"]}


def test_every_cell_type_matches_plain_nbgrader_cell_by_cell_and_in_totals(
        every_graded, plain_nbgrader):
    """Do autograded answers, tests, manual answers, tasks and read-only cells count as there?"""
    result = every_graded["result"]
    ours = every_cells(result)
    assert set(ours) == set(plain_nbgrader.cells), "a graded cell is missing on one side"
    for key, (auto, maximum) in plain_nbgrader.cells.items():
        assert (ours[key]["score"], ours[key]["max_score"]) == (auto, maximum), key
    for student in result["students"]:
        assert student["max_score"] == plain_nbgrader.student_max[student["student"]]
        for notebook in student["notebooks"]:
            assert notebook["max_score"] == plain_nbgrader.notebook_max[
                student["student"], notebook["notebook"]]
    assert plain_nbgrader.student_max["t-correct"] == 10.0  # 4 of them the task's


def test_every_cell_type_has_its_kind_and_the_read_only_edit_is_flagged(every_graded):
    result = every_graded["result"]
    cells = every_cells(result)
    kinds = {grade_id: c["kind"] for (student, _nb, grade_id), c in cells.items()
             if student == "t-correct"}
    assert kinds == {"test_double": "auto", "total": "manual", "explain": "manual",
                     "task_program": "task", "test_values": "auto"}
    flags = {s["student"]: s["flags"] for s in result["students"]}
    assert flags == {"t-blank": [], "t-correct": [], "t-wrong": [], "t-readonly": ["cell_edited"]}
    # restored as nbgrader restores it: the test that reads the read-only cell still passes
    assert cells["t-readonly", "types", "test_values"]["score"] == 1.0
    assert cells["t-correct", "types", "task_program"]["score"] is None  # a teacher grades it


def test_a_lost_point_says_why(every_graded):
    """Does the JSON say why a test cell scored less than its points, and only then?"""
    cells = every_cells(every_graded["result"])
    hidden = cells["t-wrong", "types", "test_double"]["reason"]
    assert hidden == {"why": "error", "ename": "AssertionError", "evalue": "负数 / negatives"}
    blank = cells["t-blank", "types", "test_double"]["reason"]
    assert (blank["why"], blank["ename"]) == ("error", "NotImplementedError")
    assert cells["t-blank", "types", "explain"]["reason"] == {"why": "blank"}
    assert all(c["reason"] is None for key, c in cells.items() if key[0] == "t-correct")


def test_graded_notebooks_are_kept_like_nbgraders_autograded(every_graded):
    """The teacher can open the graded notebook and find the failing hidden test's error."""
    kept = every_graded["autograded"] / "t-wrong" / EVERY / "types.ipynb"
    nb = nbformat.read(kept, as_version=4)
    [test] = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id")
              == "test_double"]
    assert "BEGIN HIDDEN TESTS" in test.source
    assert [o.ename for o in test.outputs if o.output_type == "error"] == ["AssertionError"]
    assert not any("aiclass-canary" in c.metadata.get("tags", []) for c in nb.cells)


def test_aiclass_grade_writes_reasons_and_graded_notebooks(every_course, tmp_path):
    """The command line: JSON with reasons, and autograded/ beside it by default."""
    out = tmp_path / "result.json"
    done = subprocess.run(
        [str(Path(sys.executable).parent / "aiclass"), "grade", "--sandbox", "local",
         "--jobs", "2", "--out", str(out), str(every_course / "source" / EVERY),
         str(every_course / "submitted")],
        capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    cells = every_cells(json.loads(out.read_text(encoding="utf-8")))
    assert cells["t-wrong", "types", "test_double"]["reason"]["ename"] == "AssertionError"
    kept = sorted(p.relative_to(tmp_path).as_posix()
                  for p in (tmp_path / "autograded").rglob("*.ipynb"))
    assert kept == [f"autograded/{s}/{EVERY}/types.ipynb"
                    for s in ("t-blank", "t-correct", "t-readonly", "t-wrong")]
