"""Kubernetes mode: one pod per student through KubeSpawner, on the Zero to JupyterHub chart.

:class:`ClassroomKubeSpawner` is KubeSpawner with docker mode's rules: every server runs one
of the profiles the center allows (CPU, and GPU for the groups ``[gpu] groups`` names) with
that profile's memory and CPU limits and, for GPU, one ``[gpu] resource`` (a whole GPU or a
MIG instance) that the NVIDIA device plugin hands out, so the cluster's scheduler, not the hub,
shares the GPUs. Pods run as the image's unprivileged user with every capability dropped, no
privilege escalation, the runtime's seccomp profile and no service-account token (a student's
code cannot talk to the Kubernetes API as anyone); the home lives on a PVC per student and
``/dev/shm`` is a memory volume the size of the profile's memory (PyTorch's data loaders need
more than the runtime's 64 MB). ``user_options`` may name a profile the person is allowed and
nothing more: KubeSpawner would honour profile options and unlisted choices (an image of the
student's choosing), so every other key is refused (:mod:`hub.spawners.profiles`). Teachers'
servers start with the teacher's Jupyter profile the image carries, as in docker mode.

The chart's own ``jupyterhub_config.py`` configures KubeSpawner from the chart's values;
:func:`configure_kubernetes_mode` then sets this subclass from the same settings those values
were rendered from (``aiclass k8s values``), so the pod does not depend on the two agreeing.
Pod processes have no per-pod limit in the pod spec: that is the kubelet's ``podPidsLimit``
(docs/kubernetes.md).
"""

from __future__ import annotations

import asyncio
from typing import Any

from kubespawner import KubeSpawner
from traitlets import Bool, Unicode, default
from traitlets import List as ListTrait
from traitlets.config import Config

from hub.images import image_reference
from hub.lab_config import (
    DEFERRED_NBGRADER_EXTENSION,
    ENGLISH_LAB_IN_IMAGE,
    NBGRADER_STUDENT_SERVER_EXTENSIONS,
    TEACHER_PROFILE_IN_IMAGE,
    person_profile,
)
from hub.settings import Settings
from hub.spawners.profiles import CPU, GPU, ProfileChoice

HOME = "/home/jovyan"
#: The student image's user (``jovyan``), as in docker mode's containers.
STUDENT_UID = 1000


def memory_quantity(size: str) -> str:
    """A settings size (``2G``, ``512M``, a byte count) as a Kubernetes quantity."""
    return size.upper() if size[-1:].isalpha() else size


