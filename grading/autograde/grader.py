"""Grade one submitted notebook: nbgrader's sanitizing and execution, in a sandbox.

The pipeline is nbgrader's own ``autograde`` pipeline, run preprocessor by
preprocessor (ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells,
CheckCellMetadata, then Execute, IgnorePattern, LimitOutput and nbgrader's
``determine_grade``), so honest work scores exactly as ``nbgrader autograde``
scores it. Around it we add what plain nbgrader lacks: flags for tampering
with cells and metadata, a sandboxed kernel, a cap on output, a deadline, and
the checks that the kernel told the truth, all made from outside it: the static
scan of the student's code, canaries beside the test cells and each cell's
``execute_reply`` status (``grading/README.md`` has the threat model).
"""

from __future__ import annotations

import copy
import re
import threading
import time
from pathlib import Path

import nbformat
from nbclient.exceptions import CellTimeoutError
from nbformat.notebooknode import NotebookNode
from nbgrader import utils as nbgrader_utils
from nbgrader.preprocessors import (
    ClearOutput,
    DeduplicateIds,
    Execute,
    IgnorePattern,
    LimitOutput,
    NbGraderPreprocessor,
    OverwriteCells,
    OverwriteKernelspec,
)
from traitlets import Any as AnyTrait
from traitlets import Integer

from grading.autograde.assignment import NotebookSpec, PreparedAssignment
from grading.autograde.canary import Canary
from grading.autograde.explain import graded_cells_by_id, lost_points_reason
from grading.autograde.locked import Restorer
from grading.autograde.metadata_check import CheckReleasedMetadata, ReleasedMetadata
from grading.autograde.results import CellResult, NotebookResult
from grading.autograde.scan import Finding, scan_submission
from grading.sandbox.base import WORK_DIR_INSIDE, SandboxError, WarmSandbox
from grading.sandbox.kernel import SandboxKernelManager
from grading.sandbox.limits import SandboxLimits

#: Error texts that mean the sandbox stopped something (file system or network).
DENIED_ERRORS = ("Read-only file system", "Permission denied", "Network is unreachable",
                 "Connection refused", "Temporary failure in name resolution",
                 "Name or service not known")
#: Where a submission may read and write inside its sandbox.
OWN_DIRS = (WORK_DIR_INSIDE + "/", "/tmp/")
#: nbgrader metadata that ``generate_assignment`` adds: absent in the instructor's source copy.
GENERATED_METADATA = ("checksum", "cell_type")
#: "[Errno 2] No such file or directory: '/some/path'" -> the path.
MISSING_PATH = re.compile(r"No such file or directory: '(/[^']*)'")


