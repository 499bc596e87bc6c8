"""我的作业: the student's assignments panel, a JupyterLab extension with its server side.

The panel (``js/``, built into ``labextension/``) opens with the lab and lists what was
released to the student's classes with due dates and a status (未获取 / 进行中 / 已提交 /
已评分), with fetch, open, validate, submit and feedback in one place, Chinese first with
English when the lab is in English. nbgrader's own Assignments panel is English-only and hidden
behind a menu; it stays for teachers.

The server side (:mod:`aiclass_assignments.handlers`) answers the panel from the classroom
service's exchange with the server's own token, so a student sees only their own classes and
submissions. Importing this package imports nothing of nbgrader: the list is read without it,
and only an action (fetch, submit, feedback) loads the exchange plugins.
"""

from __future__ import annotations

from pathlib import Path

from jupyter_server.serverapp import ServerApp

LAB_EXTENSION_NAME = "@aiclass/assignments"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": LAB_EXTENSION_NAME}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "aiclass_assignments"}]


def _load_jupyter_server_extension(serverapp: ServerApp) -> None:
    from aiclass_assignments.handlers import routes

    web_app = serverapp.web_app
    web_app.add_handlers(".*$", routes(web_app.settings["base_url"]))


def labextension_dir() -> Path:
    """The prebuilt JupyterLab extension shipped in this package."""
    return Path(__file__).parent / "labextension"
