"""The canary: cells appended to every notebook to check the kernel still tells the truth.

nbgrader scores a test cell by whether its output holds an error. Student code
can make a kernel swallow errors (patch ``showtraceback``, an AST transformer
that drops ``assert``, a custom exception handler, shadowed builtins). After
the notebook's own cells we run a failing ``assert`` shaped like a real test
with a fresh random message, and an integrity report comparing builtins and
IPython's shell with the snapshot :mod:`grading.sandbox.boot` took before any
student code ran. Any deviation flags the notebook ``tampered``.
"""

from __future__ import annotations

import json
import secrets

from nbformat.notebooknode import NotebookNode
from nbformat.v4 import new_code_cell

CANARY_TAG = "aiclass-canary"

INTEGRITY_CHECK = """\
import builtins as _aiclass_b, sys as _aiclass_s, json as _aiclass_j
_aiclass_r = _aiclass_s.modules["_aiclass_reference"]
_aiclass_bad = [n for n, v in _aiclass_r.builtins.items()
                if not n.startswith("_") and n not in _aiclass_r.volatile
                and getattr(_aiclass_b, n, None) is not v]
for _aiclass_c, _aiclass_d in _aiclass_r.shell_classes:
    _aiclass_bad += [_aiclass_c.__name__ + "." + n for n, v in _aiclass_d.items()
                     if callable(v) and _aiclass_c.__dict__.get(n) is not v]
_aiclass_bad += ["shell." + n for n, v in vars(get_ipython()).items()
                 if callable(v) and (_aiclass_r.shell.get(n, v) is not v or (
                     n not in _aiclass_r.shell
                     and any(n in d for _, d in _aiclass_r.shell_classes)))]
_aiclass_bad += ["ast_transformers"] if get_ipython().ast_transformers else []
_aiclass_bad += ["custom_exceptions"] if get_ipython().custom_exceptions else []
print("{marker}" + _aiclass_j.dumps(sorted(set(_aiclass_bad))))
"""


class Canary:
    """Appends the canary cells to a notebook, then strips them and judges their outputs."""

    def __init__(self) -> None:
        self.nonce = secrets.token_hex(8)
        self.marker = f"canary-{secrets.token_hex(8)}:"

    def append(self, nb: NotebookNode) -> None:
        left, right = secrets.randbelow(10**6), 10**6 + secrets.randbelow(10**6)
        failing = new_code_cell(f'assert {left} == {right}, "{self.nonce}"')
        integrity = new_code_cell(INTEGRITY_CHECK.replace("{marker}", self.marker))
        for cell in (failing, integrity):
            cell.metadata["tags"] = [CANARY_TAG]
            nb.cells.append(cell)

    def strip(self, nb: NotebookNode) -> list[NotebookNode]:
        canaries = [c for c in nb.cells if CANARY_TAG in c.metadata.get("tags", [])]
        nb.cells = [c for c in nb.cells if CANARY_TAG not in c.metadata.get("tags", [])]
        return canaries

    def tampered(self, canaries: list[NotebookNode]) -> list[str]:
        """What is wrong with the kernel, judged from the canary cells' outputs; empty if sound."""
        if len(canaries) != 2:
            return ["canary cells missing"]
        failing, integrity = canaries
        problems = []
        if not any(o.output_type == "error" and o.get("ename") == "AssertionError"
                   and self.nonce in o.get("evalue", "") for o in failing.get("outputs", [])):
            problems.append("failing assert did not fail")
        reports = [line[len(self.marker):] for o in integrity.get("outputs", [])
                   if o.output_type == "stream" and o.get("name") == "stdout"
                   for line in o.get("text", "").splitlines() if line.startswith(self.marker)]
        if len(reports) != 1:
            problems.append("integrity report missing")
        else:
            try:
                changed = json.loads(reports[0])
            except ValueError:
                changed = ["unreadable integrity report"]
            problems += [f"changed: {name}" for name in changed]
        return problems
