"""``aiclass audit verify|prune``: check the audit trail's hash chain; apply its retention."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta

from hub.audit.trail import COMMAND_LINE, prune, utc_now, verify
from hub.commands import add_actions, add_data_dir
from hub.db import ServiceDatabase
from hub.settings import load_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "audit", help="审计记录：校验哈希链、清理过期记录 / the audit trail: verify its hash "
                      "chain, prune expired rows")
    actions = add_actions(parser, "audit_action")
    check = actions.add_parser("verify", help="校验整条哈希链，报告第一个断开处（断开时退出码 "
                                              "1）/ check the whole chain and report its first "
                                              "broken link (exit status 1 if there is one)")
    add_data_dir(check)
    check.set_defaults(func=run_verify)
    expire = actions.add_parser("prune", help="删除超过 [privacy] audit_retention_days 的记录 / "
                                              "delete rows older than [privacy] "
                                              "audit_retention_days")
    add_data_dir(expire)
    expire.set_defaults(func=run_prune)


def run_verify(args: argparse.Namespace) -> int:
    database = ServiceDatabase(load_settings(args.data).database_url)
    try:
        with database.session() as session:
            result = verify(session)
    finally:
        database.engine.dispose()
    if result.intact:
        print(f"审计链完整 / the audit chain is intact: {result.rows_checked} 行已校验 / rows "
              "checked")
        return 0
    print(f"审计链在第 {result.first_broken_id} 行断开 / the audit chain is broken at row "
          f"{result.first_broken_id}: {result.reason} ({result.rows_checked} 行完好 / rows "
          "intact before it)", file=sys.stderr)
    return 1


def run_prune(args: argparse.Namespace) -> int:
    settings = load_settings(args.data)
    before = utc_now() - timedelta(days=settings.privacy.audit_retention_days)
    database = ServiceDatabase(settings.database_url)
    try:
        with database.session() as session:
            pruned = prune(session, before, source=COMMAND_LINE)
    finally:
        database.engine.dispose()
    print(f"已删除 {pruned} 行早于 {before:%Y-%m-%d} 的审计记录 / pruned {pruned} audit rows "
          f"older than {before:%Y-%m-%d}")
    return 0
