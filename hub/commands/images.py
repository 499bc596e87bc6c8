"""``aiclass images build`` and ``lock``: the images, offline (the builder is ``hub.images``)."""

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
    lock = actions.add_parser(
        "lock",
        help="重新解析并写入镜像的依赖锁 / re-resolve and write the images' locks",
        description=(
            "为镜像重新解析依赖，写入 images/locks/<镜像>.txt（每个 wheel 的版本和 sha256）；"
            "构建只安装锁中的 wheel，解析结果与锁不符时拒绝构建。审阅后提交 / "
            "resolve each image's wheels afresh and write images/locks/<image>.txt (every "
            "wheel's version and sha256); builds install only what the lock lists and refuse "
            "when a resolution drifts from it. Review and commit the result"
        ),
    )
    lock.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        choices=[r.name for r in recipes().values() if r.extras or r.local_distributions],
        help="只锁定指定镜像，可重复（默认：默认构建的镜像）/ lock only this image (repeatable; "
        "default: the images built by default)",
    )
    lock.add_argument(
        "--data",
        type=Path,
        default=Path("aiclass-data"),
        help="数据目录，读取其中 aiclass.toml 的 [docker] 设置（torch 版本）/ data dir whose "
        "aiclass.toml [docker] settings (the torch builds) apply (default: ./aiclass-data)",
    )
    lock.set_defaults(func=lock_command)


def build_command(args: argparse.Namespace) -> int:
    """Entry point of ``aiclass images build``."""
    names = args.only or [r.name for r in recipes().values() if r.default]
    if args.gpu and "student-gpu" not in names:
        names.append("student-gpu")
    for tag in ImageBuilder(build_options(args.data)).build(names):
        print(tag)
    return 0


def lock_command(args: argparse.Namespace) -> int:
    """Entry point of ``aiclass images lock``."""
    every = recipes()
    names = args.only or [
        r.name for r in every.values() if r.default and (r.extras or r.local_distributions)
    ]
    builder = ImageBuilder(build_options(args.data))
    for name in names:
        print(builder.lock(every[name]))
    return 0
