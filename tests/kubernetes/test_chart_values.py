"""``aiclass k8s values`` rendered through the real Zero to JupyterHub chart by ``helm template``.

Helm validates the values against the chart's schema (an unknown or mistyped key fails the
render); every object it renders is validated against the Kubernetes OpenAPI schemas of the
chart's oldest supported Kubernetes; then the objects are read for what the settings promise.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from hub.cli import main
from tests.kubernetes.conftest import (
    KUBE_VERSION,
    REPO,
    VARIANTS,
    helm_template,
    write_settings,
)


def render(tmp_path: Path, variant: str, capsys: pytest.CaptureFixture[str]) -> list[dict]:
    settings = write_settings(tmp_path / variant, variant)
    assert main(["k8s", "values", "--settings", str(settings)]) == 0
    values = tmp_path / f"{variant}-values.yaml"
    values.write_text(capsys.readouterr().out, encoding="utf-8")
    return helm_template(values)


def find(objects: list[dict], kind: str, name: str) -> dict:
    [found] = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def chart_values(objects: list[dict]) -> dict:
    """The values as the hub pod reads them (the chart's hub Secret, ``values.yaml``)."""
    secret = find(objects, "Secret", "hub")
    return yaml.safe_load(base64.b64decode(secret["data"]["values.yaml"]))


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_chart_renders_and_every_object_is_valid(
    tmp_path: Path, variant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    objects = render(tmp_path, variant, capsys)
    kinds = {o["kind"] for o in objects}
    assert {"Deployment", "NetworkPolicy", "StatefulSet", "DaemonSet", "Secret"} <= kinds
    for manifest in objects:
        kubernetes_validate.validate(manifest, KUBE_VERSION, strict=True)
    everything = yaml.safe_dump_all(objects) + yaml.safe_dump(chart_values(objects))
    # the passwords stay in the files and the Secret `aiclass k8s up` applies, never in values
    assert "s3cret" not in everything


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_students_pods_reach_only_the_hub_the_proxy_and_dns(
    tmp_path: Path, variant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = find(render(tmp_path, variant, capsys), "NetworkPolicy", "singleuser")
    assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    allowed = set()
    for rule in policy["spec"]["egress"]:
        [peer] = rule["to"]
        assert "ipBlock" not in peer, rule  # no address range: not the internet, not the LAN
        ports = frozenset(p["port"] for p in rule["ports"])
        if "namespaceSelector" in peer:
            assert peer["namespaceSelector"] == {
                "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}
            allowed.add(("kube-system DNS", ports))
        else:
            allowed.add((peer["podSelector"]["matchLabels"]["component"], ports))
    assert allowed == {("hub", frozenset({8081})), ("proxy", frozenset({8000})),
                       ("autohttps", frozenset({8080, 8443})),
                       ("kube-system DNS", frozenset({53}))}


def test_the_classroom_port_of_the_hub_is_open_to_the_proxy_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    objects = render(tmp_path, "cpu", capsys)
    ingress = find(objects, "NetworkPolicy", "hub")["spec"]["ingress"]
    [classroom] = [rule for rule in ingress if {"port": 8181} in rule["ports"]]
    assert classroom["from"] == [{"podSelector": {"matchLabels": {
        "component": "proxy", "release": "aiclass"}}}]
    proxy = find(objects, "Deployment", "proxy")["spec"]["template"]["metadata"]["labels"]
    assert {"component": "proxy", "release": "aiclass"}.items() <= proxy.items()
    ports = {p["name"]: p["port"] for p in find(objects, "Service", "hub")["spec"]["ports"]}
    assert ports == {"hub": 8081, "classroom": 8181}


@pytest.mark.parametrize("variant", ["cpu", "oidc"])
def test_hub_runs_non_root_with_our_config_and_settings(
    tmp_path: Path, variant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    objects = render(tmp_path, variant, capsys)
    pod = find(objects, "Deployment", "hub")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    # the account `aiclass k8s up` binds the grading Role to
    assert pod["serviceAccountName"] == "hub" == find(objects, "ServiceAccount", "hub")[
        "metadata"]["name"]
    [hub] = pod["containers"]
    assert hub["image"] == "aiclass/hub:0.1.0"
    assert hub["command"] == ["tini", "-g", "--"]
    assert hub["args"][:3] == ["jupyterhub", "--config",
                               "/usr/local/etc/jupyterhub/jupyterhub_config.py"]
    context = hub["securityContext"]
    assert context["runAsUser"] == 1000 and context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    mounts = {m["mountPath"]: m["name"] for m in hub["volumeMounts"]}
    assert mounts["/srv/aiclass/aiclass.toml"] == "files"
    assert mounts["/usr/local/etc/aiclass/secrets"] == "aiclass-secrets"
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["aiclass-secrets"]["secret"]["secretName"] == "aiclass-secrets"
    values = chart_values(objects)
    assert "configure_kubernetes_hub(c)" in values["hub"]["extraConfig"]["aiclass"]
    pod_settings = values["hub"]["extraFiles"]["aiclass-settings"]["stringData"]
    secrets = "/usr/local/etc/aiclass/secrets"
    assert f'password_file = "{secrets}/database-password"' in pod_settings
    if variant == "oidc":
        assert f'client_secret_file = "{secrets}/oauth-client-secret"' in pod_settings
        assert ('callback_url = "http://ai.edu.example.cn/hub/oauth_callback"'
                in pod_settings)
    db = values["hub"]["db"]
    assert (db["type"], db["url"], db["password"]) == (
        "postgres", "postgresql+psycopg2://aiclass@db.example:5432/jupyterhub", None)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_profiles_carry_limits_gpus_and_shared_memory(
    tmp_path: Path, variant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    singleuser = chart_values(render(tmp_path, variant, capsys))["singleuser"]
    assert singleuser["extraPodConfig"]["automountServiceAccountToken"] is False
    assert singleuser["uid"] == 1000 and singleuser["allowPrivilegeEscalation"] is False
    assert singleuser["cloudMetadata"]["blockWithIptables"] is False  # no root init container
    profiles = {p["slug"]: p["kubespawner_override"] for p in singleuser["profileList"]}
    assert profiles["cpu"]["mem_limit"] == "2G" and profiles["cpu"]["cpu_limit"] == 1.0
    assert "extra_resource_limits" not in profiles["cpu"]
    for override in profiles.values():
        shm = {v["name"]: v for v in override["volumes"]}["shm"]
        assert shm["emptyDir"] == {"medium": "Memory", "sizeLimit": override["mem_limit"]}
        assert {"name": "shm", "mountPath": "/dev/shm"} in override["volume_mounts"]
    if variant in ("gpu", "tls", "mig"):
        resource = "nvidia.com/mig-1g.10gb" if variant == "mig" else "nvidia.com/gpu"
        assert profiles["gpu"]["extra_resource_limits"] == {resource: "1"}
        assert profiles["gpu"]["image"] == "aiclass/student-gpu:0.1.0"
        assert profiles["gpu"]["mem_limit"] == "12G" and profiles["gpu"]["cpu_limit"] == 4.0
    else:
        assert set(profiles) == {"cpu"}


def test_a_class_arriving_at_once_finds_room_and_pulled_images(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    objects = render(tmp_path, "tls", capsys)
    placeholders = find(objects, "StatefulSet", "user-placeholder")
    assert placeholders["spec"]["replicas"] == 35
    priorities = {o["metadata"]["name"]: o["value"] for o in objects
                  if o["kind"] == "PriorityClass"}
    placeholder_class = placeholders["spec"]["template"]["spec"]["priorityClassName"]
    user_class = "aiclass-default-priority"
    assert priorities[placeholder_class] < priorities[user_class]  # students evict them
    requests = placeholders["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert requests["requests"] == {"cpu": 0.1, "memory": "512M"}  # a student's guarantee
    puller = find(objects, "DaemonSet", "continuous-image-puller")["spec"]["template"]["spec"]
    pulled = {c["image"] for c in puller["initContainers"]}
    assert {"aiclass/student:0.1.0", "aiclass/student-gpu:0.1.0"} <= pulled
    storage = chart_values(objects)["singleuser"]["storage"]
    assert storage["capacity"] == "10Gi" and storage["dynamic"]["storageClass"] == "nfs-client"


def test_tls_at_the_ingress(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    objects = render(tmp_path, "tls", capsys)
    ingress = find(objects, "Ingress", "jupyterhub")["spec"]
    assert ingress["tls"] == [{"hosts": ["ai.edu.example.cn"], "secretName": "aiclass-tls"}]
    assert ingress["rules"][0]["host"] == "ai.edu.example.cn"
    assert find(objects, "Service", "proxy-public")["spec"]["type"] == "ClusterIP"
    assert not [o for o in render(tmp_path, "cpu", capsys) if o["kind"] == "Ingress"]


def test_the_charts_own_hub_config_loads_ours(
    tmp_path: Path, roster: str, fake_cluster: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The chart's ``jupyterhub_config.py``, its ConfigMap and Secret mounted where the chart
    mounts them (a mount namespace of bubblewrap's), runs our ``hub.extraConfig``: the hub gets
    our spawner, sign-in, services and database, and a GPU student's pod carries the chart's
    labels (so its network policy selects it) and priority with our limits."""
    objects = render(tmp_path, "gpu", capsys)
    etc, data, secrets = tmp_path / "etc", tmp_path / "data", tmp_path / "secrets"
    for directory in (etc / "config", etc / "secret", data, secrets):
        directory.mkdir(parents=True)
    for key, text in find(objects, "ConfigMap", "hub")["data"].items():
        (etc / "config" / key).write_text(text, encoding="utf-8")
        if key.endswith(".py"):
            (etc / key).write_text(text, encoding="utf-8")
    for key, encoded in find(objects, "Secret", "hub")["data"].items():
        (etc / "secret" / key).write_bytes(base64.b64decode(encoded))
    values = chart_values(objects)
    (data / "aiclass.toml").write_text(
        values["hub"]["extraFiles"]["aiclass-settings"]["stringData"], encoding="utf-8")
    (secrets / "database-password").write_text("s3cret-db\n", encoding="utf-8")
    environment = {"POD_NAMESPACE": "aiclass", "HELM_RELEASE_NAME": "aiclass",
                   "HUB_SERVICE_HOST": "10.0.0.2", "HUB_SERVICE_PORT": "8081",
                   "PROXY_API_SERVICE_HOST": "10.0.0.3", "PROXY_API_SERVICE_PORT": "8001",
                   "PROXY_PUBLIC_SERVICE_HOST": "10.0.0.4", "PROXY_PUBLIC_SERVICE_PORT": "80",
                   "CONFIGPROXY_AUTH_TOKEN": "unused", "KUBECONFIG": str(fake_cluster),
                   "PROBE_ROSTER": roster, **values["hub"]["extraEnv"]}
    command = ["bwrap", "--dev-bind", "/", "/", "--tmpfs", "/usr/local/etc",
               "--bind", str(etc), "/usr/local/etc/jupyterhub",
               "--ro-bind", str(secrets), "/usr/local/etc/aiclass/secrets",
               "--tmpfs", "/srv", "--bind", str(data), "/srv/aiclass",
               sys.executable, "-m", "tests.kubernetes.chart_hub_probe"]
    done = subprocess.run(command, cwd=REPO, env={**os.environ, **environment},
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    hub = json.loads(done.stdout.splitlines()[-1])
    assert hub["spawner_class"] == "ClassroomKubeSpawner"
    assert hub["offered"] == {"stu-a": ["cpu"], "stu-s": ["cpu", "gpu"]}
    assert hub["authenticator_class"] == "RosterAuthenticator"
    assert hub["db_url"] == ("postgresql+psycopg2://aiclass:s3cret-db@db.example:5432/"
                             "jupyterhub")
    assert hub["services"]["classroom"]["url"] == "http://hub:8181"
    assert set(hub["services"]) == {"classroom", "aiclass-org-mirror", "jupyterhub-idle-culler"}
    pod = hub["pod"]
    kubernetes_validate.validate(pod, KUBE_VERSION, strict=True)
    policy = find(objects, "NetworkPolicy", "singleuser")["spec"]["podSelector"]["matchLabels"]
    assert policy.items() <= pod["metadata"]["labels"].items()
    assert pod["spec"]["priorityClassName"] == "aiclass-default-priority"
    assert pod["spec"]["automountServiceAccountToken"] is False
    [container] = pod["spec"]["containers"]
    assert container["resources"]["limits"] == {"cpu": 4.0, "memory": 12 * 1024**3,
                                                "nvidia.com/gpu": "1"}
