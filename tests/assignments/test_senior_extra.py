"""Checks specific to the senior (高中) lessons, beyond the generic proof tests.

- The digits CNN of ``cnn-digits``, as the instructor's solution trains it, reaches the issue's
  97 % test accuracy for several seeds, so the graded 95 % threshold has a margin.
- Hidden tests and partial credit work in the real grader: a submission that hard-codes the
  visible answer of one step and skips another loses exactly those two cells.
- The Tang poem corpus of ``poem-ngram`` is clean: three fields a line, Chinese text with
  full-width punctuation, couplets of five- or seven-character lines, no duplicates.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest

from grading import grade_folder
from grading.sandbox.limits import SandboxLimits
from hub.library import DEFAULT_ROOT, parse_assignment
from tests.assignments.conftest import generate_release

SENIOR = DEFAULT_ROOT / "senior"


def solution_cells(notebook: Path) -> dict[str, str]:
    """Source of every nbgrader cell of an instructor notebook, by grade_id."""
    cells = nbformat.read(notebook, as_version=4).cells
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in cells
            if "nbgrader" in c.metadata}


def test_digits_cnn_reaches_97_percent_for_several_seeds(monkeypatch):
    """Accuracy only: the time is the benchmark's job (benchmarks/bench_cnn.py)."""
    monkeypatch.chdir(SENIOR / "cnn-digits")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    cells = solution_cells(SENIOR / "cnn-digits" / "cnn_digits.ipynb")
    namespace: dict = {}
    for grade_id in ("setup", "digits-cnn", "train-one-epoch", "evaluate", "train-model",
                     "hyperparameters"):
        exec(compile(cells[grade_id], f"cnn_digits.ipynb:{grade_id}", "exec"), namespace)
    torch = namespace["torch"]
    held_out = namespace["to_tensors"](namespace["X_test"], namespace["y_test"])
    assert len(held_out[0]) == 360, "the notebook holds out 20 % of the 1797 digits"
    accuracies = []
    for seed in (0, 1, 2):
        model, history, _ = namespace["train_model"](namespace["EPOCHS"],
                                                      namespace["LEARNING_RATE"], seed=seed)
        assert history[-1] < history[0] / 5, f"seed {seed}: the loss hardly fell: {history}"
        accuracies.append(namespace["evaluate"](model, *held_out))
    assert str(namespace["device"]) == ("cuda" if torch.cuda.is_available() else "cpu")
    assert min(accuracies) >= 0.97, f"held-out accuracy per seed: {accuracies}"


def fill_release(release: Path, source: Path, answers: dict[str, str]) -> None:
    """Answer every solution cell of ``release`` with the instructor's code or ``answers``."""
    for path in release.glob("*.ipynb"):
        instructor = solution_cells(source / path.name)
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution") and cell.cell_type == "code":
                cell.source = answers.get(meta["grade_id"], instructor[meta["grade_id"]])
        nbformat.write(nb, path)


HARD_CODED_XOR = '''
def xor_network(X):
    """Copies the visible test's expected output instead of building the network."""
    return np.array([0, 1, 1, 0])
'''

SKIPPED_MLP = '''
from sklearn.neural_network import MLPClassifier


def build_mlp():
    raise NotImplementedError()
'''


def test_hidden_tests_catch_a_hard_coded_answer_and_steps_earn_partial_credit(tmp_path):
    folder = SENIOR / "perceptron-neural-network"
    lesson = parse_assignment(folder / "assignment.toml")
    release = generate_release(lesson, tmp_path / "course")
    submission = tmp_path / "submitted" / "hard-coder" / folder.name
    shutil.copytree(release, submission)
    fill_release(submission, folder, {"xor-network": HARD_CODED_XOR, "build-mlp": SKIPPED_MLP})
    # The student sees only the visible part of the test, and the hard-coded answer passes it.
    visible = solution_cells(release / "perceptron.ipynb")["test-xor-network"]
    assert "HIDDEN" not in visible
    namespace = {"np": np, "X_logic": np.array([[0, 0], [0, 1], [1, 0], [1, 1]]),
                 "y_xor": np.array([0, 1, 1, 0])}
    exec(HARD_CODED_XOR, namespace)
    exec(visible, namespace)

    result = grade_folder(folder, tmp_path / "submitted", jobs=1, sandbox="local",
                          limits=SandboxLimits(wall_seconds=120, cell_timeout=120))

    (student,) = result["students"]
    assert student["flags"] == [], student["flags"]
    (notebook,) = student["notebooks"]
    auto = [c for c in notebook["cells"] if c["kind"] == "auto"]
    lost = {c["grade_id"] for c in auto if c["score"] != c["max_score"]}
    assert lost == {"test-xor-network", "test-mlp"}, lost
    earned = sum(c["score"] for c in auto)
    assert earned == sum(c["max_score"] for c in auto) - 4, earned


CLAUSE = re.compile(r"[，。？！]")
#: Poems whose lines are not all five or seven characters long, as the poets wrote them.
IRREGULAR = {("咏鹅", "骆宾王"), ("登幽州台歌", "陈子昂")}


def test_tang_poem_corpus_is_clean():
    path = SENIOR / "poem-ngram" / "tang_poems.txt"
    raw = path.read_bytes()
    lines = [line for line in raw.decode("utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    assert len(lines) >= 40, "a few dozen poems at least"
    seen = set()
    for number, line in enumerate(lines, start=1):
        fields = line.split("|")
        assert len(fields) == 3, f"line {number}: want 标题|作者|正文, got {line!r}"
        title, author, text = fields
        assert (title, author) not in seen, f"line {number}: {title} by {author} twice"
        seen.add((title, author))
        assert re.fullmatch(r"[\u4e00-\u9fff，。？！]+", text), f"line {number}: {text!r}"
        assert text.endswith("。"), f"line {number}: a poem ends with 。"
        clauses = [c for c in CLAUSE.split(text) if c]
        if (title, author) not in IRREGULAR:
            sizes = {len(c) for c in clauses}
            assert sizes in ({5}, {7}), f"line {number} ({title}): clause lengths {sizes}"
            assert len(clauses) >= 4 and len(clauses) % 2 == 0, (
                f"line {number} ({title}): {len(clauses)} lines, want couplets")


@pytest.mark.parametrize("notebook", sorted(SENIOR.glob("*/*.ipynb")), ids=lambda p: p.parent.name)
def test_senior_notebooks_need_no_network_or_downloads(notebook: Path):
    """Data ships offline: no URLs fetched, no torchvision, no model hubs."""
    code = "\n".join(c.source for c in nbformat.read(notebook, as_version=4).cells
                     if c.cell_type == "code")
    for forbidden in ("torchvision", "fetch_openml", "urlopen", "requests.", "http://",
                      "https://", "download", "huggingface"):
        assert forbidden not in code, f"{notebook.name} uses {forbidden}"
    for name in re.findall(r"[\"']([\w.-]+\.(?:txt|csv|json|npz))[\"']", code):
        assert (notebook.parent / name).is_file(), f"{notebook.name} reads missing {name}"
    assert os.path.getsize(notebook) < 200_000, "source notebooks are committed without outputs"
