"""The ``aiclass`` command line: one entry point over the hub, grading and tools.

Help text is bilingual (Chinese first, then English) because teachers and center
admins read it; each subcommand lives in its own module under :mod:`hub.commands`.
The errors a command lets through become an exit status here, by their type, from
one table (:data:`EXIT_STATUS`), so that a settings error is 2 and a bad roster is 1
whichever command met it, and no status depends on the wording of a message.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType

from grading.autograde.assignment import GradingError
from grading.sandbox import SandboxError
from hub.backup import BackupError
from hub.commands import (
    UsageError,
    assignments,
    audit,
    backup,
    grade,
    images,
    k8s,
    privacy,
    restore,
    roster,
    up,
)
from hub.hub_api import HubAPIError
from hub.images import ImageBuildError
from hub.kubernetes.deploy import DeployError
from hub.library import LibraryError
from hub.org.password_reset import ResetRefused
from hub.org.roster import RosterError
from hub.org.slips import UnknownClassError
from hub.privacy.refusal import ErasureIncomplete, PrivacyRefused
from hub.settings import SettingsError

COMMANDS: list[ModuleType] = [up, images, grade, assignments, roster, backup, restore, k8s,
                              privacy, audit]

EXIT_STATUS: tuple[tuple[type[Exception], int, str | None], ...] = (
    (SettingsError, 2, "设置错误 / settings error"),
    (UsageError, 2, "用法错误 / usage error"),
    (RosterError, 1, "花名册有问题，未做任何修改 / the roster has problems; nothing was "
                     "changed:\n"),
    (UnknownClassError, 1, None),
    (ResetRefused, 1, None),
    (LibraryError, 1, "作业库有错误 / library error"),
    (GradingError, 1, "批改失败 / grading failed"),
    (SandboxError, 1, "批改失败 / grading failed"),
    (ImageBuildError, 1, "镜像构建失败 / image build failed"),
    (BackupError, 1, "备份或恢复失败 / backup or restore failed"),
    (PrivacyRefused, 1, "个人数据请求被拒绝，未做任何修改 / the privacy request was refused; "
                        "nothing was changed"),
    (ErasureIncomplete, 1, "数据库中的数据已删除，其余未完成，请再运行一次 / the database part "
                           "is erased, the rest is not: run the erasure again"),
    (DeployError, 1, "Kubernetes 安装失败 / kubernetes install failed"),
    (HubAPIError, 3, "已导入，但未能同步到 hub / imported, but not mirrored into the hub"),
)
"""Each kind of error a command lets through: its exit status and what it was, in words.

The first row whose type matches wins; without words, the error's own message says
it all. 2 means the command could not start (its
settings or its command line); 1 that the work was refused or failed; 3 that the
roster was imported but the running hub refused the mirror.
"""


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


def exit_status(error: Exception) -> tuple[int, str] | None:
    """The exit status and the message for an error, or None for one no row names."""
    for kind, status, what in EXIT_STATUS:
        if isinstance(error, kind):
            if what is None:
                return status, f"aiclass: {error}"
            separator = "" if what.endswith("\n") else ": "
            return status, f"aiclass: {what}{separator}{error}"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``aiclass`` subcommand and return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except Exception as error:
        known = exit_status(error)
        if known is None:
            raise
        status, message = known
        print(message, file=sys.stderr)
        return status


if __name__ == "__main__":
    sys.exit(main())
