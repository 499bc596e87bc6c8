"""An nbgrader source assignment, generated once into a private course directory.

Grading needs what ``nbgrader generate_assignment`` records: each grade cell's
source (hidden tests included), checksum and points. We run nbgrader's own
converter (:mod:`grading.autograde.generate`) on a copy of the source in a
directory only the grader reads; the sandboxes never see it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader import utils as nbgrader_utils
from nbgrader.api import Gradebook, Notebook

from grading.autograde.generate import COURSE_ID, GenerateFailed, generate_assignment
from grading.autograde.locked import LockedCode, parse_cell, top_level_names

MAX_SUPPORT_BYTES = 64 * 1024 * 1024


class GradingError(RuntimeError):
    """Grading itself failed (bad source assignment, no sandbox), not a student's work."""


@dataclass(frozen=True)
class GradeCellSpec:
    """What the source assignment says about one graded cell."""

    grade_id: str
    max_score: float
    #: "auto": autograder tests; "manual": an answer a teacher grades (0 when left blank);
    #: "task": a task a teacher grades against the whole notebook (``results.KINDS``).
    kind: str


@dataclass
class NotebookSpec:
    """One notebook of the assignment: its graded cells and the release version's metadata."""

    name: str
    grade_cells: list[GradeCellSpec]
    release_metadata: dict[str, dict] = field(default_factory=dict)
    #: The release's nbformat cell id of each graded cell (absent before nbformat 4.5).
    release_ids: dict[str, str] = field(default_factory=dict)
    #: The source's locked code and answer names: what the grader keeps the teacher's.
    locked: LockedCode = field(default_factory=LockedCode)


class PreparedAssignment:
    """nbgrader's view of a source assignment, built with ``generate_assignment``."""

    def __init__(self, source_dir: Path | str, workdir: Path | str):
        self.source_dir = Path(source_dir).resolve()
        if not self.source_dir.is_dir():
            raise GradingError(f"找不到源作业目录 / source assignment not found: {self.source_dir}")
        sources = sorted(self.source_dir.glob("*.ipynb"))
        if not sources:
            raise GradingError(f"源作业中没有笔记本 / no notebooks in {self.source_dir}")
        for source in sources:
            _check_readable(source)
        self.assignment_id = self.source_dir.name
        course_dir = Path(workdir) / "course"
        try:
            generated = generate_assignment(self.source_dir, course_dir,
                                            self.assignment_id)
        except GenerateFailed as failed:
            raise GradingError(
                f"nbgrader 无法生成作业 {self.assignment_id} / nbgrader generate_assignment "
                f"failed for {self.assignment_id}:\n{failed.detail[-3000:]}"
            ) from failed
        self.db_url = generated.db_url
        self.release_dir = generated.release_dir
        self.notebooks = self._read_specs()
        self.support_files = self._support_files()

    def _read_specs(self) -> dict[str, NotebookSpec]:
        specs: dict[str, NotebookSpec] = {}
        with Gradebook(self.db_url, COURSE_ID) as gradebook:
            assignment = gradebook.find_assignment(self.assignment_id)
            for notebook in sorted(assignment.notebooks, key=lambda n: n.name):
                released = nbformat.read(self.release_dir / f"{notebook.name}.ipynb",
                                         as_version=4)
                order = [c.metadata.nbgrader["grade_id"] for c in released.cells
                         if "grade_id" in c.metadata.get("nbgrader", {})]
                # nbgrader's maxima count grade cells and task cells alike (Notebook.max_score).
                cells = {c.name: c for c in [*notebook.grade_cells, *notebook.task_cells]}
                specs[notebook.name] = NotebookSpec(
                    name=notebook.name,
                    grade_cells=[GradeCellSpec(name, float(cells[name].max_score),
                                               _kind(notebook, name))
                                 for name in order if name in cells],
                    release_metadata={
                        c.metadata.nbgrader["grade_id"]: dict(c.metadata.nbgrader)
                        for c in released.cells if "grade_id" in c.metadata.get("nbgrader", {})
                    },
                    release_ids={
                        c.metadata.nbgrader["grade_id"]: c.id
                        for c in released.cells
                        if "grade_id" in c.metadata.get("nbgrader", {}) and "id" in c
                    },
                    locked=self._locked_code(notebook.name),
                )
        return specs

    def _locked_code(self, notebook: str) -> LockedCode:
        """Locked code cells and answer names, read from the instructor's source notebook."""
        source = nbformat.read(self.source_dir / f"{notebook}.ipynb", as_version=4)
        cells, answers = [], set()
        for cell in source.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type != "code" or "grade_id" not in meta:
                continue
            if meta.get("solution"):
                tree = parse_cell(cell.source)
                answers |= top_level_names(tree) if tree is not None else set()
            elif meta.get("locked") or meta.get("grade"):
                cells.append((meta["grade_id"], cell.source))
        return LockedCode(tuple(cells), frozenset(answers))

    def _support_files(self) -> dict[str, bytes]:
        """Non-notebook files of the assignment; nbgrader copies them over the submission's."""
        files = {}
        total = 0
        for path in nbgrader_utils.find_all_files(str(self.source_dir), [".ipynb_checkpoints",
                                                                          "*.pyc", "__pycache__",
                                                                          "*.ipynb"]):
            relpath = str(Path(path).relative_to(self.source_dir))
            data = Path(path).read_bytes()
            total += len(data)
            if total > MAX_SUPPORT_BYTES:
                raise GradingError(f"作业数据文件过大 / assignment data files over "
                                   f"{MAX_SUPPORT_BYTES // 2**20} MiB")
            files[relpath] = data
        return files


def _check_readable(source: Path) -> None:
    """Refuse a source notebook nbformat cannot read, naming the file.

    nbgrader would stop on it too, but with a traceback that names neither the file nor
    the problem ("see the above traceback"); the teacher needs to know which notebook.
    """
    try:
        nbformat.read(source, as_version=4)
    except (OSError, ValueError, KeyError, AttributeError) as error:
        raise GradingError(f"源作业笔记本无法读取 / source notebook cannot be read: "
                           f"{source.name}: {error}") from error


def _kind(notebook: Notebook, name: str) -> str:
    """The kind of one graded cell of an nbgrader ``Notebook`` (see :class:`GradeCellSpec`)."""
    if name in {c.name for c in notebook.task_cells}:
        return "task"
    if name in {c.name for c in notebook.solution_cells}:
        return "manual"
    grade_cell = next(c for c in notebook.grade_cells if c.name == name)
    return "auto" if grade_cell.cell_type == "code" else "manual"
