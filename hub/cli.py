"""The ``aiclass`` command line: one entry point over the hub, grading and tools.

Help text is bilingual (Chinese first, then English) because teachers and center
admins read it; each subcommand lives in its own module under :mod:`hub.commands`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType

from hub.commands import assignments, grade, images, roster, up

COMMANDS: list[ModuleType] = [up, images, grade, assignments, roster]


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="aiclass",
        description="aiclass 区域人工智能课堂 / a regional AI classroom on JupyterHub",
    )
    subparsers = parser.add_subparsers(
        dest="command", metavar="命令/command", title="命令 / commands"
    )
    subparsers.required = True
    for module in COMMANDS:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``aiclass`` subcommand and return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
