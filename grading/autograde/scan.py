"""A static scan of the student's own code for reaching into the kernel or the grader.

Whatever runs in the grading kernel can rewrite how later cells run (IPython's AST and
input transformers, ``pre_run_cell``/``post_run_cell`` callbacks, a patched
``run_cell``/``showtraceback``), replace modules in ``sys.modules``, walk frames and the
garbage collector, or leave the kernel early (``os._exit``, signals). None of that is
needed to solve a classroom exercise, so its mere presence in the student's cells or
submitted ``.py`` files is evidence: the notebook is flagged ``tampered`` for the teacher,
whether or not the trick worked. The scan reads code, it never runs it, so nothing in the
kernel can see or influence it. It catches the plain forms of these tricks; code built
at run time from strings is why ``exec``, ``eval``, ``compile``, ``__import__`` and
``getattr`` with a computed name count too. What still escapes it (e.g. code hidden in a
pickle the notebook loads) is left to the canaries (:mod:`grading.autograde.canary`) and
to tests that check types and values (``grading/README.md``).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from IPython.core.inputtransformer2 import TransformerManager

#: Attributes that only exist to drive the interpreter or IPython's shell.
KERNEL_ATTRIBUTES = frozenset({
    "ast_transformers", "input_transformers_cleanup", "input_transformers_post",
    "input_transformer_manager", "set_custom_exc", "custom_exceptions", "CustomTB",
    "showtraceback", "_showtraceback", "showsyntaxerror", "InteractiveTB", "SyntaxTB",
    "run_cell", "run_cell_async", "run_code", "run_ast_nodes", "should_run_async",
    "transform_cell", "transform_ast", "_getframe", "f_back", "f_globals", "f_locals",
    "f_builtins", "tb_frame", "gi_frame", "cr_frame", "get_objects", "get_referrers",
    "get_referents", "settrace", "setprofile", "meta_path", "path_hooks", "excepthook",
    "displayhook", "_exit", "__code__", "__globals__", "__builtins__", "__subclasses__",
})
#: Dotted names whose use changes the interpreter or ends the kernel behind the grader.
KERNEL_NAMES = frozenset({
    "sys.modules", "os.kill", "os.killpg", "os.abort", "os.fork", "os.forkpty",
    "inspect.currentframe", "inspect.stack", "inspect.getouterframes", "inspect.trace",
    "threading.settrace", "builtins",
})
#: Modules whose every use is kernel manipulation in a notebook.
KERNEL_MODULES = frozenset({"signal", "ctypes", "atexit", "faulthandler", "importlib",
                            "IPython.core.interactiveshell"})
#: Builtins that run code built from strings, which no scan can read.
DYNAMIC_CALLS = frozenset({"exec", "eval", "compile", "__import__", "breakpoint"})
#: IPython's events a callback can hook to run before or after every cell.
EVENT_NAMES = frozenset({"pre_run_cell", "post_run_cell", "pre_execute", "post_execute",
                         "shell_initialized"})
#: Comparison and truth methods that, answering the same whatever they are given,
#: make a result object pass any ``==`` test.
TRUTH_METHODS = frozenset({"__eq__", "__ne__", "__bool__", "__len__", "__contains__"})


@dataclass(frozen=True)
class Finding:
    """One piece of evidence: where (a cell index or a file) and what."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


class _Visitor(ast.NodeVisitor):
    def __init__(self) -> None:
        self.found: list[str] = []
        self.aliases: dict[str, str] = {}

    def _dotted(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            base = self._dotted(node.value)
            return None if base is None else f"{base}.{node.attr}"
        return None

    def _check_dotted(self, name: str | None) -> None:
        if name is None:
            return
        if any(name == n or name.startswith(n + ".") for n in KERNEL_NAMES):
            self.found.append(name)
        elif name.split(".")[0] in KERNEL_MODULES or any(
                name.startswith(m + ".") for m in KERNEL_MODULES):
            self.found.append(name)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.aliases[(alias.asname or alias.name).split(".")[0]] = (
                alias.name if alias.asname else alias.name.split(".")[0])
            self._check_dotted(alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            full = f"{node.module}.{alias.name}"
            self.aliases[alias.asname or alias.name] = full
            self._check_dotted(full)
            if alias.name in KERNEL_ATTRIBUTES:
                self.found.append(full)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in DYNAMIC_CALLS or node.id == "__builtins__":
            self.found.append(node.id)
        elif node.id in self.aliases:
            self._check_dotted(self.aliases[node.id])

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in KERNEL_ATTRIBUTES:
            self.found.append(f".{node.attr}")
        elif node.attr in ("register", "unregister") and isinstance(node.value, ast.Attribute) \
                and node.value.attr == "events":
            self.found.append(".events." + node.attr)
        self._check_dotted(self._dotted(node))
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if node.value in EVENT_NAMES:
            self.found.append(f"event {node.value!r}")

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("getattr", "setattr", "delattr") and (
                len(node.args) < 2 or not isinstance(node.args[1], ast.Constant)):
            self.found.append(f"{func.id} with a computed name")
        self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if node.name in TRUTH_METHODS and _ignores_its_arguments(node.args, node.body):
            self.found.append(f"{node.name} that answers the same whatever it is given")
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            name = target.id if isinstance(target, ast.Name) else (
                target.attr if isinstance(target, ast.Attribute) else None)
            if name in TRUTH_METHODS and not (
                    isinstance(node.value, ast.Lambda)
                    and not _ignores_its_arguments(node.value.args, [node.value.body])):
                self.found.append(f"{name} assigned")
        self.generic_visit(node)


def _ignores_its_arguments(args: ast.arguments, body: list[ast.AST]) -> bool:
    """Whether a truth method's body never reads any of its parameters (``self`` included)."""
    params = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    params |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    read = {n.id for stmt in body for n in ast.walk(stmt) if isinstance(n, ast.Name)}
    return not params & read


def scan_source(source: str) -> list[str]:
    """What in one cell's (or file's) source reaches into the kernel; empty if nothing."""
    try:
        python = TransformerManager().transform_cell(source)
        tree = ast.parse(python)
    except (SyntaxError, ValueError):
        return []  # it cannot run either: the cell fails on its own
    visitor = _Visitor()
    visitor.visit(tree)
    return sorted(set(visitor.found))


def scan_submission(cells: list[tuple[int, str]], files: dict[str, bytes]) -> list[Finding]:
    """Scan the student's code cells (index, source) and submitted ``.py`` files."""
    findings = [Finding(f"cell {index}", what) for index, source in cells
                for what in scan_source(source)]
    for path, data in sorted(files.items()):
        if path.endswith(".py"):
            findings += [Finding(path, what)
                         for what in scan_source(data.decode("utf-8", "replace"))]
    return findings
