"""``aiclass up``: validate the settings, prepare the data dir, then become the hub.

Everything that can be wrong with the settings is found here, before JupyterHub,
the proxy or any server starts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from hub.commands import UsageError, add_data_dir
from hub.db import ServiceDatabase
from hub.org.demo import (
    ACCOUNTS_FILE_NAME,
    DemoAccount,
    seed_demo_region,
    write_accounts_file,
)
from hub.org.demo_activity import seed_demo_activity
from hub.org.first_admin import FIRST_ADMIN_USERNAME, create_first_admin
from hub.org.models import Person, Role
from hub.ports import check_ports_free
from hub.settings import (
    SETTINGS_FILE_NAME,
    Settings,
    SettingsError,
    default_settings_text,
    environment_for,
    load_settings,
)
from hub.upgrade import upgrade_databases

CONFIG_FILE = Path(__file__).resolve().parents[2] / "jupyterhub_config.py"
ROLE_NAMES = {Role.STUDENT: "学生 / student", Role.TEACHER: "教师 / teacher",
              Role.SCHOOL_ADMIN: "学校管理员 / school admin",
              Role.REGION_ADMIN: "区域管理员 / region admin"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "up", help="启动 hub / start the hub",
        description="启动 AI 课堂 hub / start the aiclass hub",
    )
    parser.add_argument("--mode", choices=("local", "docker"),
                        help="运行模式（覆盖设置文件）/ run mode (overrides the settings file)")
    parser.add_argument("--port", type=int, help="对外端口 / public port")
    add_data_dir(parser)
    parser.add_argument("--demo", action="store_true",
                        help="创建演示区域 / seed the demo region")
    parser.set_defaults(func=run)


def prepare_data_dir(data_dir: Path) -> None:
    """Create the data dir, private to the hub, with a commented settings file.

    Everything in it is the hub's alone (mode 700/600): the settings (a database
    password), the databases and their WAL files, the cookie secret, service tokens,
    the demo accounts and roster uploads. Servers see their own home and the lab
    profiles through their box's binds, which the hub makes as root, so nothing here
    needs to be open to others. Files an older version left readable are closed too;
    directories inside (homes, lab profiles) keep their modes behind the closed data dir.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    for entry in data_dir.iterdir():
        if entry.is_file() and not entry.is_symlink():
            entry.chmod(entry.stat().st_mode & 0o700)
    settings_file = data_dir / SETTINGS_FILE_NAME
    if not settings_file.exists():
        settings_file.write_text(default_settings_text(), encoding="utf-8")


def seed_demo(settings: Settings, database: ServiceDatabase, forced: bool
              ) -> tuple[Path | None, list[DemoAccount]]:
    """Seed the demo region when asked, or on first run; return the accounts file and the
    accounts to print for a visitor (none unless the region was seeded just now).

    Only a new region gets its weeks of activity (``[demo] activity``, local mode), so a
    restart never seeds anything twice. Docker mode leaves it out: its real grading would
    need the student image's containers before the hub is up.
    """
    with database.session() as session:
        first_run = session.query(Person).first() is None
        if not (forced or (first_run and settings.demo.seed_on_first_run)):
            return None, []
        accounts = seed_demo_region(session, settings.demo.students)
    path = settings.data_dir / ACCOUNTS_FILE_NAME
    if accounts is None:
        return path, []
    # Written before the activity too: should that fail, the region's accounts are there.
    write_accounts_file(path, accounts)
    showcase: list[DemoAccount] = []
    if settings.demo.activity and settings.hub.mode == "local":
        started = time.monotonic()
        activity = seed_demo_activity(database, settings.data_dir, accounts,
                                      datetime.now(UTC).replace(tzinfo=None))
        accounts += activity.accounts
        showcase = activity.showcase
        print(f"演示区域已生成 {activity.releases} 次作业发布、{activity.generated} 份已评分提交"
              f"（{activity.late} 份迟交，{activity.resubmitted} 份重交）、{activity.feedback} 份"
              f"反馈，{activity.queued_for_grading} 份正在由评分程序评分 / demo region seeded "
              f"with {activity.releases} releases, {activity.generated} graded submissions "
              f"({activity.late} late, {activity.resubmitted} resubmitted), "
              f"{activity.feedback} feedbacks, {activity.queued_for_grading} being graded by "
              f"the grader ({time.monotonic() - started:.0f} s)")
        write_accounts_file(path, accounts)
    return path, showcase


def print_showcase(accounts: list[DemoAccount]) -> None:
    """The accounts a visitor may try, one per role, with their initial passwords."""
    if not accounts:
        return
    print("可以登录的演示账号（首次登录须修改密码）/ demo accounts to sign in as (change the "
          "password at the first sign-in):")
    for account in accounts:
        role = ROLE_NAMES.get(account.role, account.role)
        print(f"  {role:<28} {account.username:<12} {account.password}")


def find_proxy() -> str | None:
    """configurable-http-proxy: the one installed beside this Python first, then PATH."""
    beside = Path(sys.prefix) / "bin" / "configurable-http-proxy"
    return str(beside) if beside.exists() else shutil.which("configurable-http-proxy")


def run(args: argparse.Namespace) -> int:
    # Every file the hub, its services and its proxy create is the owner's only: JupyterHub
    # makes its SQLite database and WAL with the umask it finds (0644 under 022).
    os.umask(0o077)
    overrides: dict[str, dict[str, object]] = {"hub": {}}
    if args.mode:
        overrides["hub"]["mode"] = args.mode
    if args.port:
        overrides["hub"]["port"] = args.port
    try:
        prepare_data_dir(args.data)
    except OSError as exc:
        raise SettingsError(f"{args.data}: 无法准备数据目录 / cannot prepare the data dir: "
                            f"{exc}") from exc
    settings = load_settings(args.data, overrides)
    if settings.hub.mode == "kubernetes":
        raise UsageError("kubernetes 模式的 hub 运行在集群中：请用 aiclass k8s up / in kubernetes "
                         "mode the hub runs in the cluster: use aiclass k8s up")
    check_ports_free(settings)
    proxy = find_proxy()
    if proxy is None:
        raise UsageError("找不到 configurable-http-proxy / configurable-http-proxy not found: "
                         "npm install -g configurable-http-proxy")
    upgraded = upgrade_databases(settings)
    if upgraded is not None:
        print(f"已备份后升级数据库 / databases upgraded after a backup: {upgraded.set_dir}")
    database = ServiceDatabase(settings.database_url)
    accounts, showcase = seed_demo(settings, database, args.demo)
    with database.session() as session:
        first_admin_password = create_first_admin(session)
    database.engine.dispose()
    print(f"AI 课堂 / aiclass: {settings.public_url}  (模式 / mode: {settings.hub.mode})")
    if accounts is not None:
        print(f"演示账号 / demo accounts: {accounts}")
        print_showcase(showcase)
    if first_admin_password is not None:
        print(f"区域管理员 / region admin: {FIRST_ADMIN_USERNAME}  初始密码 / initial password: "
              f"{first_admin_password}  （仅显示这一次，首次登录须修改 / shown this once, to be "
              "changed at the first sign-in)")
    sys.stdout.flush()
    env = {**os.environ, **environment_for(settings, overrides)}
    os.chdir(settings.data_dir)
    argv = [sys.executable, "-m", "jupyterhub", "-f", str(CONFIG_FILE),
            f"--ConfigurableHTTPProxy.command={proxy}"]
    os.execve(sys.executable, argv, env)
