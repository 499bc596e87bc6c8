"""What the assignment's locked cells define, and how the grader keeps it theirs.

A hidden test often calls a helper that a read-only cell (or an earlier test cell)
defined: ``assert check_path(MAZE, path)``. Every cell runs in one namespace, so a
student's later cell can rebind that helper (``def check_path(*a): return True``,
``globals()['check_path'] = ...``) or patch what it calls, and the test then trusts a
function the student wrote. Two defences, both built from the *source* assignment
(never from the submission):

* **Restore cells** (:class:`Restorer`): right before each test cell the grader runs a
  cell of its own that re-executes the imports and plain ``def`` statements of every
  locked cell above it, and removes global names that shadow a builtin the locked code
  reads (``abs = lambda x: 1``). Whatever the student rebound, the test calls the
  teacher's code. They are stripped from the graded notebook, as canaries are.
* **The static scan** (:mod:`grading.autograde.scan`) gets :class:`LockedCode` to flag
  the student's rebinding of a locked helper, writes through ``globals()``, and patches
  to module attributes, as evidence for the teacher.

What is not restored, and why: assignments (``MAZE = [...]``, ``model = train()``) may
be expensive or be state the exercise asks the student to change, and re-created
classes would no longer match instances made earlier (``isinstance``, dataclass
``==``); names an answer cell of the instructor's solution defines are the student's to
define. ``grading/README.md`` has the whole threat model.
"""

from __future__ import annotations

import ast
import builtins
import textwrap
import threading
from dataclasses import dataclass
from functools import cached_property

from IPython.core.inputtransformer2 import TransformerManager
from nbformat.notebooknode import NotebookNode
from nbformat.v4 import new_code_cell

from grading.autograde.canary import is_test_cell

RESTORE_TAG = "aiclass-restore"
#: What a restore cell re-runs: cheap, without side effects, and it makes fresh objects.
DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef)
BUILTIN_NAMES = frozenset(dir(builtins))
_PARSING = threading.Lock()
"""One ``ast.parse`` at a time: CPython 3.11's parser keeps its recursion depth in shared
state, and two grading threads parsing at once fail with "AST constructor recursion depth
mismatch" (seen under parallel grading)."""


def parse_cell(source: str) -> ast.Module | None:
    """A code cell's Python (magics translated by IPython), or None if it does not parse."""
    try:
        with _PARSING:
            return ast.parse(TransformerManager().transform_cell(source))
    except (SyntaxError, ValueError):
        return None


def import_targets(node: ast.Import | ast.ImportFrom) -> dict[str, str]:
    """The names an import binds, each with what it binds it to (``np`` -> ``numpy``)."""
    if isinstance(node, ast.Import):
        return {alias.asname or alias.name.split(".")[0]:
                alias.name if alias.asname else alias.name.split(".")[0]
                for alias in node.names}
    module = "." * node.level + (node.module or "")
    return {alias.asname or alias.name: f"{module}.{alias.name}" for alias in node.names
            if alias.name != "*"}


def top_level_names(tree: ast.Module) -> set[str]:
    """Every name a cell binds in the notebook's namespace (its own functions' locals aside)."""
    return {name for name, _ in global_bindings(tree)}


def global_bindings(tree: ast.AST) -> list[tuple[str, ast.AST]]:
    """(name, node) for each binding of a global name: at module level, or ``global`` inside."""
    found: list[tuple[str, ast.AST]] = []

    def walk(node: ast.AST, declared: set[str] | None) -> None:
        def binds(name: str) -> bool:
            return declared is None or name in declared

        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if binds(child.name):
                    found.append((child.name, child))
                inner = {n for g in ast.walk(child) if isinstance(g, ast.Global) for n in g.names}
                walk(child, inner)
            elif isinstance(child, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                                    ast.GeneratorExp)):
                walk(child, set())
            else:
                if isinstance(child, ast.Name) and isinstance(child.ctx, (ast.Store, ast.Del)) \
                        and binds(child.id):
                    found.append((child.id, child))
                elif isinstance(child, (ast.Import, ast.ImportFrom)):
                    found.extend((name, child) for name in import_targets(child) if binds(name))
                walk(child, declared)

    walk(tree, None)
    return found


