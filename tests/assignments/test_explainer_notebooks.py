"""Every library notebook that uses an explainer runs top to bottom with plain nbclient.

The grader already runs them in its sandbox; this runs the instructor's version the way a
teacher previews it in JupyterLab (a normal kernel, the assignment folder as working dir),
so a broken explainer call shows up with its traceback instead of as a lost point.
"""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from hub.library import DEFAULT_ROOT, load_library

WITH_EXPLAINERS = [lesson for lesson in load_library(DEFAULT_ROOT) if lesson.explainers]


@pytest.mark.parametrize("lesson", WITH_EXPLAINERS, ids=[a.id for a in WITH_EXPLAINERS])
def test_explainer_notebook_runs_top_to_bottom(lesson):
    for path in lesson.notebooks:
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=lesson.time_budget_s, kernel_name="python3",
                                resources={"metadata": {"path": str(lesson.folder)}})
        client.execute()
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
                  if o.output_type == "error"]
        assert not errors, f"{path.name}: {errors[0]['ename']}: {errors[0]['evalue']}"
        sources = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        assert all(f'"{explainer}"' in sources for explainer in lesson.explainers), (
            f"{path.name} does not use every explainer its assignment.toml lists")
        widgets = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
                   if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
        assert widgets, f"{path.name} displays no explainer widget"
