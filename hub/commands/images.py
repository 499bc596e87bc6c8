"""``aiclass images build``: build the container images offline (the builder is ``hub.images``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from hub.images import ImageBuilder, build_options, recipes


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``aiclass images build``."""
    images = subparsers.add_parser(
        "images", help="容器镜像 / container images", description="容器镜像 / container images"
    )
    actions = images.add_subparsers(dest="images_command", metavar="操作/action")
    actions.required = True
    build = actions.add_parser(
        "build",
        help="离线构建镜像 / build the images offline",
        description=(
            "从 Debian 软件包和本地 wheel 仓库构建 base、student、hub、postgres 镜像 / "
            "build the base, student, hub and postgres images from Debian packages and a "
            "local wheelhouse"
        ),
    )
    build.add_argument(
        "--gpu",
        action="store_true",
        help="同时构建 CUDA 版 student-gpu（约 5 GB）/ also build the CUDA student-gpu (~5 GB)",
    )
    build.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        choices=list(recipes()),
        help="只构建指定镜像，可重复 / build only this image (repeatable)",
    )
    build.add_argument(
        "--data",
        type=Path,
        default=Path("aiclass-data"),
        help="数据目录，读取其中 aiclass.toml 的 [docker] 设置 / data dir whose aiclass.toml "
        "[docker] settings apply (default: ./aiclass-data)",
    )
    build.set_defaults(func=build_command)


def build_command(args: argparse.Namespace) -> int:
    """Entry point of ``aiclass images build``."""
    names = args.only or [r.name for r in recipes().values() if r.default]
    if args.gpu and "student-gpu" not in names:
        names.append("student-gpu")
    for tag in ImageBuilder(build_options(args.data)).build(names):
        print(tag)
    return 0
