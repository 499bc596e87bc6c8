"""``aiclass assignments list``: the assignment library's catalogue, in Chinese first.

Teachers choose lessons by school stage; the table shows what they need to decide
(grades, class periods, curriculum module, whether a GPU helps) and ``--json`` gives
the same records to scripts and the teacher pages.
"""

from __future__ import annotations

import argparse
import json
import unicodedata
from pathlib import Path

from hub.commands import add_actions
from hub.library import BANDS, DEFAULT_ROOT, Assignment, load_library


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "assignments",
        help="作业库 / the assignment library",
        description="浏览分学段的人工智能作业库 / browse the graded AI assignment library",
    )
    actions = add_actions(parser, "action")
    listing = actions.add_parser(
        "list",
        help="列出作业目录 / print the catalogue",
        description="按学段列出作业：年级、课时、课程模块、是否需要 GPU / list lessons by "
                    "band: grades, periods, curriculum module, GPU",
    )
    listing.add_argument("--band", choices=list(BANDS),
                         help="只列出一个学段：primary 小学 | junior 初中 | senior 高中 | "
                              "teacher 教师研修 / only one grade band")
    listing.add_argument("--json", action="store_true",
                         help="输出 JSON / print JSON instead of a table")
    listing.add_argument("--root", type=Path, default=DEFAULT_ROOT,
                         help="作业库目录（默认仓库中的 assignments/）/ library folder")
    listing.set_defaults(func=run_list)


def _width(text: str) -> int:
    """Columns a string takes in a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def format_table(lessons: list[Assignment]) -> str:
    """The catalogue as an aligned plain-text table with Chinese headings."""
    header = ["学段", "编号", "标题", "年级", "课时", "课程模块", "GPU"]
    rows = [[a.band_zh, a.id, a.title_zh,
             "、".join(str(g) for g in a.grades) or "—", str(a.periods), a.module_zh,
             "是" if a.gpu else "否"] for a in lessons]
    widths = [max(_width(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(f"共 {len(lessons)} 个作业 / {len(lessons)} assignments")
    return "\n".join(lines)


def run_list(args: argparse.Namespace) -> int:
    lessons = load_library(args.root)
    if args.band:
        lessons = [a for a in lessons if a.grade_band == args.band]
    if args.json:
        print(json.dumps([a.as_dict() for a in lessons], ensure_ascii=False, indent=1))
    else:
        print(format_table(lessons))
    return 0
