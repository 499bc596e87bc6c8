"""Why a graded cell scored less than its points, read from the graded notebook.

nbgrader's gradebook keeps only numbers; a teacher looking at 2/7 cannot tell a wrong
answer from a grader that never ran the test (a missing package in the sandbox, a
kernel that died, a tampering flag). Each lost point gets one reason, in the order a
teacher should look: a verdict the notebook's flags forced, a cell that never ran, the
error the cell raised, what it wrote to stderr, partial credit, an answer left blank.
"""

from __future__ import annotations

from nbformat.notebooknode import NotebookNode
from nbgrader import utils as nbgrader_utils

from grading.autograde.results import REASONS

#: How much of an error message or stderr text a reason keeps.
MESSAGE_CHARS = 500


def lost_points_reason(cell: NotebookNode | None, score: float | None, max_score: float,
                       ran: bool, distrusted_by: list[str]) -> dict | None:
    """The reason ``cell`` scored ``score`` of ``max_score`` (``None``: nothing was lost).

    ``cell`` is the graded cell after execution (``None`` when the submission lacks it),
    ``ran`` whether the kernel executed it, ``distrusted_by`` the notebook's flags that
    made the grader score its tests zero (empty when the run was trusted). Cells a teacher
    has still to grade (``score`` ``None``) have no reason yet.
    """
    if score is None or score >= max_score:
        return None
    if cell is None:
        return {"why": "cell_missing"}
    if nbgrader_utils.is_solution(cell):
        return {"why": "blank"} if score == 0 else None
    if distrusted_by:
        return {"why": "flag", "flags": list(distrusted_by)}
    if not ran:
        return {"why": "not_executed"}
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return {"why": "error", "ename": str(output.get("ename", "")),
                    "evalue": str(output.get("evalue", ""))[:MESSAGE_CHARS]}
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            return {"why": "stderr", "text": str(output.get("text", ""))[:MESSAGE_CHARS]}
    return {"why": "partial"}


def describe(reason: dict | None) -> str:
    """One line for a teacher: the reason's words, then its details."""
    if not reason:
        return ""
    text = REASONS.get(reason.get("why", ""), str(reason.get("why", "")))
    if reason.get("ename"):
        text += f": {reason['ename']}: {reason.get('evalue', '')}"
    elif reason.get("flags"):
        text += f": {', '.join(reason['flags'])}"
    elif reason.get("text"):
        text += f": {reason['text']}"
    return text


def graded_cells_by_id(nb: NotebookNode) -> dict[str, tuple[int, NotebookNode]]:
    """Each graded or task cell of an executed notebook, with its index, by ``grade_id``."""
    return {cell.metadata.nbgrader["grade_id"]: (index, cell)
            for index, cell in enumerate(nb.cells)
            if nbgrader_utils.is_grade(cell) or nbgrader_utils.is_task(cell)}
