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

from grading.autograde.locked import LockedCode, global_bindings, import_targets, parse_cell

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
#: Comparison, truth and conversion methods that, answering the same whatever they are
#: given, make a result object pass any ``==`` test or any ``float(x) == 3.5``.
TRUTH_METHODS = frozenset({"__eq__", "__ne__", "__bool__", "__len__", "__contains__",
                           "__float__", "__int__", "__index__", "__round__", "__abs__",
                           "__array__", "__complex__", "__trunc__", "__floor__", "__ceil__"})
#: What a test reads to tell a builtin or numpy value from a class the student wrote.
DISGUISES = frozenset({"__module__", "__qualname__"})
#: ``globals()`` and friends may be read (``'x' in globals()``), never written through.
NAMESPACE_CALLS = frozenset({"globals", "locals", "vars"})
#: Read-only methods of a namespace dict.
NAMESPACE_READS = frozenset({"get", "keys", "items", "values", "copy"})
#: Configuration namespaces of libraries, set by honest code (``pd.options.display.x = 10``).
CONFIG_ATTRIBUTES = frozenset({"options", "rcParams"})


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
            elif name in DISGUISES:
                self.found.append(f"{name} assigned: a class disguised as a library's")
        self.generic_visit(node)


def _ignores_its_arguments(args: ast.arguments, body: list[ast.AST]) -> bool:
    """Whether a truth method's body never reads any of its parameters (``self`` included)."""
    params = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    params |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    read = {n.id for stmt in body for n in ast.walk(stmt) if isinstance(n, ast.Name)}
    return not params & read


class _LockedNamesVisitor(ast.NodeVisitor):
    """Writes that would make a locked cell's helper (or what it calls) the student's.

    ``modules`` are the names any import binds (the locked cells' and the student's), and
    names assigned from them (``m = np``); ``protected`` adds the locked helpers.
    """

    def __init__(self, locked: LockedCode, modules: set[str]) -> None:
        self.locked = locked
        self.helpers = locked.helpers
        self.protected = modules | self.helpers
        self.found: list[str] = []
        self.parents: dict[ast.AST, ast.AST] = {}

    def scan(self, tree: ast.Module, in_notebook: bool) -> list[str]:
        for parent in ast.walk(tree):
            for child in ast.iter_child_nodes(parent):
                self.parents[child] = parent
        # A ``.py`` file's own globals are its module's, not the notebook's.
        for name, _ in global_bindings(tree) if in_notebook else []:
            if name in self.helpers:
                self.found.append(f"rebinds {name}, which a locked cell defines")
        self.visit(tree)
        return self.found

    def _chain(self, node: ast.AST) -> tuple[str | None, list[str]]:
        """The root name of ``a.b.c`` (or of ``type(a).b``) and the attributes after it."""
        attrs: list[str] = []
        while isinstance(node, ast.Attribute):
            attrs.insert(0, node.attr)
            node = node.value
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id == "type":
            return "type()", attrs
        return (node.id if isinstance(node, ast.Name) else None), attrs

    def _patches(self, target: ast.AST) -> str | None:
        root, attrs = self._chain(target)
        if root is None or CONFIG_ATTRIBUTES & set(attrs):
            return None
        if root in self.protected or root == "type()" or "__class__" in attrs:
            return ".".join([root, *attrs])
        return None

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.ctx, (ast.Store, ast.Del)) and (patched := self._patches(node)):
            self.found.append(f"patches {patched}")
        elif node.attr in ("__dict__", "__setattr__", "__delattr__") and (
                self._chain(node.value)[0] in self.protected):
            self.found.append(f"patches {self._chain(node.value)[0]} through {node.attr}")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else None
        if name in ("setattr", "delattr") and node.args and (
                patched := self._patches(node.args[0])):
            self.found.append(f"patches {patched} with {name}")
        elif name == "vars" and node.args and self._chain(node.args[0])[0] in self.protected:
            self.found.append(f"patches {self._chain(node.args[0])[0]} through vars()")
        elif name in NAMESPACE_CALLS and not node.args and not self._reads_only(node):
            self.found.append(f"writes names through {name}()")
        self.generic_visit(node)

    def _reads_only(self, call: ast.Call) -> bool:
        parent = self.parents.get(call)
        if isinstance(parent, ast.Subscript):
            return isinstance(parent.ctx, ast.Load)
        if isinstance(parent, ast.Attribute):
            return parent.attr in NAMESPACE_READS
        return isinstance(parent, ast.Compare)


def _module_names(trees: list[ast.Module], locked: LockedCode) -> set[str]:
    """Names bound by any import, then names assigned from one (``m = np``, ``t = np.testing``)."""
    modules = set(locked.imports)
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                modules |= set(import_targets(node))
    assigns = [node for tree in trees for node in ast.walk(tree) if isinstance(node, ast.Assign)]
    grew = True
    while grew:
        grew = False
        for node in assigns:
            value = node.value
            while isinstance(value, ast.Attribute):
                value = value.value
            if isinstance(value, ast.Name) and value.id in modules:
                for target in node.targets:
                    if isinstance(target, ast.Name) and target.id not in modules:
                        modules.add(target.id)
                        grew = True
    return modules


def scan_source(source: str, locked: LockedCode | None = None,
                modules: set[str] | None = None, in_notebook: bool = True) -> list[str]:
    """What in one cell's (or file's) source reaches into the kernel or a locked helper."""
    tree = parse_cell(source)
    if tree is None:
        return []  # it cannot run either: the cell fails on its own
    visitor = _Visitor()
    visitor.visit(tree)
    found = visitor.found
    if locked is not None:
        found += _LockedNamesVisitor(locked, modules or set()).scan(tree, in_notebook)
    return sorted(set(found))


def scan_submission(cells: list[tuple[int, str]], files: dict[str, bytes],
                    locked: LockedCode | None = None) -> list[Finding]:
    """Scan the student's code cells (index, source) and submitted ``.py`` files.

    ``locked`` (from the source assignment) adds the checks that keep its helpers its own.
    """
    locked = locked or LockedCode()
    sources = [(f"cell {index}", source) for index, source in cells]
    sources += [(path, data.decode("utf-8", "replace"))
                for path, data in sorted(files.items()) if path.endswith(".py")]
    trees = [tree for _, source in sources if (tree := parse_cell(source)) is not None]
    modules = _module_names(trees, locked)
    return [Finding(where, what) for where, source in sources
            for what in scan_source(source, locked, modules, where.startswith("cell "))]
