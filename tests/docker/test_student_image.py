"""The student image: built from Debian packages and the wheelhouse only, and what it holds.

The fixture builds it with ``aiclass images build --only student`` when the tag is missing
(``.ci/run`` builds it before the suite), so this file also checks that the build works from
nothing but the APT mirror and the wheelhouse.
"""

from __future__ import annotations

import json
import os

import pytest
from docker_classroom import docker

from hub.images import ImageBuilder, build_options, image_reference
from hub.lab_config import (
    ENGLISH_LAB_IN_IMAGE,
    NBGRADER_TEACHER_ONLY_LAB_PLUGINS,
    NBGRADER_TEACHER_ONLY_SERVER_EXTENSIONS,
    TEACHER_PROFILE_IN_IMAGE,
)

pytestmark = pytest.mark.docker


def run_in(image: str, script: str, user: str = "1000") -> str:
    """Run a shell script in a throwaway container without any network."""
    isolated = ["run", "--rm", "--network", "none", "--user", user]
    return docker(*isolated, "--entrypoint", "sh", image, "-c", script)


def test_base_is_imported_from_debootstrap_not_pulled(student_image: str) -> None:
    base = image_reference("base")
    history = docker("history", "--no-trunc", "--format", "{{.CreatedBy}}|{{.Comment}}", base)
    assert history.splitlines() == ["|Imported from -"]
    assert run_in(base, ". /etc/os-release; echo $VERSION_CODENAME") == "bookworm"
    labels = json.loads(docker("inspect", student_image))[0]["Config"]["Labels"]
    assert labels["org.aiclass.image"] == "student"


def test_student_image_runs_as_jovyan_without_compilers_or_sudo(student_image: str) -> None:
    assert run_in(student_image, "id -un; id -u") == "jovyan\n1000"
    missing = run_in(
        student_image,
        "for t in gcc cc g++ c++ clang make sudo su-exec; do "
        "command -v $t >/dev/null && echo found $t; done; true",
    )
    assert missing == ""
    privileged = run_in(student_image, "find / -xdev -perm /6000 -type f", user="0")
    assert privileged == "", f"set-user-id or set-group-id files left: {privileged}"


def test_student_image_has_the_classroom_stack(student_image: str) -> None:
    versions = run_in(
        student_image,
        "python -c 'import torch, sklearn, nbgrader, ipywidgets, aiclass_explainers; "
        "print(torch.__version__, torch.cuda.is_available(), nbgrader.__version__)'",
    )
    assert versions == "2.13.0+cpu False 0.9.6"
    assert "jupyterhub-singleuser" in run_in(student_image, "ls /opt/venv/bin")
    assert run_in(student_image, "fc-list :lang=zh family | grep -c 'Noto Sans CJK'") != "0"
    overrides = json.loads(
        run_in(student_image, "cat /opt/venv/share/jupyter/lab/settings/overrides.json")
    )
    assert overrides["@jupyterlab/translation-extension:plugin"]["locale"] == "zh_CN"
    language_pack = run_in(
        student_image, "python -m pip show jupyterlab-language-pack-zh-CN 2>/dev/null"
    )
    assert "Name: jupyterlab-language-pack-zh-CN" in language_pack


def test_student_server_offers_nbgrader_student_tools_only(student_image: str) -> None:
    listing = run_in(student_image, "jupyter server extension list 2>&1")
    enabled = {
        line.split()[0]
        for line in listing.splitlines()
        if "nbgrader.server_extensions" in line and "enabled" in line
    }
    assert "nbgrader.server_extensions.assignment_list" in enabled
    assert "nbgrader.server_extensions.validate_assignment" in enabled
    assert "nbgrader.server_extensions.formgrader" not in enabled
    assert "nbgrader.server_extensions.course_list" not in enabled
    labs = run_in(student_image, "jupyter labextension list 2>&1")
    assert "@jupyter/nbgrader" in labs
    disabled = labs.split("Disabled extensions:", 1)[1]
    for plugin in ("formgrader", "create-assignment", "course-list"):
        assert f"@jupyter/nbgrader:{plugin}" in disabled
    assert "assignment-list" not in disabled


