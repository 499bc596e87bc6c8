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
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

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
