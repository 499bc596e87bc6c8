"""ClassroomDockerSpawner's profiles, GPU slots and the docker-mode configuration.

No Docker engine or GPU: the user is a stand-in with groups, the GPU pool works on a fake
inventory, and the container settings are checked as the spawner hands them to Docker.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace

import aiclass_deferred_nbgrader
import pytest
from dockerspawner import DockerSpawner
from tornado import web
from traitlets.config import Config

from hub.db import ServiceDatabase
from hub.lab_config import (
    ENGLISH_LAB_IN_IMAGE,
    EXCHANGE_PLUGINS,
    NBGRADER_STUDENT_SERVER_EXTENSIONS,
    NBGRADER_TEACHER_ONLY_LAB_PLUGINS,
    NBGRADER_TEACHER_ONLY_SERVER_EXTENSIONS,
    OFFLINE_LAB_SERVER,
    OFFLINE_LAB_SETTINGS,
    TEACHER_NBGRADER_CONFIG,
    TEACHER_PROFILE_IN_IMAGE,
)
from hub.org.models import Person, Role
from hub.settings import SettingsError, parse_settings
from hub.spawners.docker import (
    CPU,
    GPU,
    LAB_PROFILE_LABEL,
    ClassroomDockerSpawner,
    configure_docker_mode,
)
from hub.spawners.gpu import DEVICE_LABEL, GpuPool
from hub.spawners.student_network import StudentNetwork

STUDENT_IMAGE = Path(__file__).resolve().parents[2] / "images" / "student"

PROFILES = {
    CPU: {
        "display": "CPU 环境",
        "image": "aiclass/student:0.1.0",
        "mem_limit": "1G",
        "cpu_limit": 1.0,
        "pids_limit": 256,
    },
    GPU: {
        "display": "GPU 环境",
        "image": "aiclass/student-gpu:0.1.0",
        "mem_limit": "8G",
        "cpu_limit": 4.0,
        "pids_limit": 512,
    },
}


@pytest.fixture(autouse=True)
def fresh_pool() -> None:
    GpuPool.clear_instance()
    ClassroomDockerSpawner._gpu_state_restored = True


def spawner(
    name: str, groups: list[str], devices: int = 1, database_url: str = "", **options: str
) -> ClassroomDockerSpawner:
    c = Config()
    c.ClassroomDockerSpawner.database_url = database_url
    c.ClassroomDockerSpawner.profiles = PROFILES
    c.ClassroomDockerSpawner.gpu_groups = ["class-senior"]
    c.GpuPool.devices = ["GPU-0"]
    c.GpuPool.max_students_per_device = 1
    c.GpuPool.nvidia_smi = "no-nvidia-smi-here"
    user = SimpleNamespace(
        name=name, groups=[SimpleNamespace(name=g) for g in groups], url=f"/user/{name}/"
    )
    made = ClassroomDockerSpawner(user=user, config=c)
    made.user_options = dict(options)
    return made


def test_students_outside_gpu_groups_get_no_form_and_cannot_ask_for_gpu() -> None:
    junior = spawner("stu-j", ["class-junior"])
    assert junior.profile_form() == ""
    junior.user_options = {"profile": GPU}
    with pytest.raises(web.HTTPError) as refused:
        junior.chosen_profile()
    assert refused.value.status_code == 403
    assert "GPU" in refused.value.log_message


def test_gpu_groups_see_both_profiles_in_chinese_with_cpu_preselected() -> None:
    form = spawner("stu-s", ["class-senior"]).profile_form()
    assert "选择运行环境" in form
    assert 'value="cpu" checked' in form
    assert 'value="gpu"' in form and "disabled" not in form


def test_full_gpu_pool_is_shown_and_the_form_offers_cpu_again() -> None:
    first = spawner("stu-1", ["class-senior"], profile=GPU)
    first.gpu_pool().assign(first.owner)
    second = spawner("stu-2", ["class-senior"])
    form = second.profile_form()
    assert 'value="gpu" disabled' in form
    assert "暂无空闲 GPU" in form
    with pytest.raises(web.HTTPError) as busy:
        second.profile_from_form({"profile": [GPU]})
    assert busy.value.status_code == 503
    assert "CPU" in busy.value.log_message
    assert second.profile_from_form({"profile": [CPU]}) == {"profile": CPU}


def test_container_settings_follow_the_profile_and_the_gpu_slot() -> None:
    cpu = spawner("stu-c", ["class-senior"], profile=CPU)
    host = cpu.host_config()
    assert host["cap_drop"] == ["ALL"]
    assert host["security_opt"] == ["no-new-privileges:true"]
    assert host["pids_limit"] == 256
    assert "device_requests" not in host
    assert cpu.create_kwargs()["user"] == "1000:1000"

    gpu = spawner("stu-g", ["class-senior"], profile=GPU)
    slot = gpu.gpu_pool().assign(gpu.owner)
    host = gpu.host_config()
    assert host["pids_limit"] == 512
    assert host["device_requests"][0]["DeviceIDs"] == [slot.device.uuid]
    assert gpu.create_kwargs()["labels"][DEVICE_LABEL] == slot.device.uuid
    assert gpu.gpu_assignment().environment()["AICLASS_GPU_MEMORY_FRACTION"] == "1.0000"


def test_trimmed_server_extensions_are_passed_to_the_server(roster: str) -> None:
    """Students' servers defer nbgrader's extensions and start lean; teachers' load them as
    usual and run the image's own command."""
    [student] = spawner("stu-a", [], database_url=roster).args
    assert student == (
        "--ServerApp.jpserver_extensions={'jupyter_lsp': False, 'notebook': False, "
        "'aiclass_deferred_nbgrader': True, "
        "'nbgrader.server_extensions.assignment_list': False, "
        "'nbgrader.server_extensions.validate_assignment': False, 'notebook_shim': False}")
    [teacher] = spawner("tch-a", [], database_url=roster).args
    assert teacher == "--ServerApp.jpserver_extensions={'jupyter_lsp': False, 'notebook': False}"
    assert spawner("stu-a", [], database_url=roster).server_command() == [
        "python", "-m", "aiclass_lean_singleuser"]
    assert spawner("tch-a", [], database_url=roster).server_command() is None
    for name in ("stu-a", "tch-a"):  # what start() does: the trait takes both answers
        person = spawner(name, [], database_url=roster)
        person.cmd = person.server_command()
        assert person.cmd == person.server_command()
    plain = spawner("stu-a", [], database_url=roster)
    plain.lean_student_server = False
    assert plain.server_command() is None
    assert "notebook_shim" not in plain.args[0]
    assert set(NBGRADER_STUDENT_SERVER_EXTENSIONS) == set(aiclass_deferred_nbgrader.DEFERRED)


