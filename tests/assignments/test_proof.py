"""Proof that every lesson in ``assignments/`` is ready to release.

For each assignment found: nbgrader generates it; the instructor's solution, graded by the
project's grader in its (network-less) sandbox, gets full marks on every autograded cell; the
untouched student version gets zero there without a grader error; the Chinese text is intact.
Whether each notebook stays within its time budget is measured, not asserted: ``python -m
benchmarks assignments`` (a busy machine would make a bound here flaky).
"""

from __future__ import annotations

import json
import re

import matplotlib.font_manager as font_manager
import nbformat
import pytest

from tests.assignments.conftest import SOLUTION, UNTOUCHED, GradedAssignment

CJK = re.compile(r"[\u4e00-\u9fff]")
#: UTF-8 bytes read as Latin-1 or GBK turn into these: "ä¸", "å­", "ï¼", "锟斤拷"...
MOJIBAKE = re.compile(r"[\u00c2-\u00ef][\u0080-\u00bf]|\ufffd|锟斤拷")
CJK_FONT = "Noto Sans CJK SC"


def auto_cells(notebook: dict) -> list[dict]:
    return [cell for cell in notebook["cells"] if cell["kind"] == "auto"]


def test_generate_assignment_strips_solutions_and_hidden_tests(graded: GradedAssignment):
    released = sorted(p.name for p in graded.release_dir.glob("*.ipynb"))
    assert released == [p.name for p in graded.lesson.notebooks]
    for path in graded.release_dir.glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution"):
                assert "BEGIN SOLUTION" not in cell.source, f"{path.name}/{meta['grade_id']}"
            if meta.get("grade"):
                assert "BEGIN HIDDEN TESTS" not in cell.source, f"{path.name}/{meta['grade_id']}"


def test_solution_scores_full_marks(graded: GradedAssignment):
    student = graded.student(SOLUTION)
    # The instructor's copy differs from the release in its locked test cells (hidden tests),
    # which the grader reports as "cell_edited" and grades from the source anyway.
    assert set(student["flags"]) <= {"cell_edited"}, student["flags"]
    for notebook in student["notebooks"]:
        cells = auto_cells(notebook)
        assert cells, f"{notebook['notebook']} has no autograded cell"
        lost = {c["grade_id"]: c["reason"] for c in cells if c["score"] != c["max_score"]}
        assert not lost, (f"{graded.lesson.id}/{notebook['notebook']} in the {graded.sandbox} "
                          f"sandbox: solution loses {lost}")


def test_untouched_release_scores_zero_without_error(graded: GradedAssignment):
    student = graded.student(UNTOUCHED)
    assert student["flags"] == [], student["flags"]
    for notebook in student["notebooks"]:
        scored = [c["grade_id"] for c in auto_cells(notebook) if c["score"] != 0]
        assert not scored, f"{graded.lesson.id}/{notebook['notebook']}: blank scores on {scored}"
        manual = [c for c in notebook["cells"] if c["kind"] == "manual"]
        assert all(c["score"] in (None, 0) for c in manual)


def test_grading_design(graded: GradedAssignment):
    """Hidden tests, partial credit and a manually graded reflection with a rubric."""
    manual = 0
    for path in graded.lesson.notebooks:
        nb = nbformat.read(path, as_version=4)
        meta = [(c, c.metadata.get("nbgrader", {})) for c in nb.cells]
        tests = [c for c, m in meta if m.get("grade") and not m.get("solution")]
        answers = [c for c, m in meta if m.get("solution") and c.cell_type == "code"]
        assert len(tests) >= 2, f"{path.name}: partial credit needs several graded test cells"
        assert any("### BEGIN HIDDEN TESTS" in c.source for c in tests), f"{path.name}"
        assert answers, f"{path.name} has no coding task"
        for cell, m in meta:
            if m.get("grade") and m.get("solution"):
                manual += 1
                assert "### BEGIN SOLUTION" in cell.source, (
                    f"{path.name}/{m['grade_id']}: the rubric belongs in the teacher's version")
    assert manual >= 1, "every lesson needs a manually graded reflection"


def test_chinese_text_is_intact(lesson):
    """Is each notebook UTF-8 Chinese without mojibake, headed by the catalogue's own title and
    school band (read from ``assignment.toml``, so a notebook saved in the wrong encoding or
    swapped for another lesson's fails)?"""
    headings = []
    for path in lesson.notebooks:
        text = path.read_bytes().decode("utf-8")  # raises on anything but UTF-8
        cells = json.loads(text)["cells"]
        prose = "".join("".join(c["source"]) for c in cells)
        assert len(CJK.findall(prose)) >= 100, f"{path.name} is not written in Chinese"
        bad = MOJIBAKE.findall(prose)
        assert not bad, f"{path.name}: mojibake {bad[:5]}"
        heading = "".join(cells[0]["source"])
        assert lesson.band_zh in heading, f"{path.name}: heading without {lesson.band_zh}"
        headings.append("".join(CJK.findall(heading)))
    # The title's characters in order: a heading may quote a word the catalogue leaves plain.
    title = "".join(CJK.findall(lesson.title_zh))
    assert any(title in heading for heading in headings), (lesson.title_zh, headings)


def test_plot_labels_use_an_installed_cjk_font(lesson):
    for path in lesson.notebooks:
        nb = nbformat.read(path, as_version=4)
        code = [c.source for c in nb.cells if c.cell_type == "code"]
        if not any("matplotlib" in source for source in code):
            continue
        first = code[0]
        assert "font.sans-serif" in first and CJK_FONT in first, (
            f"{path.name}: set matplotlib's font.sans-serif to {CJK_FONT} in the first code cell")
    found = font_manager.findfont(CJK_FONT, fallback_to_default=False)
    assert "CJK" in found, f"{CJK_FONT} missing: install the Debian package fonts-noto-cjk"


@pytest.mark.parametrize("text", ["ä¸­æ–‡", "锟斤拷", "�"])
def test_mojibake_detector_catches_broken_text(text):
    assert MOJIBAKE.search(text)
