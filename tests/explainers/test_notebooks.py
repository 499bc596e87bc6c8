"""The explainers package's own tour runs top to bottom in a real kernel (nbclient), in a
scratch copy of its folder, and shows every explainer. (The library's notebooks that use
explainers run once, in ``tests/assignments/test_explainer_notebooks.py``.)"""

import shutil
from pathlib import Path

import aiclass_explainers as ax
import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[2]
TOUR = REPO / "extensions" / "explainers" / "examples" / "tour.ipynb"


def test_tour_shows_every_explainer(tmp_path):
    work = tmp_path / TOUR.parent.name
    shutil.copytree(TOUR.parent, work)
    node = nbformat.read(work / TOUR.name, as_version=4)
    NotebookClient(node, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(work)}}).execute()
    widgets = [o for cell in node.cells if cell.cell_type == "code" for o in cell.outputs
               if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(widgets) == len(ax.catalog())
