"""Every library notebook that uses an explainer runs top to bottom with plain nbclient.

The grader already runs them in its sandbox; this runs the instructor's version the way a
teacher previews it in JupyterLab (a normal kernel, a scratch copy of the assignment folder
as working dir), so a broken explainer call shows up with its traceback instead of as a lost
point. The one run of each such notebook in the suite (the explainers' own tour runs in
``tests/explainers/test_notebooks.py``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import aiclass_explainers as ax
import nbformat
import pytest
from nbclient import NotebookClient

from hub.library import DEFAULT_ROOT, Assignment, load_library

WITH_EXPLAINERS = [lesson for lesson in load_library(DEFAULT_ROOT) if lesson.explainers]


def run_copy(lesson: Assignment, notebook: Path, tmp_path: Path) -> nbformat.NotebookNode:
    """Execute ``notebook`` in a copy of its folder (a lesson may write files next to it).

    The timeout is a generous multiple of the lesson's budget: the budget is measured by
    ``python -m benchmarks assignments``; here it only stops a hung kernel.
    """
    work = tmp_path / lesson.folder.name
    shutil.copytree(lesson.folder, work)
    node = nbformat.read(work / notebook.name, as_version=4)
    NotebookClient(node, timeout=max(300, 3 * lesson.time_budget_s), kernel_name="python3",
                   resources={"metadata": {"path": str(work)}}).execute()
    return node


@pytest.mark.parametrize("lesson", WITH_EXPLAINERS, ids=[a.id for a in WITH_EXPLAINERS])
def test_explainer_notebook_runs_top_to_bottom(lesson: Assignment, tmp_path: Path) -> None:
    known = {entry.id for entry in ax.catalog()}
    assert set(lesson.explainers) <= known, f"{lesson.id}: unknown explainer in assignment.toml"
    for path in lesson.notebooks:
        assert "aiclass_explainers" in path.read_text(encoding="utf-8"), (
            f"{path.name} lists explainers but never imports them")
        nb = run_copy(lesson, path, tmp_path)
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
                  if o.output_type == "error"]
        assert not errors, f"{path.name}: {errors[0]['ename']}: {errors[0]['evalue']}"
        sources = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        assert all(f'"{explainer}"' in sources for explainer in lesson.explainers), (
            f"{path.name} does not use every explainer its assignment.toml lists")
        widgets = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
                   if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
        assert widgets, f"{path.name} displays no explainer widget"
