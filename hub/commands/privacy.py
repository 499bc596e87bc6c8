"""``aiclass privacy export|erase|retention``: a person's data on request, and over time."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from hub.commands import add_actions, add_data_dir
from hub.privacy import retention
from hub.privacy.erasure import erase_person
from hub.privacy.export import export_person
from hub.settings import load_settings

CONSOLE_SOURCE = "console"
"""The audit trail's source for requests carried out at the hub's console."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "privacy", help="导出或删除一个人的数据，清理离开者的数据 / export or erase one "
                        "person's data; remove what is kept of people who left",
    )
    actions = add_actions(parser, "privacy_action")
    export = actions.add_parser("export", help="把此人的全部数据导出为 zip / everything held "
                                               "about one person, as a zip")
    export.add_argument("username", metavar="USER", help="用户名 / username")
    export.add_argument("--out", type=Path, default=Path.cwd(),
                        help="zip 存放的文件夹 / folder for the zip (default: here)")
    export.add_argument("--with-names", action="store_true",
                        help="包含真实姓名 / include the real name")
    add_data_dir(export)
    export.set_defaults(func=run_export)
    erase = actions.add_parser("erase", help="从所有存储中删除此人的个人数据 / erase one "
                                             "person's personal data from every store")
    erase.add_argument("username", metavar="USER", help="用户名 / username")
    add_data_dir(erase)
    erase.set_defaults(func=run_erase)
    keep = actions.add_parser("retention", help="删除超过保留期限的离开者数据 / remove the "
                                                "data of people who left, past [privacy]'s "
                                                "periods")
    keep.add_argument("--dry-run", action="store_true",
                      help="只列出将删除的内容 / only list what would go")
    add_data_dir(keep)
    keep.set_defaults(func=run_retention)


def run_export(args: argparse.Namespace) -> int:
    os.umask(0o077)  # the zip holds a minor's work and grades
    summary = export_person(load_settings(args.data), args.username, args.out,
                            with_names=args.with_names, source=CONSOLE_SOURCE)
    print(f"{summary.path}: {summary.submissions} 次提交 / submissions, {summary.files} 个文件 "
          "/ files")
    return 0


def run_erase(args: argparse.Namespace) -> int:
    report = erase_person(load_settings(args.data), args.username, source=CONSOLE_SOURCE)
    print(f"{args.username}: {report.summary()}")
    return 0


def run_retention(args: argparse.Namespace) -> int:
    settings = load_settings(args.data)
    items = retention.would_remove(settings) if args.dry_run else retention.apply(settings)
    for item in items:
        print(item.line())
    verb = "将删除 / would remove" if args.dry_run else "已删除 / removed"
    print(f"{verb}: {len(items)}")
    return 0
