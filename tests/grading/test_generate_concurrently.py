"""Releases generating at once: nbgrader changes the working directory of the whole process."""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from grading.autograde.generate import generate_student_version

PS1 = Path(__file__).resolve().parents[2] / "benchmarks" / "fixtures" / "ps1"


def test_five_releases_at_once_all_generate(tmp_path: Path) -> None:
    """Do five threads generating student versions at once each get theirs (no release
    sent into another's removed temporary course, as ten teachers at one bell once were)?"""
    sources = []
    for index in range(5):
        source = tmp_path / f"source{index}"
        shutil.copytree(PS1, source)
        sources.append(source)
    with ThreadPoolExecutor(5) as pool:
        versions = list(pool.map(lambda source: generate_student_version(source, "ps1"), sources))
    for files in versions:
        assert sorted(files) == ["problem1.ipynb", "problem2.ipynb", "scores.csv"]
        solution_cells = [cell for cell in json.loads(files["problem1.ipynb"])["cells"]
                          if "### BEGIN SOLUTION" in "".join(cell["source"])]
        assert solution_cells == []