class RestoreGradeMetadata(NbGraderPreprocessor):
    """Put back the release's nbgrader metadata on every graded cell, and say what changed.

    nbgrader's OverwriteCells restores points, lock and source, but not e.g. a test
    cell re-marked as a solution; restoring the whole metadata first makes such a
    notebook grade as if untouched, and the changes become flags for the teacher.
    Edits no honest student makes in JupyterLab (the nbgrader metadata of a graded
    cell, the cell id of one) are also tampering evidence: ``grading/README.md``
    draws the line between those and an honest student's accidents.
    """

    spec = AnyTrait()

    def preprocess(self, nb, resources):
        spec: NotebookSpec = self.spec
        flags = resources.setdefault("aiclass_flags", [])
        evidence = resources.setdefault("aiclass_tamper_evidence", [])
        evidence += self._changed_ids(nb, spec)
        seen: dict[str, int] = {}
        for cell in nb.cells:
            if "nbgrader" not in cell.metadata:
                continue
            meta = cell.metadata["nbgrader"]
            grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
            released = spec.release_metadata.get(grade_id)
            if released is None:
                # Not a cell of this assignment: copied from another notebook, or forged.
                flags.append("metadata_changed")
                del cell.metadata["nbgrader"]
                continue
            seen[grade_id] = seen.get(grade_id, 0) + 1
            changed = sorted(k for k in {*meta, *released} if meta.get(k) != released.get(k)
                             and (k in meta or k not in GENERATED_METADATA))
            if changed:
                flags.append("metadata_changed")
                evidence.append(f"cell {grade_id}: nbgrader metadata changed "
                                f"({', '.join(changed)})")
            if released.get("locked") and cell.cell_type != released.get("cell_type"):
                # An answer cell's type flips at one key press ("y"/"m"); a locked one's not.
                flags.append("metadata_changed")
                evidence.append(f"cell {grade_id}: locked {released.get('cell_type')} cell "
                                f"turned into {cell.cell_type}")
            if seen[grade_id] == 1:
                cell.metadata["nbgrader"] = copy.deepcopy(released)
            else:
                del cell.metadata["nbgrader"]
        if any(count > 1 for count in seen.values()):
            flags.append("duplicate_cell")
        if any(g.grade_id not in seen for g in spec.grade_cells):
            flags.append("cell_missing")
        return nb, resources

    @staticmethod
    def _changed_ids(nb: NotebookNode, spec: NotebookSpec) -> list[str]:
        """Graded cells whose release cell id is gone or sits on another cell.

        A notebook saved without ids (nbformat before 4.5) is not evidence; a copy
        pasted beside the original is not either, as long as one cell with the
        grade id keeps the release's id.
        """
        if (nb.nbformat, nb.nbformat_minor) < (4, 5):
            return []
        grade_ids_on: dict[str | None, set] = {}  # cell id -> grade ids of cells with it
        ids_of: dict[str | None, set] = {}  # grade id -> cell ids of cells with it
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader")
            grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
            grade_ids_on.setdefault(cell.get("id"), set()).add(grade_id)
            ids_of.setdefault(grade_id, set()).add(cell.get("id"))
        evidence = []
        for grade_id, cell_id in spec.release_ids.items():
            if grade_id in ids_of and cell_id not in ids_of[grade_id]:
                evidence.append(f"cell {grade_id}: cell id changed from {cell_id}")
            if grade_ids_on.get(cell_id, {grade_id}) != {grade_id}:
                evidence.append(f"cell {grade_id}: its cell id {cell_id} is on another cell")
        return evidence


class SandboxedExecute(Execute):
    """nbgrader's Execute with a kernel in a sandbox and a cap on what it may print."""

    output_bytes = Integer(1024 * 1024)
    kill_output_bytes = Integer(32 * 1024 * 1024)
    sandbox = AnyTrait()

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.output_seen = 0
        self.truncated = False
        self.executed: set[int] = set()
        #: The kernel's own verdict per cell index: the ``execute_reply`` status.
        self.statuses: dict[int, str] = {}
        #: Cells whose reply said "error" while the kernel showed no error: a hidden failure.
        self.hidden_errors: set[int] = set()

    def output(self, outs, msg, display_id, cell_index):
        size = len(str(msg.get("content", "")))
        self.output_seen += size
        if self.output_seen > self.kill_output_bytes:
            self.sandbox.kill("output_truncated")
        if self.output_seen > self.output_bytes:
            self.truncated = True
            return None
        return super().output(outs, msg, display_id, cell_index)

    def on_cell_executed(self, **kwargs):
        index, status = kwargs["cell_index"], kwargs["execute_reply"]["content"]["status"]
        self.executed.add(index)
        self.statuses[index] = status
        if status == "error" and not any(o.output_type == "error"
                                         for o in kwargs["cell"].outputs):
            self.hidden_errors.add(index)
        super().on_cell_executed(**kwargs)

    def forget(self, removed: set[int]) -> None:
        """Renumber what was recorded after the cells at ``removed`` left the notebook."""
        def renumber(index: int) -> int:
            return index - sum(1 for r in removed if r < index)
        self.executed = {renumber(i) for i in self.executed if i not in removed}
        self.statuses = {renumber(i): s for i, s in self.statuses.items() if i not in removed}
        self.hidden_errors = {renumber(i) for i in self.hidden_errors if i not in removed}