@pytest.fixture
def roster(tmp_path: Path) -> str:
    """A service database with one teacher and one student on the roster."""
    url = f"sqlite:///{tmp_path / 'aiclass.sqlite'}"
    database = ServiceDatabase(url)
    with database.session() as session:
        session.add(Person(username="tch-a", display_name="王老师", role=Role.TEACHER))
        session.add(Person(username="stu-a", display_name="李同学", role=Role.STUDENT))
    database.engine.dispose()
    return url


def test_teachers_containers_start_with_the_teacher_profile(
    roster: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(DockerSpawner, "get_env", lambda self: {})  # no hub behind the stand-in
    teacher = spawner("tch-a", [], database_url=roster)
    assert teacher.get_env()["JUPYTER_CONFIG_PATH"] == TEACHER_PROFILE_IN_IMAGE
    assert teacher.create_kwargs()["labels"][LAB_PROFILE_LABEL] == "teacher"
    for name in ("stu-a", "not-on-the-roster"):
        student = spawner(name, [], database_url=roster)
        assert "JUPYTER_CONFIG_PATH" not in student.get_env()
        assert student.create_kwargs()["labels"][LAB_PROFILE_LABEL] == "student"


def test_an_english_center_puts_the_english_lab_first(
    roster: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(DockerSpawner, "get_env", lambda self: {})  # no hub behind the stand-in
    teacher = spawner("tch-a", [], database_url=roster)
    teacher.lab_locale = "en"
    assert teacher.get_env()["JUPYTER_CONFIG_PATH"] == (
        f"{ENGLISH_LAB_IN_IMAGE}:{TEACHER_PROFILE_IN_IMAGE}")
    student = spawner("stu-a", [], database_url=roster)
    student.lab_locale = "en"
    assert student.get_env()["JUPYTER_CONFIG_PATH"] == ENGLISH_LAB_IN_IMAGE


def test_the_images_profiles_match_the_local_modes() -> None:
    """The student image carries what ``lab_config`` writes for local mode's servers."""
    etc, teacher = STUDENT_IMAGE / "etc" / "jupyter", STUDENT_IMAGE / "teacher"
    exchange = json.loads((etc / "nbgrader_config.json").read_text(encoding="utf-8"))
    assert exchange == {"ExchangeFactory": EXCHANGE_PLUGINS}
    refusal = json.loads((teacher / "nbgrader_config.json").read_text(encoding="utf-8"))
    assert refusal == TEACHER_NBGRADER_CONFIG
    for directory, enabled in ((etc, False), (teacher, True)):
        server = json.loads((directory / "jupyter_server_config.json").read_text())
        assert server["ServerApp"]["jpserver_extensions"] == {
            name: enabled for name in NBGRADER_TEACHER_ONLY_SERVER_EXTENSIONS
        }
        page = json.loads((directory / "labconfig" / "page_config.json").read_text())
        assert page["disabledExtensions"] == {
            name: not enabled for name in NBGRADER_TEACHER_ONLY_LAB_PLUGINS
        }
        assert server["LabApp"] == OFFLINE_LAB_SERVER
    for overrides in (STUDENT_IMAGE / "lab-overrides.json",
                      STUDENT_IMAGE / "locale-en" / "labconfig" / "default_setting_overrides.json"):
        settings = json.loads(overrides.read_text(encoding="utf-8"))
        assert {name: settings[name] for name in OFFLINE_LAB_SETTINGS} == OFFLINE_LAB_SETTINGS


@pytest.mark.parametrize("network", ["host", "none", "bridge"])
def test_students_containers_cannot_be_put_on_the_hosts_network(network: str) -> None:
    """On the host's network a student's terminal reaches the database and binds its ports."""
    with pytest.raises(SettingsError, match=r"\[docker\] network") as refused:
        parse_settings({"docker": {"network": network}}, "aiclass.toml", Path("/tmp"))
    assert "host" in str(refused.value)


def test_configure_docker_mode_from_settings() -> None:
    settings = parse_settings(
        {
            "hub": {"mode": "docker"},
            "docker": {"cpu_mem_limit": "3G", "cull_idle_minutes": 30},
            "gpu": {"enabled": True, "groups": ["class-demo-s1-g10c1"], "devices": ["MIG-x"]},
        },
        "test",
        Path("/tmp"),
    )
    c = Config()
    configure_docker_mode(c, settings)
    assert c.JupyterHub.spawner_class is ClassroomDockerSpawner
    profiles = c.ClassroomDockerSpawner.profiles
    assert profiles[CPU]["mem_limit"] == "3G"
    assert profiles[CPU]["display"].startswith("CPU 环境")
    assert profiles[GPU]["image"].endswith("aiclass/student-gpu:0.1.0")
    assert set(c.ClassroomDockerSpawner.allowed_images) == {
        profiles[CPU]["image"],
        profiles[GPU]["image"],
    }
    assert c.ClassroomDockerSpawner.gpu_groups == ["class-demo-s1-g10c1"]
    assert c.ClassroomDockerSpawner.database_url == settings.database_url
    assert c.GpuPool.devices == ["MIG-x"]
    culler = c.JupyterHub.services.get_value([])[0]
    assert culler["name"] == "idle-culler"
    assert "--timeout=1800" in culler["command"]
    role = c.JupyterHub.load_roles.get_value([])[0]
    assert role["services"] == ["idle-culler"]
    assert "delete:servers" in role["scopes"]


def test_a_class_starting_together_makes_the_students_network_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Docker takes two networks of one name: forty first starts must not make forty."""
    made = []

    async def fenced(self: ClassroomDockerSpawner) -> StudentNetwork:
        made.append(self.user.name)
        await asyncio.sleep(0.05)
        return StudentNetwork("aiclass-students", "br-test", "10.9.0.0/24", "10.9.0.1")

    monkeypatch.setattr(ClassroomDockerSpawner, "fenced_network", fenced)
    monkeypatch.setattr(ClassroomDockerSpawner, "_student_networks", {})
    monkeypatch.setattr(ClassroomDockerSpawner, "_network_lock", None)
    spawners = [spawner(f"stu-{n}", []) for n in range(4)]

    async def start_all() -> list[StudentNetwork]:
        return await asyncio.gather(*(each.student_network() for each in spawners))

    networks = asyncio.run(start_all())
    assert len(made) == 1
    assert {n.gateway for n in networks} == {"10.9.0.1"}
