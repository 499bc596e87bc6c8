"""Every library notebook that uses an explainer, and the package's own tour, runs top to
bottom in a real kernel (nbclient), in a scratch copy of its folder."""

import shutil
import tomllib
from pathlib import Path

import aiclass_explainers as ax
import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[2]
TOUR = REPO / "extensions" / "explainers" / "examples" / "tour.ipynb"


def library_notebooks() -> list[tuple[Path, list[str], int]]:
    """(notebook, explainer ids, time budget) for assignments whose metadata lists explainers."""
    found = []
    for manifest in sorted((REPO / "assignments").glob("*/*/assignment.toml")):
        meta = tomllib.loads(manifest.read_text(encoding="utf-8"))
        if meta.get("explainers"):
            for notebook in sorted(manifest.parent.glob("*.ipynb")):
                found.append((notebook, list(meta["explainers"]),
                              int(meta.get("time_budget_s", 120))))
    return found


def run_copy(notebook: Path, tmp_path: Path, timeout: int) -> nbformat.NotebookNode:
    work = tmp_path / notebook.parent.name
    shutil.copytree(notebook.parent, work)
    node = nbformat.read(work / notebook.name, as_version=4)
    NotebookClient(node, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(work)}}).execute()
    return node


@pytest.mark.parametrize(
    ("notebook", "explainers", "budget"),
    [pytest.param(*case, id=case[0].parent.name) for case in library_notebooks()],
)
def test_library_notebook_runs_top_to_bottom(notebook, explainers, budget, tmp_path):
    ids = {entry.id for entry in ax.catalog()}
    assert set(explainers) <= ids, f"{notebook}: unknown explainer in assignment.toml"
    source = notebook.read_text(encoding="utf-8")
    assert "aiclass_explainers" in source, f"{notebook} lists explainers but never imports them"
    node = run_copy(notebook, tmp_path, timeout=max(300, 3 * budget))
    widgets = [o for cell in node.cells if cell.cell_type == "code" for o in cell.outputs
               if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert widgets, f"{notebook.name} showed no explainer widget"


def test_tour_shows_every_explainer(tmp_path):
    node = run_copy(TOUR, tmp_path, timeout=300)
    widgets = [o for cell in node.cells if cell.cell_type == "code" for o in cell.outputs
               if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(widgets) == len(ax.catalog())
