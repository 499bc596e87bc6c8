"""The grader's metadata check: nbgrader's verdicts, with the schema work done once."""

from __future__ import annotations

import copy

import jsonschema
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from nbgrader.nbgraderformat import ValidationError
from nbgrader.nbgraderformat.common import SchemaMismatchError

from grading.autograde.metadata_check import CheckReleasedMetadata, ReleasedMetadata


def graded(cell_type: str = "code", **meta: object) -> nbformat.NotebookNode:
    make = new_code_cell if cell_type == "code" else new_markdown_cell
    cell = make("assert squares(3) == [1, 4, 9]")
    cell.metadata["nbgrader"] = {"schema_version": 3, "grade": True, "solution": False,
                                 "locked": True, "points": 2, "grade_id": "test_squares",
                                 **meta}
    return cell


def test_forged_metadata_is_refused_after_honest_metadata_passed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    validator = ReleasedMetadata()
    check = CheckReleasedMetadata(validator=validator)
    honest = new_notebook(cells=[graded()])
    calls = []
    real = jsonschema.validate
    monkeypatch.setattr(jsonschema, "validate", lambda *a, **k: calls.append(1) or real(*a, **k))
    for _ in range(3):
        check.preprocess(copy.deepcopy(honest), {})
    assert len(calls) == 1, "the schema check of the same metadata runs once per grader"

    for forged in (graded(points="ten"),  # schema: points must be a number
                   graded(grade_id=""),  # nbgrader: an empty grade id
                   graded(schema_version=2),  # an old schema
                   graded("markdown", solution=False)):  # a markdown grade cell, no solution
        with pytest.raises((ValidationError, SchemaMismatchError)):  # as nbgrader's check
            check.preprocess(new_notebook(cells=[forged]), {})
    # a duplicate grade id is caught on a notebook whose cells each passed before
    with pytest.raises(ValidationError):
        check.preprocess(new_notebook(cells=[graded(), graded()]), {})
    # the empty grade id passed the schema and is remembered; nbgrader's own check still
    # refuses it every time
    assert len(validator.passed) == 2
    with pytest.raises(ValidationError):
        check.preprocess(new_notebook(cells=[graded(grade_id="")]), {})
