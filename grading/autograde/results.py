"""The grading result: per student, notebook and graded cell, with flags.

This is the JSON that ``aiclass grade`` writes and the gradebook stores.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nbformat.notebooknode import NotebookNode

#: Flags a teacher may see on a notebook, and what each means.
FLAGS = {
    "timeout": "超时 / ran past its time limit",
    "tampered": "提交被篡改 / the kernel, or the notebook's grading metadata or cell ids, "
                "were tampered with",
    "cell_missing": "评分单元格缺失 / a graded cell was deleted",
    "duplicate_cell": "评分单元格重复 / a graded cell was duplicated",
    "cell_edited": "锁定单元格被修改 / a locked or test cell was edited",
    "metadata_changed": "单元格元数据被修改 / cell metadata or points were changed",
    "kernel_died": "内核崩溃 / the kernel died",
    "memory_limit": "超出内存限制 / ran out of its memory limit",
    "output_truncated": "输出被截断 / output was cut at the limit",
    "sandbox_denied": "越权访问被拦截 / tried to reach files or network outside its sandbox",
    "notebook_missing": "未提交该笔记本 / notebook not submitted",
    "unreadable": "笔记本无法读取 / the notebook file is not a valid notebook",
}

#: Why a graded cell scored less than its points (``CellResult.reason["why"]``).
REASONS = {
    "error": "运行出错 / the cell raised an error",
    "stderr": "输出了错误信息 / the cell wrote to stderr, which nbgrader scores as a failure",
    "partial": "部分得分 / the test gave partial credit",
    "not_executed": "未执行 / the cell never ran (the kernel stopped before it)",
    "flag": "因标记不计分 / not trusted because of the notebook's flags",
    "cell_missing": "单元格缺失 / the graded cell was not in the submission",
    "blank": "未作答 / the answer was left as released",
}

#: What each ``CellResult.kind`` is, in nbgrader's terms.
KINDS = {
    "auto": "自动评分测试 / autograder tests (nbgrader: grade, not solution, code)",
    "manual": "人工批改答案 / manually graded answer (nbgrader: grade and solution)",
    "task": "人工批改任务 / manually graded task (nbgrader: task; graded against the whole "
            "notebook)",
}


@dataclass
class CellResult:
    """One graded cell; ``score`` is ``None`` where a teacher has still to grade it."""

    grade_id: str
    score: float | None
    max_score: float
    kind: str
    #: Why the cell scored less than ``max_score``: ``{"why": <a REASONS key>, ...}`` with
    #: the error's ``ename``/``evalue``, the ``flags`` or the stderr ``text``; else ``None``.
    reason: dict | None = None

    def to_dict(self) -> dict:
        return {"grade_id": self.grade_id, "score": self.score, "max_score": self.max_score,
                "kind": self.kind, "reason": self.reason}


@dataclass
class NotebookResult:
    notebook: str
    cells: list[CellResult]
    flags: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: The executed notebook (hidden tests included): for feedback, never for the student as is.
    executed: NotebookNode | None = field(default=None, repr=False, compare=False)

    @property
    def score(self) -> float:
        return float(sum(c.score for c in self.cells if c.score is not None))

    @property
    def max_score(self) -> float:
        return float(sum(c.max_score for c in self.cells))

    def flag(self, name: str) -> None:
        if name not in FLAGS:
            raise ValueError(f"unknown flag {name!r}")
        if name not in self.flags:
            self.flags.append(name)

    @classmethod
    def from_dict(cls, data: dict) -> NotebookResult:
        """The result :meth:`to_dict` wrote (a grading pod sends it back this way)."""
        result = cls(data["notebook"], [CellResult(c["grade_id"], c["score"], c["max_score"],
                                                   c["kind"], c["reason"])
                                        for c in data["cells"]])
        for flag in data["flags"]:
            result.flag(flag)
        return result

    def to_dict(self) -> dict:
        return {
            "notebook": self.notebook,
            "score": self.score,
            "max_score": self.max_score,
            "flags": list(self.flags),
            "cells": [c.to_dict() for c in self.cells],
        }


@dataclass
class StudentResult:
    student: str
    notebooks: list[NotebookResult]

    @property
    def flags(self) -> list[str]:
        seen: list[str] = []
        for notebook in self.notebooks:
            seen += [f for f in notebook.flags if f not in seen]
        return seen

    def to_dict(self) -> dict:
        return {
            "student": self.student,
            "score": float(sum(n.score for n in self.notebooks)),
            "max_score": float(sum(n.max_score for n in self.notebooks)),
            "flags": self.flags,
            "notebooks": [n.to_dict() for n in self.notebooks],
        }


def assignment_result(assignment_id: str, students: list[StudentResult]) -> dict:
    """The whole result, in the JSON shape shared with the service and the CLI."""
    return {"assignment": assignment_id, "students": [s.to_dict() for s in students]}