class NotebookGrader:
    """Grades notebooks of one prepared assignment, each in a fresh sandbox."""

    def __init__(self, assignment: PreparedAssignment, limits: SandboxLimits | None = None):
        self.assignment = assignment
        self.limits = limits or SandboxLimits()
        self.metadata = ReleasedMetadata()

    def missing(self, notebook: str, flag: str = "notebook_missing") -> NotebookResult:
        """The result for a notebook the student did not hand in (or an unreadable one)."""
        spec = self.assignment.notebooks[notebook]
        reason = {"why": "flag", "flags": [flag]}
        result = NotebookResult(notebook, [
            CellResult(c.grade_id, 0.0, c.max_score, c.kind, reason if c.max_score else None)
            for c in spec.grade_cells])
        result.flag(flag)
        return result

    def grade(self, student: str, notebook: str, submission_dir: Path,
              sandbox: WarmSandbox) -> NotebookResult:
        """Grade ``submission_dir/<notebook>.ipynb`` in ``sandbox`` (used up either way)."""
        started = time.perf_counter()
        spec = self.assignment.notebooks[notebook]
        try:
            try:
                nb = nbformat.read(submission_dir / f"{notebook}.ipynb", as_version=4)
            except (OSError, ValueError, KeyError, AttributeError):
                return self.missing(notebook, "unreadable")
            resources = {
                "nbgrader": {"notebook": notebook, "assignment": self.assignment.assignment_id,
                             "student": student, "db_url": self.assignment.db_url},
                "metadata": {"path": str(submission_dir)},
            }
            nb, resources = self._sanitize(nb, resources, spec)
            result = self._execute(nb, resources, spec, submission_dir, sandbox)
        finally:
            sandbox.close()
        result.seconds = time.perf_counter() - started
        return result

    def _sanitize(self, nb: NotebookNode, resources: dict, spec: NotebookSpec):
        edited = self._locked_cells_edited(nb, spec)
        for preprocessor in (RestoreGradeMetadata(spec=spec), ClearOutput(), DeduplicateIds(),
                             OverwriteKernelspec(), OverwriteCells(),
                             CheckReleasedMetadata(validator=self.metadata)):
            nb, resources = preprocessor(nb, resources)
        if edited:
            resources["aiclass_flags"].append("cell_edited")
        return nb, resources

    def _locked_cells_edited(self, nb: NotebookNode, spec: NotebookSpec) -> bool:
        """Whether a locked cell's source differs from the release (OverwriteCells restores it)."""
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            released = spec.release_metadata.get(meta.get("grade_id")) if isinstance(
                meta, dict) else None
            if released and released.get("locked") and "checksum" in released:
                probe = copy.deepcopy(cell)
                probe.metadata["nbgrader"] = copy.deepcopy(released)
                if nbgrader_utils.compute_checksum(probe) != released["checksum"]:
                    return True
        return False

    def _files(self, submission_dir: Path) -> dict[str, bytes]:
        """The submission's own files, then the assignment's data files over them (as nbgrader)."""
        files: dict[str, bytes] = {}
        budget = self.limits.work_bytes // 2
        for path in sorted(submission_dir.rglob("*")):
            if path.is_file() and not path.is_symlink() and path.suffix != ".ipynb":
                size = path.stat().st_size
                if size > budget:
                    continue
                budget -= size
                files[str(path.relative_to(submission_dir))] = path.read_bytes()
        files.update(self.assignment.support_files)
        return files

    def _execute(self, nb: NotebookNode, resources: dict, spec: NotebookSpec,
                 submission_dir: Path, sandbox: WarmSandbox) -> NotebookResult:
        files = self._files(submission_dir)
        findings = self._scan(nb, files, spec)
        canary, restorer = Canary(), Restorer(spec.locked)
        graded_cells = len(nb.cells)
        restorer.insert(nb)
        canary.insert(nb)
        km = SandboxKernelManager(sandbox=sandbox, files=files, kernel_name="python3")
        executor = SandboxedExecute(
            sandbox=sandbox,
            timeout=self.limits.cell_timeout,
            output_bytes=self.limits.output_bytes,
            kill_output_bytes=self.limits.kill_output_bytes,
            startup_timeout=60,
        )
        deadline = threading.Timer(self.limits.wall_seconds, sandbox.kill, args=("timeout",))
        deadline.start()
        died = False
        try:
            nb, resources = executor.preprocess(nb, resources, km=km)
        except SandboxError:
            raise
        except CellTimeoutError:
            sandbox.kill("timeout")
            died = True
        except Exception:  # noqa: BLE001 - whatever the student's kernel made nbclient raise
            died = True
        finally:
            deadline.cancel()
            km.close_connections(executor.kc)
        canaries = canary.strip(nb)
        survivors = canary.survivors(canaries, executor.statuses, executor.hidden_errors)
        executor.forget(set(canaries))
        executor.forget(restorer.strip(nb))
        for preprocessor in (IgnorePattern(), LimitOutput(),
                             CheckReleasedMetadata(validator=self.metadata)):
            nb, resources = preprocessor(nb, resources)

        result = NotebookResult(spec.name, [])
        for flag in resources.get("aiclass_flags", []):
            result.flag(flag)
        if executor.truncated or sandbox.killed_for == "output_truncated":
            result.flag("output_truncated")
        if sandbox.killed_for == "timeout" or _has_error(nb, "CellTimeoutError"):
            result.flag("timeout")
        if sandbox.backend.out_of_memory(sandbox) or _has_error(nb, "MemoryError"):
            result.flag("memory_limit")
        if died and sandbox.killed_for is None:
            result.flag("kernel_died")
        if _sandbox_denied(nb):
            result.flag("sandbox_denied")
        evidence = list(resources.get("aiclass_tamper_evidence", []))
        evidence += [str(f) for f in findings]
        evidence += [f"canary beside cell {i} did not fail" for i in sorted(survivors)]
        evidence += [f"cell {i} failed without showing an error"
                     for i in sorted(executor.hidden_errors)]
        tampered = bool(evidence)
        if tampered:
            result.flag("tampered")
            # Kept with the graded notebook, which only teachers see.
            nb.metadata.setdefault("aiclass", {})["tamper_evidence"] = evidence

        scored = self._scores(nb, executor.executed, graded_cells, tampered or died)
        distrusted_by = list(result.flags) if tampered or died else []
        found = graded_cells_by_id(nb)
        for cell_spec in spec.grade_cells:
            # A task is graded by hand against the whole notebook: no autograder score.
            score = None if cell_spec.kind == "task" else scored.get(cell_spec.grade_id, 0.0)
            index, cell = found.get(cell_spec.grade_id, (None, None))
            reason = lost_points_reason(cell, score, cell_spec.max_score,
                                        index in executor.executed, distrusted_by)
            result.cells.append(CellResult(cell_spec.grade_id, score, cell_spec.max_score,
                                           cell_spec.kind, reason))
        result.executed = nb
        return result

    def _scan(self, nb: NotebookNode, files: dict[str, bytes],
              spec: NotebookSpec) -> list[Finding]:
        """The static scan of what the student wrote: unlocked code cells, own ``.py`` files."""
        cells = [(index, cell.source) for index, cell in enumerate(nb.cells)
                 if cell.cell_type == "code"
                 and not cell.metadata.get("nbgrader", {}).get("locked", False)]
        own = {path: data for path, data in files.items()
               if path not in self.assignment.support_files}
        return scan_submission(cells, own, spec.locked)

    def _scores(self, nb: NotebookNode, executed: set[int], graded_cells: int,
                distrust: bool) -> dict[str, float | None]:
        """nbgrader's ``determine_grade`` per graded cell; code not run scores nothing."""
        scores: dict[str, float | None] = {}
        for index, cell in enumerate(nb.cells[:graded_cells]):
            if not nbgrader_utils.is_grade(cell):
                continue
            grade_id = cell.metadata.nbgrader["grade_id"]
            score, _ = nbgrader_utils.determine_grade(cell)
            is_test = cell.cell_type == "code" and not nbgrader_utils.is_solution(cell)
            if is_test and (index not in executed or distrust):
                score = 0.0
            scores[grade_id] = None if score is None else float(score)
        return scores


def _error_outputs(nb: NotebookNode):
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                yield output


def _has_error(nb: NotebookNode, ename: str) -> bool:
    return any(o.get("ename") == ename for o in _error_outputs(nb))


def _sandbox_denied(nb: NotebookNode) -> bool:
    for output in _error_outputs(nb):
        text = f"{output.get('ename')}: {output.get('evalue')}"
        if any(marker in text for marker in DENIED_ERRORS):
            return True
        missing = MISSING_PATH.search(text)
        if missing and not missing.group(1).startswith(OWN_DIRS):
            return True
    return False