def pod_volumes(shm_size: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The home PVC and a memory-backed ``/dev/shm`` of ``shm_size``: volumes and their mounts."""
    volumes = [
        {"name": "home", "persistentVolumeClaim": {"claimName": "{pvc_name}"}},
        {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": shm_size}},
    ]
    mounts = [{"name": "home", "mountPath": HOME}, {"name": "shm", "mountPath": "/dev/shm"}]
    return volumes, mounts


def profile_list(settings: Settings) -> list[dict[str, Any]]:
    """KubeSpawner profiles from the settings: CPU first (the default), GPU where enabled.

    The chart's values carry the same list, which is also what its image pre-puller pulls.
    """
    docker, gpu = settings.docker, settings.gpu
    cpu_memory = memory_quantity(docker.cpu_mem_limit)
    volumes, mounts = pod_volumes(cpu_memory)
    profiles = [{
        "slug": CPU,
        "display_name": f"CPU 环境 / CPU environment（{cpu_memory}，{docker.cpu_cpu_limit:g} 核 "
                        "/ cores）",
        "default": True,
        "kubespawner_override": {
            "image": image_reference("student", docker.registry_prefix),
            "mem_limit": cpu_memory,
            "cpu_limit": docker.cpu_cpu_limit,
            "volumes": volumes,
            "volume_mounts": mounts,
        },
    }]
    if gpu.enabled:
        gpu_memory = memory_quantity(docker.gpu_mem_limit)
        volumes, mounts = pod_volumes(gpu_memory)
        profiles.append({
            "slug": GPU,
            "display_name": f"GPU 环境 / GPU environment（{gpu_memory}，{gpu.resource}）",
            "kubespawner_override": {
                "image": image_reference("student-gpu", docker.registry_prefix),
                "mem_limit": gpu_memory,
                "cpu_limit": docker.gpu_cpu_limit,
                "extra_resource_limits": {gpu.resource: "1"},
                "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists",
                                 "effect": "NoSchedule"}],
                "volumes": volumes,
                "volume_mounts": mounts,
            },
        })
    return profiles


def container_security_context() -> dict[str, Any]:
    """Non-root, no capabilities, no privilege escalation, the runtime's seccomp profile."""
    return {
        "runAsNonRoot": True,
        "runAsUser": STUDENT_UID,
        "runAsGroup": STUDENT_UID,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


class ClassroomKubeSpawner(ProfileChoice, KubeSpawner):
    """KubeSpawner with classroom profiles gated by group, hardening and the teacher's tools."""

    classroom_profiles = ListTrait(
        help="""Every profile the center offers (KubeSpawner's ``profile_list`` form); each
        person is offered those their groups allow (:meth:`allowed_profiles`).""",
    ).tag(config=True)

    gpu_groups = ListTrait(
        Unicode(), help="JupyterHub groups whose members may choose the GPU profile."
    ).tag(config=True)

    database_url = Unicode(
        "", help="SQLAlchemy URL of the service database, where each person's role is read."
    ).tag(config=True)

    lab_locale = Unicode("zh_CN", help="The settings' ``[locale] default``.").tag(config=True)

    defer_nbgrader = Bool(
        True,
        help="""Students' servers load nbgrader's Assignments extensions at their first
        request, as in docker mode: a class starting together shares the nodes' cores.""",
    ).tag(config=True)

    _lab_profile: str = "student"

    @default("profile_list")
    def _default_profile_list(self) -> Any:
        return ClassroomKubeSpawner.allowed_profiles

    @default("options_form")
    def _default_options_form(self) -> Any:
        return ClassroomKubeSpawner.profile_form

    def may_use_gpu(self) -> bool:
        """Whether this user is in one of the groups the settings allow GPUs."""
        if not any(p["slug"] == GPU for p in self.classroom_profiles):
            return False
        return bool({group.name for group in self.user.groups}.intersection(self.gpu_groups))

    def allowed_profiles(self) -> list[dict[str, Any]]:
        """The profiles this person may start: CPU for everyone, GPU for the allowed groups."""
        return [p for p in self.classroom_profiles if p["slug"] != GPU or self.may_use_gpu()]

    async def profile_form(self) -> str:
        """No choice to make for most students; KubeSpawner's form for the GPU groups."""
        if not self.may_use_gpu():
            return ""
        return await self._render_options_form_dynamically(self)

    async def load_user_options(self) -> None:
        self.checked_profile({p["slug"] for p in self.classroom_profiles},
                             {p["slug"] for p in self.allowed_profiles()})
        if self.database_url:
            self._lab_profile = await asyncio.to_thread(
                person_profile, self.database_url, self.user.name)
        await super().load_user_options()
        self.apply_lab_profile()

    def apply_lab_profile(self) -> None:
        """The teacher's Jupyter profile for teachers; deferred nbgrader for students."""
        config_path = ":".join(path for path in (
            ENGLISH_LAB_IN_IMAGE if self.lab_locale == "en" else "",
            TEACHER_PROFILE_IN_IMAGE if self._lab_profile == "teacher" else "") if path)
        if config_path:
            self.environment = {**self.environment, "JUPYTER_CONFIG_PATH": config_path}
        extensions = {"jupyter_lsp": False, "notebook": False}
        if self.defer_nbgrader and self._lab_profile == "student":
            extensions[DEFERRED_NBGRADER_EXTENSION] = True
            extensions.update({name: False for name in NBGRADER_STUDENT_SERVER_EXTENSIONS})
        self.args = [f"--ServerApp.jpserver_extensions={extensions!r}"]


def configure_kubernetes_mode(c: Config, settings: Settings) -> None:
    """Kubernetes mode's spawner configuration, all from the settings."""
    kubernetes, docker = settings.kubernetes, settings.docker
    profiles = profile_list(settings)
    c.JupyterHub.spawner_class = ClassroomKubeSpawner
    spawner = c.ClassroomKubeSpawner
    spawner.classroom_profiles = profiles
    # the chart sets KubeSpawner.profile_list to the whole list: each person sees their own
    spawner.profile_list = ClassroomKubeSpawner.allowed_profiles
    spawner.gpu_groups = list(settings.gpu.groups)
    spawner.database_url = settings.database_url
    spawner.lab_locale = settings.locale.default
    spawner.namespace = kubernetes.namespace
    spawner.image = profiles[0]["kubespawner_override"]["image"]
    spawner.image_pull_policy = "IfNotPresent"
    spawner.mem_limit = memory_quantity(docker.cpu_mem_limit)
    spawner.cpu_limit = docker.cpu_cpu_limit
    spawner.mem_guarantee = memory_quantity(kubernetes.mem_guarantee)
    spawner.cpu_guarantee = kubernetes.cpu_guarantee
    spawner.uid = STUDENT_UID
    spawner.gid = STUDENT_UID
    spawner.fs_gid = STUDENT_UID
    spawner.allow_privilege_escalation = False
    spawner.container_security_context = container_security_context()
    spawner.pod_security_context = {"runAsNonRoot": True,
                                    "seccompProfile": {"type": "RuntimeDefault"}}
    spawner.automount_service_account_token = False
    spawner.storage_pvc_ensure = True
    spawner.pvc_name_template = "claim-{user_server}"
    spawner.storage_capacity = kubernetes.storage_size
    spawner.storage_access_modes = ["ReadWriteOnce"]
    if kubernetes.storage_class:
        spawner.storage_class = kubernetes.storage_class
    volumes, mounts = pod_volumes(memory_quantity(docker.cpu_mem_limit))
    spawner.volumes = volumes
    spawner.volume_mounts = mounts
    spawner.cmd = ["jupyterhub-singleuser"]
    spawner.default_url = settings.lab.default_url
    spawner.start_timeout = settings.hub.start_timeout
    spawner.http_timeout = settings.hub.start_timeout
    c.JupyterHub.concurrent_spawn_limit = settings.hub.concurrent_spawn_limit
