"""``aiclass grade``: grade a folder of submissions offline, each notebook in a sandbox.

For a teacher with nbgrader's ``submitted/`` folder and the source assignment.
Exit status is non-zero only when grading itself failed (bad source, no
sandbox); a student's broken or malicious notebook is a flag in the JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from grading import grade_folder
from grading.autograde.results import NotebookResult
from grading.sandbox import backend_choices
from hub.commands import UsageError
from hub.images import image_reference


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "grade",
        help="在沙箱中批改一个文件夹的提交 / grade a folder of submissions in sandboxes",
        description="批改 nbgrader 格式的提交，每个笔记本在独立沙箱中运行 / grade nbgrader "
                    "submissions, each notebook in its own sandbox",
    )
    parser.add_argument("source_dir", type=Path, metavar="SOURCE_DIR",
                        help="源作业（教师版笔记本），如 source/ps1 / the source assignment, "
                             "e.g. source/ps1")
    parser.add_argument("submissions_dir", type=Path, metavar="SUBMISSIONS_DIR",
                        help="提交目录：<学生>/<作业>/*.ipynb / submissions: "
                             "<student>/<assignment>/*.ipynb")
    parser.add_argument("--out", type=Path, metavar="FILE.json",
                        help="结果 JSON 文件（默认输出到终端）/ result JSON file (default: stdout)")
    parser.add_argument("--autograded", type=Path, metavar="DIR",
                        help="保存批改后的笔记本（含隐藏测试与报错），结构同 nbgrader 的 "
                             "autograded/；默认放在 --out 文件旁的 autograded/ / keep the "
                             "graded notebooks (hidden tests and errors included) here, laid "
                             "out as nbgrader's autograded/; default: autograded/ beside the "
                             "--out file")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="并行批改数（默认核数）/ notebooks graded at once (default: cores)")
    parser.add_argument("--sandbox", choices=backend_choices(), default="auto",
                        help="沙箱：auto 优先 Docker / sandbox: auto prefers Docker if it answers")
    parser.add_argument("--image", default=image_reference("student"),
                        help="Docker 沙箱镜像（默认本版本的学生镜像）/ image for the docker "
                             "sandbox (default: this version's student image)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.jobs < 1:
        raise UsageError("--jobs 至少为 1 / --jobs must be at least 1")
    autograded = args.autograded
    if autograded is None and args.out is not None:
        autograded = args.out.parent / "autograded"
    bar = _progress_bar()
    try:
        result = grade_folder(args.source_dir, args.submissions_dir, jobs=args.jobs,
                              sandbox=args.sandbox, image=args.image,
                              progress=bar.update if bar else None,
                              autograded_dir=autograded)
    finally:
        if bar:
            bar.close()
    text = json.dumps(result, ensure_ascii=False, indent=1)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0


class _TerminalProgress:
    """A tqdm bar counting graded notebooks; only on a terminal."""

    def __init__(self):
        from tqdm import tqdm

        self.bar = tqdm(unit="nb", desc="批改 / grading", file=sys.stderr)

    def update(self, student: str, notebook: str, result: NotebookResult) -> None:
        self.bar.update(1)
        if result.flags:
            self.bar.write(f"{student}/{notebook}: {', '.join(result.flags)}", file=sys.stderr)

    def close(self) -> None:
        self.bar.close()


def _progress_bar() -> _TerminalProgress | None:
    return _TerminalProgress() if sys.stderr.isatty() else None
