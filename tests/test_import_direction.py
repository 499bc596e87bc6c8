"""Do imports run one way: ``grading`` ← ``hub`` ← ``hub.commands`` / ``hub.cli``?

The architecture promises that the grading library runs without a hub (``aiclass grade``, its
tests), that the extensions installed in students' servers carry neither, and that the command
line is a thin layer nothing else leans on. Each rule is checked over every module of the tree by
reading its import statements, so a new file cannot quietly break it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CLI_MODULES = ("hub.cli", "hub.commands")


def module_name(path: Path) -> str:
    """``hub/org/roster.py`` → ``hub.org.roster``; a package's ``__init__`` is the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> set[str]:
    """Every absolute module a file imports, at any depth (functions and ``TYPE_CHECKING`` too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def sources(*folders: str) -> list[Path]:
    return sorted(
        path
        for folder in folders
        for path in (ROOT / folder).rglob("*.py")
        if "node_modules" not in path.parts and "build" not in path.parts
    )


def offenders(files: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.name} imports {module}" if not path.is_relative_to(ROOT)
        else f"{path.relative_to(ROOT)} imports {module}"
        for path in files
        for module in sorted(imported_modules(path))
        if within(module, forbidden)
    ]


def test_the_rule_sees_a_forbidden_import(tmp_path: Path) -> None:
    """Would the check notice an upward import hidden inside a function?"""
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from hub.images import image_reference\n")
    assert offenders([sample], ("hub",)) == [
        "sample.py imports hub.images",
        "sample.py imports hub.images.image_reference",
    ]
    assert offenders([sample], ("grading",)) == []


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [
        ("grading", ("hub",)),
        ("extensions", ("hub", "grading")),
    ],
)
def test_lower_floors_do_not_import_upper_ones(folder: str, forbidden: tuple[str, ...]) -> None:
    """Does the grading library run without the hub, and do the extensions carry neither?"""
    assert offenders(sources(folder), forbidden) == []


def test_nothing_below_the_command_line_imports_it() -> None:
    """Is the command line a layer on top, that no library module reaches up into?"""
    below_cli = [p for p in sources("hub") if not within(module_name(p), CLI_MODULES)]
    assert below_cli, "hub/ has no modules below the command line"
    assert offenders(below_cli, CLI_MODULES) == []