@dataclass(frozen=True)
class LockedCode:
    """The locked code cells of one notebook of the source assignment, in notebook order."""

    #: (grade_id, source) of each locked code cell: read-only cells and test cells.
    cells: tuple[tuple[str, str], ...] = ()
    #: Names the instructor's answer cells bind: the student's to define, never restored.
    answer_names: frozenset[str] = frozenset()

    def _trees(self) -> list[tuple[str, ast.Module]]:
        return [(grade_id, tree) for grade_id, source in self.cells
                if (tree := parse_cell(source)) is not None]

    @cached_property
    def helpers(self) -> frozenset[str]:
        """Names a locked cell binds with ``def`` or ``class``: the teacher's, not the student's.

        Imported names are left out: ``import aiclass_explainers as ax`` must not make an
        honest ``fig, ax = plt.subplots()`` evidence, and the restore cells import them anew.
        """
        return frozenset({stmt.name for _, tree in self._trees() for stmt in tree.body
                          if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef,
                                               ast.ClassDef))} - self.answer_names)

    @cached_property
    def imports(self) -> dict[str, str]:
        """Name -> module path of each locked import: names the scan treats as modules."""
        found: dict[str, str] = {}
        for _, tree in self._trees():
            for node in ast.walk(tree):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    found.update(import_targets(node))
        return found

    def restore_source(self, before: str) -> str:
        """The restore cell for the test cell ``before``: its locked predecessors' definitions."""
        trees = self._trees()
        ids = [grade_id for grade_id, _ in trees]
        above = trees[:ids.index(before)] if before in ids else trees
        bound: set[str] = set(self.answer_names)
        read: set[str] = set()
        for _, tree in trees[:len(above) + 1]:
            bound |= top_level_names(tree)
            read |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
                     and isinstance(n.ctx, ast.Load)}
        # A bare ``except`` looks up no name the student could have rebound.
        lines = [f"try:\n    del {name}\nexcept:\n    pass"
                 for name in sorted(read & BUILTIN_NAMES - bound) if not name.startswith("__")]
        lines += [f"try:\n{textwrap.indent(ast.unparse(stmt), '    ')}\nexcept:\n    pass"
                  for _, tree in above for stmt in _definitions(tree, self)]
        return "\n".join(lines)


def _definitions(tree: ast.Module, locked: LockedCode) -> list[ast.stmt]:
    kept = []
    for stmt in tree.body:
        if not isinstance(stmt, DEFINITIONS) or getattr(stmt, "decorator_list", []):
            continue  # a decorator may display or register something: not re-run
        if isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__":
            continue
        names = top_level_names(ast.Module(body=[stmt], type_ignores=[]))
        if names and not names & locked.answer_names:
            kept.append(stmt)
    return kept


class Restorer:
    """Puts a restore cell before every test cell, then takes them out again."""

    def __init__(self, locked: LockedCode):
        self.locked = locked

    def insert(self, nb: NotebookNode) -> None:
        """Add the restore cells (tagged in metadata, which the kernel never receives)."""
        cells = []
        for cell in nb.cells:
            if is_test_cell(cell):
                source = self.locked.restore_source(cell.metadata.nbgrader["grade_id"])
                if source:
                    restore = new_code_cell(source, metadata={"tags": [RESTORE_TAG]})
                    restore.pop("id", None)
                    cells.append(restore)
            cells.append(cell)
        nb.cells = cells

    @staticmethod
    def strip(nb: NotebookNode) -> set[int]:
        """Remove the restore cells; return their indices at run time."""
        removed = {i for i, c in enumerate(nb.cells)
                   if RESTORE_TAG in c.metadata.get("tags", [])}
        nb.cells = [c for i, c in enumerate(nb.cells) if i not in removed]
        return removed
