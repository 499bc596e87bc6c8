"""``aiclass roster``: import a roster, print sign-in slips, reset a password.

``import`` checks every row before it changes anything, applies the file in one
transaction, then mirrors the organisation into the running hub (when the hub is not
running, its mirror service catches up as it starts).

Whoever runs it on the server can already write the databases, so the command acts for
the region (:data:`hub.org.grants.REGION_OPERATOR`): a narrower ``--as USER`` would be
a label, not a boundary. What can be narrowed is the *file*: ``--school`` checks a file
a school sent in by the rule of that school's admins (only its students and teachers),
so importing it for them grants nothing their own upload could not.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.orm import Session

from hub.audit.trail import COMMAND_LINE, record
from hub.commands import UsageError, add_actions, add_data_dir
from hub.db import ServiceDatabase
from hub.hub_api import HubUnreachable
from hub.org.grants import REGION_OPERATOR, Authority, Grantor
from hub.org.mirror import mirror_from_settings
from hub.org.models import School
from hub.org.password_reset import reset_password
from hub.org.roster import STAFF, apply_roster, read_tables
from hub.org.slips import TEMPLATES, issue_slips, write_slips
from hub.settings import Settings, SettingsError, load_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "roster", help="花名册：导入、登录条、重置密码 / roster: import, slips, passwords",
        description="管理区域花名册 / manage the region's roster",
    )
    actions = add_actions(parser, "roster_command")

    importing = actions.add_parser(
        "import", help="导入花名册（CSV 或 XLSX）/ import a roster (CSV or XLSX)",
        description="先检查每一行，有任何错误则不做任何修改 / every row is checked first; "
                    "any error means nothing changes",
    )
    importing.add_argument("files", nargs="+", type=Path, metavar="FILE",
                           help="花名册文件 / roster files")
    importing.add_argument("--dry-run", action="store_true",
                           help="只检查并显示将要做的修改 / check and show the changes only")
    importing.add_argument("--no-mirror", action="store_true",
                           help="不同步到 hub / do not mirror into the hub")
    importing.add_argument("--school", metavar="SCHOOL",
                           help="按该校学校管理员的权限检查：只能包含本校的学生和教师 / check "
                                "the file as that school's admin's: only its students and "
                                "teachers")
    importing.set_defaults(func=run_import)

    slips = actions.add_parser(
        "slips", help="打印一个班级的登录条 / print a class's sign-in slips",
        description="为尚未登录的学生生成初始密码，写出 CSV 和可打印的 HTML / issue initial "
                    "passwords to students who have not signed in; write CSV and printable HTML",
    )
    slips.add_argument("class_id", metavar="CLASS", help="班级代码 / class id")
    slips.add_argument("--out", type=Path, help="输出目录（默认 数据目录/slips）/ output dir "
                       "(default: <data>/slips)")
    slips.set_defaults(func=run_slips)

    reset = actions.add_parser(
        "reset-password", help="重置密码 / reset a password",
        description="生成新的初始密码；--by 指定代为操作的教师 / issue a new initial password; "
                    "--by names the teacher acting",
    )
    reset.add_argument("username", metavar="USER", help="用户名 / username")
    reset.add_argument("--by", metavar="TEACHER",
                       help="操作者（教师只能重置自己学生的密码）/ acting person (teachers may "
                            "reset their own students only)")
    reset.set_defaults(func=run_reset)

    template = actions.add_parser(
        "template", help="复制花名册模板 / copy the roster templates",
        description="复制 CSV 和 XLSX 模板 / copy the CSV and XLSX templates",
    )
    template.add_argument("--out", type=Path, default=Path("."),
                          help="输出目录 / output dir")
    template.set_defaults(func=run_template)

    for action in (importing, slips, reset):
        add_data_dir(action)


@contextmanager
def service_session(data: Path) -> Iterator[tuple[Settings, Session]]:
    """The settings of the data dir and a session on its service database.

    The session commits when the block succeeds; the database's connections are closed
    either way, since the command ends soon after.
    """
    if not (data / "aiclass.toml").exists() and not data.is_dir():
        raise SettingsError(f"{data}: 数据目录不存在 / no such data dir")
    settings = load_settings(data)
    database = ServiceDatabase(settings.database_url)
    try:
        with database.session() as session:
            yield settings, session
    finally:
        database.engine.dispose()


def run_import(args: argparse.Namespace) -> int:
    tables = read_tables(args.files)
    with service_session(args.data) as (settings, session):
        grantor = REGION_OPERATOR
        if args.school is not None:
            if session.get(School, args.school) is None:
                raise UsageError(f"--school：未知的学校“{args.school}” / --school: unknown "
                                 f"school “{args.school}”")
            grantor = Grantor(Authority.SCHOOL, args.school)
        trial = session.begin_nested()
        report = apply_roster(session, tables, settings.org.region_id, settings.org.region_name,
                              grantor=grantor, source=COMMAND_LINE)
        if args.dry_run:
            trial.rollback()
            print(f"试运行，未做修改 / dry run, nothing changed: {report.summary()}")
            return 0
    print(f"已导入 / imported: {report.summary()}")
    for class_id, usernames in sorted(report.new_accounts.items()):
        if class_id == STAFF:
            print(f"  教师和管理员新账号 / new staff accounts ({len(usernames)}) → aiclass "
                  f"roster reset-password USER: {' '.join(usernames[:20])}")
        else:
            print(f"  {class_id}: 新账号 {len(usernames)} 个 / {len(usernames)} new accounts → "
                  f"aiclass roster slips {class_id}")
    if args.no_mirror:
        return 0
    try:
        mirrored = mirror_from_settings(settings)
    except HubUnreachable as exc:
        # The hub is not running: its mirror service reconciles as it starts.
        print(f"未能同步到 hub（hub 启动后会自动同步）/ not mirrored into the hub (it "
              f"catches up when it starts): {exc}", file=sys.stderr)
        return 0
    print(f"已同步 / mirrored: {mirrored.summary()}")
    return 0


def run_slips(args: argparse.Namespace) -> int:
    with service_session(args.data) as (settings, session):
        school_class, slips = issue_slips(session, args.class_id, source=COMMAND_LINE)
        paths = write_slips(args.out or settings.data_dir / "slips", school_class.school,
                            school_class, slips, settings.public_url)
        for path in paths:
            record(session, actor="", action="export.made", school=school_class.school_id,
                   class_id=school_class.id, source=COMMAND_LINE,
                   detail={"file": path.name, "names": True})
    issued = sum(1 for slip in slips if slip.password)
    print(f"{len(slips)} 名学生，新初始密码 {issued} 个 / {len(slips)} students, {issued} new "
          f"initial passwords:")
    for path in paths:
        print(f"  {path}")
    return 0


def run_reset(args: argparse.Namespace) -> int:
    with service_session(args.data) as (_settings, session):
        password = reset_password(session, args.username, args.by, source=COMMAND_LINE)
    print(f"{args.username} 的新初始密码 / new initial password: {password}")
    return 0


def run_template(args: argparse.Namespace) -> int:
    args.out.mkdir(parents=True, exist_ok=True)
    for name in ("roster-template.csv", "roster-template.xlsx"):
        shutil.copyfile(TEMPLATES / name, args.out / name)
        print(args.out / name)
    return 0
