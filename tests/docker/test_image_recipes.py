"""The image builder's pure parts: mirrors from the host's APT sources, pip's target, tags.

No Docker engine needed; the images themselves are checked in test_student_image.py.
"""

from __future__ import annotations

from pathlib import Path

from hub.cli import build_parser
from hub.images import (
    BuildOptions,
    ImageBuilder,
    host_debian_mirrors,
    image_platforms,
    recipes,
)

DEB822 = """\
Types: deb
URIs: https://mirrors.tuna.tsinghua.edu.cn/debian/
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: https://mirrors.tuna.tsinghua.edu.cn/debian-security
Suites: bookworm-security
Components: main
"""
THIRD_PARTY = "deb [signed-by=/x.gpg] https://deb.nodesource.com/node_20.x nodistro main\n"


def test_mirrors_follow_the_hosts_apt_sources(tmp_path: Path) -> None:
    (tmp_path / "nodesource.list").write_text(THIRD_PARTY)
    (tmp_path / "debian.sources").write_text(DEB822)
    mirror, security = host_debian_mirrors(
        [tmp_path / "nodesource.list", tmp_path / "debian.sources"]
    )
    assert mirror == "https://mirrors.tuna.tsinghua.edu.cn/debian"
    assert security == "https://mirrors.tuna.tsinghua.edu.cn/debian-security"


def test_one_line_sources_and_defaults(tmp_path: Path) -> None:
    one_line = tmp_path / "sources.list"
    one_line.write_text("# comment\ndeb http://mirrors.ustc.edu.cn/debian bookworm main\n")
    assert host_debian_mirrors([one_line]) == (
        "http://mirrors.ustc.edu.cn/debian",
        "http://deb.debian.org/debian-security",
    )
    assert host_debian_mirrors([tmp_path / "missing"])[0] == "http://deb.debian.org/debian"


def test_wheels_are_chosen_for_the_images_python_not_the_hosts() -> None:
    builder = ImageBuilder(BuildOptions(version="9.9.9"))
    target = builder._pip_target()
    assert target[:7] == [
        "--only-binary=:all:",
        "--python-version",
        "3.11",
        "--implementation",
        "cp",
        "--abi",
        "cp311",
    ]
    assert "--index-url" not in target, "the user's pip configuration chooses the index"
    platforms = image_platforms()
    assert platforms[0] == "manylinux_2_36_x86_64"
    assert {"manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"} <= set(
        platforms
    )


def test_torch_builds_and_tags_per_image() -> None:
    options = BuildOptions(version="0.1.0", registry_prefix="registry.example.cn/")
    builder = ImageBuilder(options)
    every = recipes()
    assert builder.requirements(every["student"], [])[-1] == "torch==2.13.0+cpu"
    assert builder.requirements(every["student-gpu"], [])[-1] == "torch==2.13.0,!=2.13.0+cpu"
    assert every["student-gpu"].recipe == every["student"].recipe
    assert not every["student-gpu"].default
    assert options.tag("student") == "registry.example.cn/aiclass/student:0.1.0"
    assert "extensions/explainers" in every["student"].local_distributions


def test_cli_registers_images_build() -> None:
    args = build_parser().parse_args(["images", "build", "--gpu", "--only", "student"])
    assert args.gpu and args.only == ["student"]