def test_image_carries_the_exchange_and_the_teacher_profile(student_image: str) -> None:
    """The HTTP exchange for everyone; formgrader and course tools once the teacher's is first."""
    effective = (
        "from jupyter_core.paths import jupyter_config_path\n"
        "from jupyter_server.extension.config import ExtensionConfigManager\n"
        "from jupyterlab_server.config import get_page_config\n"
        "from nbgrader.apps import NbGrader\n"
        "found = ExtensionConfigManager(read_config_path=jupyter_config_path())\n"
        "on = sorted(n for n, e in found.get_jpserver_extensions().items() if e)\n"
        "app = NbGrader()\n"
        "app.load_config_file()\n"
        "print(json.dumps({'on': on, 'off': get_page_config([])['disabledExtensions'],\n"
        "                  'exchange': app.config.ExchangeFactory.fetch_assignment}))\n"
    )
    for profile, config_path in (("student", ""), ("teacher", TEACHER_PROFILE_IN_IMAGE)):
        out = docker(
            "run", "--rm", "--network", "none", "-e", f"JUPYTER_CONFIG_PATH={config_path}",
            "--entrypoint", "python", student_image, "-c", f"import json\n{effective}",
        )
        config = json.loads(out.splitlines()[-1])
        assert config["exchange"] == "aiclass_exchange.ExchangeFetchAssignment"
        assert "nbgrader.server_extensions.assignment_list" in config["on"]
        teacher = profile == "teacher"
        for name in NBGRADER_TEACHER_ONLY_SERVER_EXTENSIONS:
            assert (name in config["on"]) is teacher, (profile, name)
        for plugin in NBGRADER_TEACHER_ONLY_LAB_PLUGINS:
            assert (plugin in config["off"]) is not teacher, (profile, plugin)


def test_the_lab_is_chinese_unless_the_english_profile_comes_first(student_image: str) -> None:
    """The overrides JupyterLab applies (``jupyterlab_server`` merges the image's
    ``overrides.json`` and then every config path's ``default_setting_overrides``)."""
    effective = (
        "from jupyterlab_server.settings_utils import _get_overrides\n"
        "overrides, _ = _get_overrides('/opt/venv/share/jupyter/lab/settings')\n"
        "print(overrides['@jupyterlab/translation-extension:plugin']['locale'])\n"
    )
    for config_path, locale in (("", "zh_CN"), (ENGLISH_LAB_IN_IMAGE, "en"),
                                (f"{ENGLISH_LAB_IN_IMAGE}:{TEACHER_PROFILE_IN_IMAGE}", "en")):
        out = docker("run", "--rm", "--network", "none", "-e", f"JUPYTER_CONFIG_PATH={config_path}",
                     "--entrypoint", "python", student_image, "-c", effective)
        assert out.splitlines()[-1] == locale, (config_path, out)


def test_kernels_apply_the_gpu_memory_share(student_image: str) -> None:
    config = run_in(student_image, "cat /opt/venv/etc/ipython/ipython_kernel_config.py")
    assert "/opt/aiclass/gpu_share.py" in config
    # without a GPU the startup file must be a harmless no-op, even when a share is granted
    out = docker(
        "run",
        "--rm",
        "--network",
        "none",
        "-e",
        "AICLASS_GPU_MEMORY_FRACTION=0.25",
        "--entrypoint",
        "python",
        student_image,
        "/opt/aiclass/gpu_share.py",
    )
    assert out == ""


def test_rebuild_with_nothing_changed_reuses_every_layer(student_image: str) -> None:
    """Build, then build again from a shell with a stricter umask: the same image."""
    builder = ImageBuilder(build_options())
    builder.build(["student"])
    before = builder.image_id(student_image)
    previous = os.umask(0o077)
    try:
        builder.build(["student"])
    finally:
        os.umask(previous)
    assert builder.image_id(student_image) == before


LEAN_PROBE = """
import json, sys
import aiclass_lean_singleuser
aiclass_lean_singleuser.install()
import jupyterhub.singleuser.extension
from jupyterhub.log import log_request
from jupyterhub.scopes import _intersect_expanded_scopes
heavy = sorted(m for m in ('alembic', 'sqlalchemy.orm', 'mako', 'jupyterhub.user')
               if m in sys.modules)
try:
    import jupyterhub.handlers.base
    other_handler = 'imported'
except ImportError:
    other_handler = 'refused'
scopes = sorted(_intersect_expanded_scopes({'read:users!user=stu-a', 'access:servers'},
                                           {'read:users'}))
import jupyterhub.orm
used = jupyterhub.orm.User.__tablename__
print(json.dumps({'heavy': heavy, 'other_handler': other_handler, 'scopes': scopes,
                  'orm_on_use': used, 'orm_now': 'sqlalchemy.orm' in sys.modules}))
"""


def test_the_lean_student_server_leaves_the_hubs_database_code_unloaded(
        student_image: str) -> None:
    """``python -m aiclass_lean_singleuser`` (students' command): the single-user server's
    imports leave the hub's ORM, handlers and Alembic out; scopes still intersect as the
    hub's code does; the ORM loads for real the moment something reads it; and no other hub
    handler can be imported through the stand-in."""
    out = run_in(student_image, f"python -c \"{LEAN_PROBE}\"")
    found = json.loads(out.splitlines()[-1])
    assert found["heavy"] == []
    assert found["other_handler"] == "refused"
    assert found["scopes"] == ["read:users!user=stu-a"]
    assert found["orm_on_use"] == "users"
    assert found["orm_now"] is True
    plain = run_in(student_image, "python -c 'import sys, jupyterhub.singleuser.extension; "
                                  "print(\"sqlalchemy.orm\" in sys.modules)'")
    assert plain == "True", "the plain server loads the ORM: the probe above measures a change"
