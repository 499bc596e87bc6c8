"""``aiclass restore SRC``: check a backup set, then restore it onto an empty data dir."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from hub.backup import describe, restore
from hub.commands import add_data_dir


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "restore", help="把备份恢复到空的数据目录 / restore a backup onto an empty data dir",
        description="先校验备份中每个文件的 SHA-256，损坏则拒绝且不做任何修改；数据库恢复到"
                    "备份中设置文件所指的（空）数据库 / every file's SHA-256 is checked first "
                    "and a damaged backup is refused with nothing changed; the databases go "
                    "where the backed-up settings file points (they must be empty)",
    )
    parser.add_argument("source", type=Path, metavar="SRC",
                        help="备份文件夹（取最新一份）或其中的一份 / backup folder (its newest "
                             "set) or one set in it")
    add_data_dir(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Password hashes, grades and students' work: readable by the hub's user only, as in
    # the data dir (``aiclass up`` does the same).
    os.umask(0o077)
    print(describe(restore(args.source, args.data)))
    return 0
