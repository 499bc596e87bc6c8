"""Does an object that agrees with every comparison pass the library's own tests?

The student's functions return a ``float`` subclass whose ``==``, ``<``, ``-`` and
``abs`` answer "yes" to anything, written so that the static scan does not recognise it
(its methods read their arguments) and without touching the kernel (no canary fires).
What must stop it is the tests themselves: they check the type of the student's value and
convert it (``float(...)``, ``int(v) for v in ...``) before comparing (grading/README.md,
item 6).
"""

from __future__ import annotations

import ast

import nbformat
import pytest

from grading import grade_folder
from hub.library import DEFAULT_ROOT, load_library
from tests.assignments.conftest import LIBRARY, generate_release

pytestmark = pytest.mark.timeout(600)

AGREE = """\
class Agree(float):
    def __eq__(self, other):
        return other is other
    __lt__ = __le__ = __gt__ = __ge__ = __eq__
    def __sub__(self, other):
        return self if other is other else other
    __rsub__ = __add__ = __radd__ = __sub__
    def __abs__(self):
        return self
"""
CHEAT = {
    "distance": AGREE + "def distance(a, b):\n    return Agree(99)",
    "knn_predict": "def knn_predict(X, y, x, k=5):\n    return Agree(99)",
}


#: ai-project: a dict that equals any dict, a classifier whose ``score`` agrees with any bound.
PROJECT_CHEAT = {
    "explore": "class AgreeDict(dict):\n    def __eq__(self, other):\n"
               "        return other is other\nclass_counts = AgreeDict()",
    "build-model": AGREE + "def build_model():\n"
                   "    from sklearn.dummy import DummyClassifier\n"
                   "    class Agreeable(DummyClassifier):\n"
                   "        def score(self, X, y, sample_weight=None):\n"
                   "            return Agree(0.0)\n"
                   "    return Agreeable()",
}


#: Arrays and lists of agreeing elements: ``==`` on lists and ``np.array_equal`` on object
#: arrays ask each element, so the tests convert with ``np.asarray(..., dtype=int)`` first.
KMEANS_CHEAT = {"assign": AGREE + "def assign_clusters(X, centers):\n"
                                  "    return [Agree(9) for _ in X]"}
PERCEPTRON_CHEAT = {
    "perceptron-predict": AGREE + "import numpy as np\n"
                          "def perceptron_predict(w, b, X):\n"
                          "    return np.array([Agree(9) for _ in X], dtype=object)",
    "xor-network": "def xor_network(X):\n    return perceptron_predict(None, None, X)",
}


#: Agrees with everything, and is a sequence of itself: ``list(x)``, ``x[0]``, ``for v in x``.
AGREE_ALL = AGREE + """\
    def __getitem__(self, key):
        return self if key is key else key
    def __iter__(self):
        return iter([self] * 4)
"""


#: ``AGREE_ALL`` whose conversions answer constants a range check accepts (``0 <= float(x)
#: <= 1``, ``len(x) == 4``), written so that the scan does not recognise them (they read
#: ``self``): the tests must check the exact type before they convert.
CONSTANT_CONVERSIONS = AGREE_ALL + """\
    def __float__(self):
        return 0.5 if self is self else 0.0
    def __int__(self):
        return 1 if self is self else 0
    def __index__(self):
        return 1 if self is self else 0
    def __round__(self, ndigits=None):
        return 1 if self is self else 0
    def __len__(self):
        return 4 if self is self else 0
    def __array__(self, dtype=None, copy=None):
        import numpy
        return numpy.ones(4, dtype=dtype) if self is self else None
"""


def agreeing_answers(source: str, agree: str = AGREE_ALL) -> str:
    """Each function and variable an answer cell defines, answering an ``agree`` object."""
    lines = [agree]
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef):
            lines.append(f"def {node.name}(*args, **kwargs):\n    return Agree(99)")
        elif isinstance(node, ast.Assign):
            names = [n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)]
            lines += [f"{name} = Agree(99)" for name in names]
    return "\n".join(lines)


def grade_cheat(lesson_id: str, cheat: dict[str, str], tmp_path) -> dict[str, dict]:
    """Grade the release of ``lesson_id`` with ``cheat``'s cells in place: cells by grade id."""
    [lesson] = [a for a in load_library(DEFAULT_ROOT) if a.id == lesson_id]
    release = generate_release(lesson, tmp_path / "course")
    folder = tmp_path / "submitted" / "agreeable" / lesson.id
    folder.mkdir(parents=True)
    for path in release.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            cell.source = cheat.get(grade_id, cell.source)
        nbformat.write(nb, folder / path.name)
    [student] = grade_folder(lesson.folder, tmp_path / "submitted", jobs=1,
                             sandbox="local")["students"]
    [notebook] = student["notebooks"]
    assert "tampered" not in notebook["flags"]  # neither the scan nor a canary caught it
    return {c["grade_id"]: c for c in notebook["cells"]}


def test_an_always_agreeing_result_fails_the_knn_tests(tmp_path):
    cells = grade_cheat("knn-decision-tree", CHEAT, tmp_path)
    assert cells["test_distance"]["score"] == 0.0
    assert cells["test_knn_small"]["score"] == 0.0


def test_an_always_agreeing_result_fails_the_project_tests(tmp_path):
    cells = grade_cheat("ai-project", PROJECT_CHEAT, tmp_path)
    assert cells["test-class-counts"]["score"] == 0.0
    assert cells["test-model-heldout"]["score"] == 0.0


def test_agreeing_elements_fail_the_kmeans_and_perceptron_tests(tmp_path):
    kmeans = grade_cheat("kmeans-clustering", KMEANS_CHEAT, tmp_path / "kmeans")
    assert kmeans["test-assign"]["score"] == 0.0
    perceptron = grade_cheat("perceptron-neural-network", PERCEPTRON_CHEAT,
                             tmp_path / "perceptron")
    assert perceptron["test-perceptron-predict"]["score"] == 0.0
    assert perceptron["test-xor-network"]["score"] == 0.0


@pytest.mark.parametrize("agree", [AGREE_ALL, CONSTANT_CONVERSIONS],
                         ids=["always-equal", "constant-conversions"])
@pytest.mark.parametrize("lesson", LIBRARY, ids=[lesson.id for lesson in LIBRARY])
def test_always_equal_answers_earn_nothing_in_any_lesson(lesson, agree, tmp_path):
    """Every answer the instructor's solution defines, replaced by an agreeing object."""
    cheat = {}
    for path in lesson.notebooks:
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and meta.get("solution"):
                cheat[meta["grade_id"]] = agreeing_answers(cell.source, agree)
    cells = grade_cheat(lesson.id, cheat, tmp_path)
    gained = {grade_id: c["score"] for grade_id, c in cells.items()
              if c["kind"] == "auto" and c["score"]}
    assert gained == {}
