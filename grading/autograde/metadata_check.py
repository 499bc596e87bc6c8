"""nbgrader's ``CheckCellMetadata`` with the schema checked once per distinct cell metadata.

nbgrader validates every nbgrader cell with ``jsonschema.validate``, which checks the schema
itself before each cell, and ``CheckCellMetadata`` reads its three schema files from disk each
time it runs: together about 50 ms of the grading worker's time per notebook (twice per
notebook: before and after execution), the largest share of the grader's own CPU beside the
kernel. The schema verdict depends on the cell's nbgrader metadata alone, and after
``RestoreGradeMetadata`` every graded cell carries the release's, so :class:`ReleasedMetadata`
remembers the metadata that passed: the same verdicts, the schema work done once per grader.
nbgrader's other checks (grade ids, points, cell types, duplicates) run on every notebook.
"""

from __future__ import annotations

import json

from nbformat.notebooknode import NotebookNode
from nbgrader.nbgraderformat import ValidationError
from nbgrader.nbgraderformat.common import BaseMetadataValidator
from nbgrader.nbgraderformat.v3 import MetadataValidatorV3
from nbgrader.preprocessors import CheckCellMetadata
from traitlets import Any as AnyTrait

CORRUPTED = "Notebook failed to validate; the nbgrader metadata may be corrupted."
"""nbgrader's own message for a notebook that fails the check."""


class SchemaCheckedOnce(BaseMetadataValidator):
    """The schema-version and schema check of a cell, remembered for metadata that passed."""

    passed: set[str]

    def validate_cell(self, cell: NotebookNode) -> None:
        meta = cell.metadata.get("nbgrader")
        if meta is None:
            return
        key = json.dumps(meta, sort_keys=True, default=repr)
        if key in self.passed:
            return
        super().validate_cell(cell)
        self.passed.add(key)


class ReleasedMetadata(MetadataValidatorV3, SchemaCheckedOnce):
    """nbgrader's current validator; its schema step (``SchemaCheckedOnce``, next in the
    method order after ``MetadataValidatorV3``) remembers what passed. Safe to share between
    grading threads: the only state it changes is that set."""

    def __init__(self) -> None:
        super().__init__()
        self.passed = set()


class CheckReleasedMetadata(CheckCellMetadata):
    """``CheckCellMetadata`` validating with one :class:`ReleasedMetadata` per grader."""

    validator = AnyTrait()

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        try:
            self.validator.validate_nb(nb)
        except ValidationError as error:
            self.log.error("%s: %s", CORRUPTED, error)
            raise ValidationError(CORRUPTED) from error
        return nb, resources
