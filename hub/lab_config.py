"""The Jupyter configuration a student's or a teacher's server starts with.

Written by the hub into ``<data dir>/jupyter/<role>/`` and put first on the
server's ``JUPYTER_CONFIG_PATH``: JupyterLab's locale (zh-CN by default) through
``labconfig/default_setting_overrides.json``, which nbgrader tools appear
(students get the Assignments panel and validation; teachers also get the
formgrader and course tools, with autograding left to the service's sandbox), and a
``matplotlibrc`` with a CJK font so that Chinese axis labels render.

Docker mode's containers cannot see the data dir (the hub may itself run in a container), so
the student image carries the same profiles: the student's is the image's own configuration and
the teacher's lives at :data:`TEACHER_PROFILE_IN_IMAGE`, which the spawner puts on
``JUPYTER_CONFIG_PATH`` for teachers; the service's URL reaches both through the environment.
"""

from __future__ import annotations

import json
from pathlib import Path

from hub.db import ServiceDatabase
from hub.org.directory import role_of
from hub.org.models import Role

NBGRADER_TEACHER_ONLY_SERVER_EXTENSIONS = (
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.course_list",
)
NBGRADER_TEACHER_ONLY_LAB_PLUGINS = (
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:course-list",
    "@jupyter/nbgrader:create-assignment",
)
NBGRADER_STUDENT_SERVER_EXTENSIONS = (
    "nbgrader.server_extensions.assignment_list",
    "nbgrader.server_extensions.validate_assignment",
)
NBGRADER_SERVER_EXTENSIONS = NBGRADER_TEACHER_ONLY_SERVER_EXTENSIONS + (
    NBGRADER_STUDENT_SERVER_EXTENSIONS)
DEFERRED_NBGRADER_EXTENSION = "aiclass_deferred_nbgrader"
"""Loads :data:`NBGRADER_STUDENT_SERVER_EXTENSIONS` at their first request
(``extensions/exchange/aiclass_deferred_nbgrader``)."""
LEAN_SERVER_COMMAND = ("python", "-m", "aiclass_lean_singleuser")
"""A student's server in the student image: ``jupyterhub-singleuser`` without the hub's ORM in
memory (``extensions/exchange/aiclass_lean_singleuser``)."""
NOTEBOOK_SHIM_EXTENSION = "notebook_shim"
"""Carries classic ``NotebookApp`` settings over to the server; it imports IPython at start to
list a classic-notebook path. Students' servers have no such settings and leave it off."""
EXCHANGE_PLUGINS = {
    kind: f"aiclass_exchange.{name}" for kind, name in (
        ("exchange", "Exchange"), ("fetch_assignment", "ExchangeFetchAssignment"),
        ("fetch_feedback", "ExchangeFetchFeedback"), ("list", "ExchangeList"),
        ("submit", "ExchangeSubmit"), ("release_assignment", "ExchangeReleaseAssignment"),
        ("release_feedback", "ExchangeReleaseFeedback"), ("collect", "ExchangeCollect"),
    )
}
"""nbgrader's exchange over HTTP (``extensions/exchange``) instead of a shared folder."""
TEACHER_NBGRADER_CONFIG = {
    "Autograde": {
        pipeline: ["aiclass_exchange.central_grading.CentralGradingOnly"]
        for pipeline in ("sanitize_preprocessors", "autograde_preprocessors")
    },
    "Execute": {"kernel_manager_class": "aiclass_exchange.central_grading.NoKernelInSubmissions"},
}
"""nbgrader settings of the teacher profile only: ``Autograde``'s pipelines are one step that
refuses, so neither the formgrader nor ``nbgrader autograde`` runs a submission's code in the
teacher's server, where it would hold the teacher's token; nor does Validate, whose ``Execute``
starts no kernel in a student's folder
(``extensions/exchange/aiclass_exchange/central_grading.py``); the service's sandbox grades."""
OFFLINE_LAB_SETTINGS = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}
"""JupyterLab's own settings that would make a browser ask to fetch Jupyter's news feed from the
internet ("您是否希望接收有关官方 Jupyter 新闻的通知?") or check for newer releases: a
platform for minors, offline by design, never asks and never reaches out."""
OFFLINE_LAB_SERVER = {
    "news_url": None,
    "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
}
"""``LabApp`` settings behind :data:`OFFLINE_LAB_SETTINGS`: with no news feed the lab does not
offer one, and the server never asks PyPI for JupyterLab's latest version."""
TEACHER_PROFILE_IN_IMAGE = "/opt/aiclass/jupyter/teacher"
"""The teacher's profile in the student image (``images/student/teacher/``)."""
ENGLISH_LAB_IN_IMAGE = "/opt/aiclass/jupyter/locale-en"
"""JupyterLab in English, in the student image (``images/student/locale-en/``); the image's
own configuration is Chinese. Its ``default_setting_overrides`` win over the image's."""

