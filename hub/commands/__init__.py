"""Subcommands of the ``aiclass`` command line, one module each.

Every module here exposes ``register(subparsers)``, which adds its parser and sets
``func`` on it; :mod:`hub.cli` lists them in :data:`hub.cli.COMMANDS`. A command
parses, calls the library and prints what it did; the errors it does not expect to
handle itself it lets through, and :mod:`hub.cli` turns each kind into one exit
status and message (:data:`hub.cli.EXIT_STATUS`), the same for every command.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hub.settings import default_data_dir

DEFAULT_DATA_DIR = default_data_dir()


class UsageError(Exception):
    """A command line that cannot work as given (an option out of range, a missing tool)."""


def add_actions(parser: argparse.ArgumentParser, dest: str) -> argparse._SubParsersAction:
    """The required second word of a command (``aiclass roster import``), stored in ``dest``."""
    actions = parser.add_subparsers(dest=dest, metavar="操作/action", title="操作 / actions")
    actions.required = True
    return actions


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    """The ``--data`` option: the data dir whose ``aiclass.toml`` the command reads."""
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR,
                        help=f"数据目录 / data dir (default: {DEFAULT_DATA_DIR})")
