"""Autograding happens in the classroom service's sandbox, never in a teacher's server.

nbgrader's ``autograde`` (the formgrader's button and ``nbgrader autograde`` in a terminal)
executes a submission in the server that calls it: in a teacher's server, a student's code
would run as the teacher, with the teacher's ``$JUPYTERHUB_API_TOKEN`` in its environment. The
teacher profile configures both of ``Autograde``'s pipelines (``sanitize_preprocessors`` and
``autograde_preprocessors``, nbgrader's documented list of steps) as this one step, which
refuses the first notebook before anything of it is written or executed. nbgrader reports the
refusal as a failed autograde (the formgrader shows it in its error box, the command exits
with status 1), and the teacher reads the sandbox's grades on the classroom service's
gradebook pages. Collected submissions stay in ``submitted/`` for reading.

nbgrader's *Validate* executes the notebook it is given too, and its list of steps is not
configurable; the kernel manager its ``Execute`` step starts kernels with is (nbclient's
``kernel_manager_class``). The teacher profile names :class:`NoKernelInSubmissions`, which
starts no kernel in a student's folder, so validating the teacher's own assignments works and
validating a collected submission is refused the same way as autograding it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jupyter_client import AsyncKernelManager
from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor


class AutogradeRefused(Exception):
    """A teacher's server was asked to autograde a submission."""


def service_path() -> str:
    """The classroom service's pages as the teacher's browser reaches them (the hub's proxy)."""
    return urlsplit(os.environ.get("AICLASS_EXCHANGE_URL", "")).path or "/services/classroom/"


class CentralGradingOnly(NbGraderPreprocessor):
    """The only step of a teacher server's autograde pipelines: refuse, and say where to look.

    nbgrader's base, not nbconvert's, because nbconvert skips a preprocessor that is not
    ``enabled`` and only nbgrader's steps are enabled by default.
    """

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        about = resources.get("nbgrader", {})
        student, assignment = about.get("student", "?"), about.get("assignment", "?")
        raise AutogradeRefused(
            f"老师的服务器不运行学生的代码：{student} 的 {assignment} 由课堂服务在沙箱中自动评分，"
            f"成绩见课堂服务的成绩册（{service_path()}）。"
            f" / A teacher's server does not run students' code: {student}'s {assignment} is "
            f"autograded by the classroom service in its sandbox; its grades are in the "
            f"service's gradebook ({service_path()}).")


STUDENT_FOLDERS = frozenset({"submitted", "autograded", "feedback"})
"""nbgrader's course folders that hold students' notebooks (``CourseDirectory``'s defaults)."""


class NoKernelInSubmissions(AsyncKernelManager):
    """The teacher server's kernel manager for nbgrader's steps: none in a student's folder.

    Validate runs in the notebook's own folder (nbgrader's ``Validator`` changes into it), so
    the folder tells whose notebook it is: one under ``submitted/``, ``autograded/`` or
    ``feedback/`` is a student's, and its code would run as the teacher.
    """

    async def start_kernel(self, **kw: Any) -> None:
        folder = Path(kw.get("cwd") or os.getcwd()).resolve()
        if STUDENT_FOLDERS & set(folder.parts):
            raise AutogradeRefused(
                f"老师的服务器不运行学生的代码：{folder.name} 中的提交由课堂服务在沙箱中评分，"
                f"结果见课堂服务的成绩册（{service_path()}）。 / A teacher's server does not "
                f"run students' code: submissions are graded by the classroom service in its "
                f"sandbox; see its gradebook ({service_path()}).")
        await super().start_kernel(**kw)