_databases: dict[str, ServiceDatabase] = {}


def lab_profile(role: str) -> str:
    """The configuration profile for a role: teachers and admins get the course tools."""
    return "student" if role == Role.STUDENT else "teacher"


def person_profile(database_url: str, username: str) -> str:
    """The profile of a person by their role on the roster; anyone not on it is a student."""
    if database_url not in _databases:
        _databases[database_url] = ServiceDatabase(database_url)
    with _databases[database_url].session() as session:
        return lab_profile(role_of(session, username) or Role.STUDENT)


def config_dir(data_dir: Path, profile: str) -> Path:
    """Where the configuration of ``profile`` lives."""
    return data_dir / "jupyter" / profile


def matplotlibrc_path(data_dir: Path) -> Path:
    """The matplotlib configuration shared by every server."""
    return data_dir / "jupyter" / "matplotlibrc"


def _write_json(path: Path, content: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_lab_config(data_dir: Path, locale: str, cjk_font: str) -> None:
    """(Re)write the student and teacher profiles from the settings."""
    lab_locale = "zh_CN" if locale == "zh_CN" else "en"
    for profile in ("student", "teacher"):
        directory = config_dir(data_dir, profile)
        teacher = profile == "teacher"
        _write_json(
            directory / "labconfig" / "default_setting_overrides.json",
            {"@jupyterlab/translation-extension:plugin": {"locale": lab_locale},
             **OFFLINE_LAB_SETTINGS},
        )
        disabled = {} if teacher else {name: True for name in NBGRADER_TEACHER_ONLY_LAB_PLUGINS}
        _write_json(directory / "labconfig" / "page_config.json",
                    {"disabledExtensions": disabled})
        extensions = {name: teacher or name not in NBGRADER_TEACHER_ONLY_SERVER_EXTENSIONS
                      for name in NBGRADER_SERVER_EXTENSIONS}
        _write_json(directory / "jupyter_server_config.json",
                    {"ServerApp": {"jpserver_extensions": extensions},
                     "LabApp": OFFLINE_LAB_SERVER})
        _write_json(directory / "nbgrader_config.json",
                    {"ExchangeFactory": EXCHANGE_PLUGINS,
                     **(TEACHER_NBGRADER_CONFIG if teacher else {})})
    rc = matplotlibrc_path(data_dir)
    rc.write_text(
        "font.family: sans-serif\n"
        f"font.sans-serif: {cjk_font}, Noto Sans CJK JP, WenQuanYi Zen Hei, DejaVu Sans\n"
        "axes.unicode_minus: False\n",
        encoding="utf-8",
    )
    _open_to_servers(rc.parent)


def _open_to_servers(profiles: Path) -> None:
    """Make the profiles readable by every server, whatever the hub's umask.

    The hub creates its files owner-only (umask 077, for its secrets), but each local-mode
    server reads these as a uid of its own; a profile it cannot read is silently skipped,
    which would give a student the formgrader and a teacher nbgrader's default exchange and
    autograde. They hold no secret.
    """
    for path in (profiles, *profiles.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
