"""``aiclass k8s values`` and ``up``: kubernetes mode on the Zero to JupyterHub chart."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hub.commands import DEFAULT_DATA_DIR, add_actions
from hub.kubernetes.deploy import install
from hub.kubernetes.values import values_yaml
from hub.settings import SETTINGS_FILE_NAME

DEFAULT_SETTINGS = DEFAULT_DATA_DIR / SETTINGS_FILE_NAME


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``aiclass k8s values`` and ``aiclass k8s up``."""
    k8s = subparsers.add_parser(
        "k8s", help="Kubernetes 模式 / kubernetes mode",
        description="在 Kubernetes 上经 Zero to JupyterHub chart 4.4.0 运行 / run on Kubernetes "
                    "through the Zero to JupyterHub chart 4.4.0")
    actions = add_actions(k8s, "k8s_command")
    values = actions.add_parser(
        "values", help="输出 chart 的 values.yaml / print the chart's values.yaml",
        description="由设置文件生成 chart 的 values（写到标准输出）/ the chart's values from the "
                    "settings file, on standard output")
    add_settings_file(values)
    values.set_defaults(func=values_command)
    up = actions.add_parser(
        "up", help="安装或升级到 KUBECONFIG 的集群 / install or upgrade on KUBECONFIG's cluster",
        description="创建 hub 的 Secret，然后 helm upgrade --install（集群由 $KUBECONFIG 指定）/ "
                    "apply the hub's Secret, then helm upgrade --install on the cluster "
                    "$KUBECONFIG names")
    add_settings_file(up)
    up.add_argument("--chart", help="本地 chart 目录；默认从 JupyterHub 的仓库取 4.4.0 / a local "
                    "chart directory; default: 4.4.0 from JupyterHub's repository")
    up.add_argument("--values-out", type=Path, default=Path("aiclass-values.yaml"),
                    help="写入 values 的文件 / where the values are written "
                    "(default: ./aiclass-values.yaml)")
    up.set_defaults(func=up_command)


def add_settings_file(parser: argparse.ArgumentParser) -> None:
    """The ``--settings`` option."""
    parser.add_argument("--settings", type=Path, default=DEFAULT_SETTINGS,
                        help=f"设置文件 / settings file (default: {DEFAULT_SETTINGS})")


def values_command(args: argparse.Namespace) -> int:
    sys.stdout.write(values_yaml(args.settings))
    return 0


def up_command(args: argparse.Namespace) -> int:
    settings = install(args.settings, args.chart, args.values_out)
    print(f"已安装 / installed: release {settings.kubernetes.release} in namespace "
          f"{settings.kubernetes.namespace} (values: {args.values_out})")
    return 0
