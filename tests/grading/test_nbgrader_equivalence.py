"""Honest work grades to exactly the per-cell scores plain ``nbgrader autograde`` gives."""

from __future__ import annotations

import shutil

import pytest

from grading import grade_folder
from tests.grading.conftest import CORRECT, run_nbgrader_autograde, write_submission

pytestmark = pytest.mark.timeout(600)

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


@pytest.fixture(scope="module")
def ours(course):
    return grade_folder(course / "source" / "ps1", course / "submitted", jobs=2, sandbox="local")


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
