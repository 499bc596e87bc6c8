"""The scan's view of locked helpers and conversions, one student cell at a time (no kernel).

The locked code is a setup cell like the library's: imports (one of them ``as ax``, as the
primary lessons import their explainers), a helper function, a helper class. Each attack
cell must produce evidence; each honest cell, the ones a classroom really writes near such
a setup, none. The graded corpus (``test_locked_helpers.py``) shows what the evidence
costs the attacker in both sandboxes; this shows where the line runs.
"""

from __future__ import annotations

import pytest

from grading.autograde.locked import LockedCode
from grading.autograde.scan import scan_submission

SETUP = """\
%matplotlib inline
import math
import numpy as np
import matplotlib.pyplot as plt
import aiclass_explainers as ax
from collections import Counter


def check_path(maze, path):
    return all(math.isclose(abs(a - b), 1) for a, b in zip(path, path[1:]))


class Grid:
    def valid(self, pos):
        return True
"""
LOCKED = LockedCode(cells=(("setup", SETUP), ("test_bfs", "assert check_path(MAZE, bfs())")),
                    answer_names=frozenset({"bfs", "manhattan"}))

ATTACKS = {
    "assign": "check_path = lambda *args: True",
    "def": "def check_path(maze, path):\n    return True",
    "class": "class Grid:\n    pass",
    "import-as": "from operator import truth as check_path",
    "for-target": "for check_path in [print]:\n    pass",
    "global-in-function": "def f():\n    global check_path\n    check_path = print\nf()",
    "delete": "del check_path",
    "globals-subscript": "globals()['check_path'] = print",
    "globals-update": "globals().update(check_path=print)",
    "globals-alias": "g = globals()\ng['check_path'] = print",
    "vars-no-args": "vars()['check_path'] = print",
    "module-attribute": "math.isclose = lambda *a, **k: True",
    "module-setattr": "setattr(np, 'allclose', lambda *a, **k: True)",
    "module-deep": "np.testing.assert_allclose = print",
    "module-alias": "m = math\nm.isclose = print",
    "module-own-import": "import statistics as st\nst.mean = print",
    "module-dict": "np.__dict__['allclose'] = print",
    "module-vars": "vars(math)['isclose'] = print",
    "helper-class-method": "Grid.valid = lambda self, pos: True",
    "type-of-object": "type(result).score = lambda *a: 1.0",
    "dunder-class": "model.__class__.score = lambda *a: 1.0",
    "constant-float": "class Half:\n    def __float__(self):\n        return 0.5",
    "constant-index": "class One:\n    __index__ = lambda self: 1",
    "constant-len": "class Four(list):\n    def __len__(self):\n        return 4",
    "constant-array": "class Ones:\n    def __array__(self, dtype=None):\n        return [1, 1]",
    "constant-round": "class R:\n    def __round__(self, n=None):\n        return 3",
    "disguised-class": "class Row(int):\n    __module__ = 'builtins'",
}
HONEST = {
    "same-import": "import math\nimport numpy as np\nfrom collections import Counter",
    "own-ax": "fig, ax = plt.subplots()\nax.set_title('我的图')",
    "answer-names": "def manhattan(a, b):\n    return abs(a[0] - b[0]) + abs(a[1] - b[1])\n"
                    "def bfs():\n    return [(0, 0), (0, 1)]",
    "use-helper": "print(check_path([], [(0, 0), (0, 1)]))\ngrid = Grid()\ngrid.size = 3",
    "read-globals": "if 'x' in globals():\n    print(globals()['x'], globals().get('y'))",
    "config": "import pandas as pd\npd.options.display.max_rows = 10\n"
              "plt.rcParams['font.size'] = 12",
    "own-objects": "class Deck:\n    def __init__(self):\n        self.cards = []\n"
                   "    def __len__(self):\n        return len(self.cards)\n"
                   "    def __float__(self):\n        return float(len(self.cards))\n"
                   "deck = Deck()\ndeck.owner = 'me'",
    "locals-in-function": "def f(x):\n    check = x\n    return check\n"
                          "def g():\n    check_path = 1\n    return check_path",
    "own-py-file": None,  # a .py file's own check_path lives in its own module
}


def findings(cell: str, files: dict[str, bytes] | None = None) -> list[str]:
    return [str(f) for f in scan_submission([(3, cell)], files or {}, LOCKED)]


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_is_evidence(name):
    assert findings(ATTACKS[name]), ATTACKS[name]


@pytest.mark.parametrize("name", sorted(HONEST))
def test_honest_cell_is_not(name):
    if HONEST[name] is None:
        assert findings("import mine", {"mine.py": b"def check_path(m, p):\n    return 1\n"}) == []
    else:
        assert findings(HONEST[name]) == [], HONEST[name]


def test_the_evidence_says_what_was_rebound():
    assert findings(ATTACKS["def"]) == ["cell 3: rebinds check_path, which a locked cell defines"]
    assert findings(ATTACKS["module-attribute"]) == ["cell 3: patches math.isclose"]


def test_restore_cell_redefines_helpers_and_unshadows_builtins():
    namespace: dict = {}
    exec("import math\nMAZE = None\ndef bfs():\n    return [(0, 0), (0, 1)]\n"
         "check_path = lambda *a: 'forged'\nabs = lambda x: 99\nzip = None", namespace)
    exec(LOCKED.restore_source("test_bfs"), namespace)
    assert namespace["check_path"]([], [1, 2]) is True
    assert "abs" not in namespace and "zip" not in namespace
    assert namespace["bfs"]() == [(0, 0), (0, 1)]  # the student's answer stays theirs
