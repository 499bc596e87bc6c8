"""``aiclass backup DEST``: one consistent backup set of the classroom, while it runs."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from hub.backup import backup, describe
from hub.commands import add_data_dir
from hub.settings import load_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "backup", help="备份数据库、作业文件、设置和学生主目录 / back up the databases, the "
                       "exchange files, the settings and the students' homes",
        description="在 DEST/sets/<时间>/ 写一份完整备份；内容块只复制 DEST/blobs 中没有的 / "
                    "write one complete set under DEST/sets/<time>/; blobs already in "
                    "DEST/blobs are not copied again",
    )
    parser.add_argument("destination", type=Path, metavar="DEST",
                        help="备份文件夹 / backup folder")
    add_data_dir(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Password hashes, grades and students' work: readable by the hub's user only, as in
    # the data dir (``aiclass up`` does the same).
    os.umask(0o077)
    print(describe(backup(load_settings(args.data), args.destination)))
    return 0
