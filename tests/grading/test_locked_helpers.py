"""The corpus against locked helpers: a test trusts only what the teacher's cells define.

The assignment's read-only cell defines ``close_to`` (on top of ``math.isclose``) and both
tests call it; ``test_median`` also reads the builtin ``abs``. Each attacker hands in a
wrong answer plus a way to make the helper (or what it calls) say yes. Graded in both
sandboxes next to honest students, each attack scores nothing on the tests it aimed at;
those the static scan can read are flagged ``tampered``, those it cannot read (a pickle
that runs code, a shadowed builtin) are undone by the grader's restore cells.
"""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from nbgrader.apps.api import NbGraderAPI
from nbgrader.coursedir import CourseDirectory

from grading import grade_folder
from grading.sandbox.limits import SandboxLimits
from tests.grading.conftest import nbgrader_config, with_nbgrader_path, write_submission
from tests.sandboxes import SANDBOXES, STUDENT_IMAGE

pytestmark = pytest.mark.timeout(600)

LIMITS = SandboxLimits(memory_bytes=512 * 1024**2, wall_seconds=60, cell_timeout=15)
SETUP = '''\
import math


def close_to(value, expected):
    """The student's number, converted first, is the expected one."""
    return math.isclose(float(value), expected, abs_tol=1e-9)
'''
MEAN = "def mean(values):\n    ### BEGIN SOLUTION\n    return sum(values) / len(values)\n" \
       "    ### END SOLUTION"
MEDIAN = "def median(values):\n    ### BEGIN SOLUTION\n    ordered = sorted(values)\n" \
         "    middle = len(ordered) // 2\n" \
         "    return (ordered[middle] + ordered[~middle]) / 2\n    ### END SOLUTION"
TEST_MEAN = "assert close_to(mean([1, 2, 3]), 2.0)\n### BEGIN HIDDEN TESTS\n" \
            "assert close_to(mean([4.0, 8.0]), 6.0)\n### END HIDDEN TESTS"
TEST_MEDIAN = "assert abs(float(median([3, 1, 2])) - 2) < 1e-9\n### BEGIN HIDDEN TESTS\n" \
              "assert abs(float(median([5, 1])) - 3) < 1e-9\n### END HIDDEN TESTS"
WRONG = "def mean(values):\n    return 0\n"
#: ``exec`` of a string, from inside a pickle: nothing the static scan can read.
PICKLED = WRONG + ('import pickle\npickle.loads(b"c__builtin__\\nexec\\n'
                   '(Vclose_to = lambda *a: True\\ntR.")')

#: Attacker -> (answer cells by grade id, tests it aims at, whether the scan must flag it).
ATTACKS = {
    "helper-assign": ({"mean": WRONG + "close_to = lambda *args: True"}, True),
    "helper-globals": ({"mean": WRONG + "globals()['close_to'] = lambda *args: True"}, True),
    "helper-def": ({"mean": WRONG + "def close_to(value, expected):\n    return True"}, True),
    "helper-module": ({"mean": WRONG + "import math\n"
                       "math.isclose = lambda *args, **kwargs: True"}, True),
    "helper-setattr": ({"mean": WRONG + "setattr(math, 'isclose', lambda *a, **k: True)"},
                       True),
    "helper-pickle": ({"mean": PICKLED}, False),
    "shadow-builtin": ({"median": "def median(values):\n    return 0\nabs = lambda x: 0"},
                       False),
    "constant-float": ({"mean": "class Six:\n    def __float__(self):\n        return 6.0\n"
                        "def mean(values):\n    return Six()"}, True),
}
#: What the attack aims at: with its trick working, each of these would pass.
AIMED_AT = {"shadow-builtin": "test_median"}
#: Honest students: the answer, and the answer with what honest code does near the helpers.
HONEST = {
    "honest": {},
    "honest-nearby": {"mean": "import math\nfrom math import isclose\n" + MEAN
                      + "\nprint(close_to(mean([1, 2]), 1.5), 'x' in globals())"},
}


def assignment_notebook() -> nbformat.NotebookNode:
    def meta(grade_id, **flags):
        return {"nbgrader": {"grade_id": grade_id, "schema_version": 3, "locked": False,
                             "solution": False, "grade": False, **flags}}
    return new_notebook(cells=[
        new_markdown_cell("# 平均数和中位数 / mean and median"),
        new_code_cell(SETUP, metadata=meta("setup", locked=True)),
        new_code_cell(MEAN, metadata=meta("mean", solution=True)),
        new_code_cell(TEST_MEAN, metadata=meta("test_mean", grade=True, locked=True, points=2)),
        new_code_cell(MEDIAN, metadata=meta("median", solution=True)),
        new_code_cell(TEST_MEDIAN, metadata=meta("test_median", grade=True, locked=True,
                                                 points=1)),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}})


@pytest.fixture(scope="module", params=SANDBOXES)
def graded(request, tmp_path_factory):
    """Grade every attacker and the honest students together; results by student."""
    root = tmp_path_factory.mktemp(f"helpers-{request.param}")
    source = root / "source" / "stats"
    source.mkdir(parents=True)
    nbformat.write(assignment_notebook(), source / "stats.ipynb")
    config = nbgrader_config(root)
    with with_nbgrader_path():
        api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
        assert api.generate_assignment("stats")["success"]
    students = {**{s: cells for s, (cells, _) in ATTACKS.items()}, **HONEST}
    for student, answers in students.items():
        write_submission(root / "release" / "stats", root / "submitted", student,
                         {"mean": MEAN, "median": MEDIAN, **answers}, assignment="stats")
    result = grade_folder(source, root / "submitted", jobs=2, sandbox=request.param,
                          limits=LIMITS, image=STUDENT_IMAGE)
    return {s["student"]: s["notebooks"][0] for s in result["students"]}


def scores(notebook: dict) -> dict[str, float]:
    return {c["grade_id"]: c["score"] for c in notebook["cells"]}


@pytest.mark.parametrize("student", sorted(ATTACKS))
def test_attack_on_a_helper_earns_nothing(graded, student):
    notebook = graded[student]
    aimed_at = AIMED_AT.get(student, "test_mean")
    assert scores(notebook)[aimed_at] == 0.0, notebook
    flagged = ATTACKS[student][1]
    assert ("tampered" in notebook["flags"]) is flagged, notebook
    if not flagged:  # the restore cell undid it: the other test keeps its honest score
        other = {"test_mean": "test_median", "test_median": "test_mean"}[aimed_at]
        assert scores(notebook)[other] == {"test_mean": 2.0, "test_median": 1.0}[other]


@pytest.mark.parametrize("student", sorted(HONEST))
def test_honest_students_keep_their_score(graded, student):
    notebook = graded[student]
    assert notebook["flags"] == [], notebook
    assert scores(notebook) == {"test_mean": 2.0, "test_median": 1.0}
