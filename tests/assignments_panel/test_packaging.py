"""The panel's wheel carries its prebuilt JavaScript where JupyterLab finds it, enabled.

The student image installs this wheel from the build context (``hub/images.py``), with no npm;
the venv links the same committed files (``make lab-panel-links``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import aiclass_assignments

PACKAGE = Path(aiclass_assignments.__file__).parents[1]
DATA = "aiclass_assignments-0.1.0.data/data/"


def test_the_wheel_installs_the_built_panel_and_enables_its_server_side(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(tmp_path), str(PACKAGE)], check=True)
    (wheel,) = tmp_path.glob("aiclass_assignments-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        config = json.loads(archive.read(
            f"{DATA}etc/jupyter/jupyter_server_config.d/aiclass_assignments.json"))
        shipped = json.loads(archive.read(
            f"{DATA}share/jupyter/labextensions/@aiclass/assignments/package.json"))
    built = aiclass_assignments.labextension_dir()
    assert config == {"ServerApp": {"jpserver_extensions": {"aiclass_assignments": True}}}
    assert shipped["name"] == "@aiclass/assignments"
    entry = shipped["jupyterlab"]["_build"]["load"]  # static/remoteEntry.<hash>.js
    assert (built / entry).is_file()
    for path in (built / "static").iterdir():
        assert f"{DATA}share/jupyter/labextensions/@aiclass/assignments/static/{path.name}" \
            in names


def test_the_panel_server_side_imports_no_nbgrader() -> None:
    """A lab that opens lists the homework without nbgrader's 0.7 s of imports."""
    code = ("import sys, aiclass_assignments, aiclass_assignments.handlers; "
            "print(sorted(m for m in sys.modules if m.startswith('nbgrader')))")
    loaded = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                            text=True).stdout.strip()
    assert loaded == "[]"
