"""KubeSpawner configured from our settings renders students' and teachers' pods of each profile.

The configuration is what the hub pod runs (:func:`configure_kubernetes_hub`); the user is a
stand-in with groups; the cluster is a kubeconfig nobody answers (no API call is made: pods
are rendered, not created). Every pod and claim is validated against the Kubernetes OpenAPI
schemas of the chart's oldest Kubernetes, and every limit of the profile is read back.

The attacks are a student's, with their own token, asking the REST API to start their server
with ``user_options`` of their choosing: the GPU profile outside the GPU groups, an image of
their own, KubeSpawner's profile options, a privileged pod. Each must be refused before any
pod is rendered, and the next plain start must be an ordinary CPU pod.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import kubernetes_validate
import pytest
from kubernetes_asyncio.client import ApiClient
from tornado import web
from traitlets.config import Config

from hub.kubernetes.hub_config import configure_kubernetes_hub
from hub.kubernetes.values import read_settings_file
from hub.lab_config import DEFERRED_NBGRADER_EXTENSION, TEACHER_PROFILE_IN_IMAGE
from hub.service.app import SERVICE_NAME
from hub.spawners.kubernetes import ClassroomKubeSpawner
from tests.kubernetes.conftest import KUBE_VERSION, write_settings

GIB = 1024**3


def hub_config(tmp_path: Path, variant: str, roster: str) -> Config:
    _, settings = read_settings_file(write_settings(tmp_path / variant, variant))
    c = Config()
    configure_kubernetes_hub(c, settings)
    c.ClassroomKubeSpawner.database_url = roster  # the roster fixture stands for PostgreSQL
    return c


def spawner(c: Config, name: str, groups: list[str], **options: Any) -> ClassroomKubeSpawner:
    user = SimpleNamespace(name=name, id=len(name), url=f"/user/{name}/", escaped_name=name,
                           groups=[SimpleNamespace(name=g) for g in groups])
    made = ClassroomKubeSpawner(config=c, user=user, _mock=True)
    made.user_options = options
    return made


async def render(made: ClassroomKubeSpawner) -> tuple[dict, dict]:
    """The pod and the home claim as the API server would receive them."""
    await made.load_user_options()
    async with ApiClient() as client:
        pod = client.sanitize_for_serialization(await made.get_pod_manifest())
        claim = client.sanitize_for_serialization(made.get_pvc_manifest())
    for manifest in (pod, claim):
        kubernetes_validate.validate(manifest, KUBE_VERSION, strict=True)
    return pod, claim


CASES = [  # who, groups, profile, memory (GiB), CPUs, Jupyter profile
    ("stu-a", ["class-7a"], "cpu", 2, 1.0, "student"),
    ("stu-s", ["class-senior"], "gpu", 12, 4.0, "student"),
    ("tch-a", [], "cpu", 2, 1.0, "teacher"),
    ("tch-a", ["class-senior"], "gpu", 12, 4.0, "teacher"),
]


@pytest.mark.parametrize("variant", ["gpu", "mig"])
@pytest.mark.parametrize(("name", "groups", "profile", "memory", "cpus", "lab"), CASES)
async def test_pod_of_each_person_and_profile_is_valid_and_carries_every_limit(
    tmp_path: Path, roster: str, fake_cluster: Path, variant: str, name: str,
    groups: list[str], profile: str, memory: int, cpus: float, lab: str,
) -> None:
    made = spawner(hub_config(tmp_path, variant, roster), name, groups, profile=profile)
    pod, claim = await render(made)
    spec = pod["spec"]
    [container] = spec["containers"]
    gpu_resource = "nvidia.com/mig-1g.10gb" if variant == "mig" else "nvidia.com/gpu"
    limits = {"cpu": cpus, "memory": memory * GIB}
    if profile == "gpu":
        limits[gpu_resource] = "1"
    assert container["resources"]["limits"] == limits
    assert container["resources"]["requests"] == {"cpu": 0.1, "memory": 512 * 1024**2}
    image = "student-gpu" if profile == "gpu" else "student"
    assert container["image"] == f"aiclass/{image}:0.1.0"
    assert spec["automountServiceAccountToken"] is False
    assert "serviceAccountName" not in spec or not spec["serviceAccountName"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    context = container["securityContext"]
    assert context["runAsUser"] == 1000 and context["runAsNonRoot"] is True
    assert context["allowPrivilegeEscalation"] is False and "privileged" not in context
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert set(volumes) == {"home", "shm"}  # no hostPath, no projected token
    assert volumes["home"]["persistentVolumeClaim"] == {"claimName": f"claim-{name}"}
    assert volumes["shm"]["emptyDir"] == {"medium": "Memory", "sizeLimit": f"{memory}G"}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts == {"/home/jovyan": "home", "/dev/shm": "shm"}
    assert claim["metadata"]["name"] == f"claim-{name}"
    assert claim["spec"]["resources"]["requests"] == {"storage": "5Gi"}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["AICLASS_EXCHANGE_URL"] == f"http://proxy-public/services/{SERVICE_NAME}/"
    extensions = container["args"][-1]
    if lab == "teacher":
        assert env["JUPYTER_CONFIG_PATH"] == TEACHER_PROFILE_IN_IMAGE
        assert DEFERRED_NBGRADER_EXTENSION not in extensions
    else:
        assert "JUPYTER_CONFIG_PATH" not in env
        assert f"'{DEFERRED_NBGRADER_EXTENSION}': True" in extensions
    if profile == "gpu":
        assert {"key": "nvidia.com/gpu", "operator": "Exists",
                "effect": "NoSchedule"} in spec["tolerations"]


async def test_the_classroom_service_listens_for_the_proxy_pod(
    tmp_path: Path, roster: str
) -> None:
    services = hub_config(tmp_path, "cpu", roster).JupyterHub.services.get_value([])
    [classroom] = [s for s in services if s["name"] == SERVICE_NAME]
    assert classroom["url"] == "http://hub:8181"
    assert classroom["command"][-4:] == ["--port", "8181", "--ip", "0.0.0.0"]


async def test_only_the_gpu_groups_are_offered_the_gpu(
    tmp_path: Path, roster: str, fake_cluster: Path
) -> None:
    c = hub_config(tmp_path, "gpu", roster)
    student = spawner(c, "stu-a", ["class-7a"])
    assert [p["slug"] for p in student.allowed_profiles()] == ["cpu"]
    assert await student.profile_form() == ""
    senior = spawner(c, "stu-s", ["class-senior"])
    assert [p["slug"] for p in senior.allowed_profiles()] == ["cpu", "gpu"]
    form = await senior.profile_form()
    assert "GPU 环境 / GPU environment" in form and "CPU 环境 / CPU environment" in form


ATTACKS = {
    "the GPU profile outside the GPU groups": ({"profile": "gpu"}, 403),
    "an image of one's own": ({"profile": "cpu", "image": "evil/root-shell:latest"}, 400),
    "KubeSpawner's unlisted image choice": (
        {"profile": "cpu", "profile-option-cpu--image--unlisted-choice": "evil/x"}, 400),
    "a privileged pod": ({"privileged": True}, 400),
    "a security context": ({"container_security_context": {"privileged": True}}, 400),
    "a profile that does not exist": ({"profile": "root"}, 400),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
async def test_students_user_options_are_refused(
    tmp_path: Path, roster: str, fake_cluster: Path, attack: str
) -> None:
    options, status = ATTACKS[attack]
    made = spawner(hub_config(tmp_path, "gpu", roster), "stu-a", ["class-7a"], **options)
    with pytest.raises(web.HTTPError) as refused:
        await made.load_user_options()
    assert refused.value.status_code == status
    assert made.user_options == {}  # forgotten: not offered again as the next start's defaults
    pod, _ = await render(made)
    [container] = pod["spec"]["containers"]
    assert container["image"] == "aiclass/student:0.1.0"
    assert set(container["resources"]["limits"]) == {"cpu", "memory"}
    assert "privileged" not in container["securityContext"]
