"""Canaries: copies of the notebook's own test cells that must fail, judged from outside.

nbgrader scores a test cell by whether it raised. Student code runs in the same kernel
as the tests and can make that kernel swallow errors (an AST or input transformer that
wraps every cell in ``try``/``except``, ``post_run_cell`` callbacks, a patched
``run_code`` or ``showtraceback``). A check that runs inside the kernel can be found and
fooled by the same code, so nothing of this one lives there: the grader keeps the
canaries' identity and expected verdict to itself, and reads the verdict off the kernel
protocol (the ``execute_reply`` status and the error outputs), as it reads every test's.

Each autograded test cell gets a canary: the same source, hidden tests included, with a
failing ``assert`` in front, run right before or right after the real cell (a coin toss
per cell). A kernel that makes failures disappear without telling canary from test is
caught on the first canary; one that spares cells that "look like the canary" must tell
two copies of an unknown hidden test apart. Because the ``assert`` comes first, a canary
runs none of the test's code: no side effect, no time, the honest score unchanged.
"""

from __future__ import annotations

import copy
import secrets

from nbformat.notebooknode import NotebookNode
from nbgrader import utils as nbgrader_utils

CANARY_TAG = "aiclass-canary"


def is_test_cell(cell: NotebookNode) -> bool:
    """An autograded test cell: graded code that is not the student's answer."""
    return (cell.cell_type == "code" and nbgrader_utils.is_grade(cell)
            and not nbgrader_utils.is_solution(cell))


class Canary:
    """Interleaves canaries with a notebook's test cells, then strips and judges them."""

    def insert(self, nb: NotebookNode) -> None:
        """Add a canary beside every test cell (tags live in metadata, never sent to the kernel)."""
        cells = []
        for cell in nb.cells:
            if not is_test_cell(cell):
                cells.append(cell)
                continue
            canary = copy.deepcopy(cell)
            canary.source = _failing_line() + canary.source
            canary.metadata = {"tags": [CANARY_TAG]}
            canary.pop("id", None)
            canary.outputs = []
            pair = [canary, cell] if secrets.randbelow(2) else [cell, canary]
            cells += pair
        nb.cells = cells

    def strip(self, nb: NotebookNode) -> dict[int, NotebookNode]:
        """Remove the canaries; return them by their index at run time."""
        canaries = {i: c for i, c in enumerate(nb.cells) if CANARY_TAG in c.metadata.get(
            "tags", [])}
        nb.cells = [c for i, c in enumerate(nb.cells) if i not in canaries]
        return canaries

    def survivors(self, canaries: dict[int, NotebookNode], statuses: dict[int, str],
                  silent: set[int]) -> list[int]:
        """Indices of canaries that ran and did not visibly fail: the kernel hid a failure.

        ``silent`` are the cells whose reply said "error" while the kernel sent no error
        output. A canary the kernel never ran (it died or timed out first) proves nothing.
        """
        return [index for index in canaries
                if index in statuses and (statuses[index] != "error" or index in silent)]


def _failing_line() -> str:
    """An ``assert`` that fails in any honest kernel, whatever the student defined."""
    left = secrets.randbelow(10**6)
    return f"assert {left} == {left + 1 + secrets.randbelow(10**6)}\n"
