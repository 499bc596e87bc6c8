"""``aiclass k8s up``: the hub's Secret and grading Role, and ``helm upgrade --install`` for
KUBECONFIG's cluster.

Nothing here talks to a cluster itself: ``kubectl`` applies the Secret (its manifest on stdin,
so the password never appears on a command line) and ``helm`` installs the chart with the
values of :mod:`hub.kubernetes.values`, both on the cluster ``$KUBECONFIG`` names.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

from hub.kubernetes.values import (
    DATABASE_PASSWORD_KEY,
    OAUTH_SECRET_KEY,
    read_settings_file,
    values_yaml,
)
from hub.settings import Settings, SettingsError

CHART_REPOSITORY = "https://hub.jupyter.org/helm-chart/"
CHART_VERSION = "4.4.0"


class DeployError(Exception):
    """helm or kubectl is missing or refused; the message names which and why."""


def secret_manifest(settings: Settings) -> dict:
    """The hub's Secret: the database password and, for OIDC, the client secret."""
    files = {DATABASE_PASSWORD_KEY: settings.database.password_file}
    if settings.auth.method == "oauth":
        files[OAUTH_SECRET_KEY] = str(settings.data_dir / settings.oauth.client_secret_file)
    data = {}
    for key, name in files.items():
        if not name:
            raise SettingsError(f"{key}: 未设置对应的文件（[database] password_file / [oauth] "
                                f"client_secret_file）/ no file set for it")
        try:
            data[key] = base64.b64encode(Path(name).read_bytes().strip()).decode("ascii")
        except OSError as exc:
            raise SettingsError(f"{name}: 无法读取 / cannot be read: {exc.strerror}") from exc
    kubernetes = settings.kubernetes
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": kubernetes.secret, "namespace": kubernetes.namespace},
            "data": data}


#: The chart's hub ServiceAccount (``fullnameOverride: ""``), whose token the hub pod holds.
HUB_SERVICE_ACCOUNT = "hub"
GRADING_ROLE = "aiclass-grading"


def grading_rbac(settings: Settings) -> list[dict]:
    """What the classroom service in the hub pod needs to grade in Jobs, beyond the chart's
    hub Role (pods, claims, secrets, services): the Jobs, their ConfigMaps and pods' logs, and
    the deny-all NetworkPolicy of grading pods (``grading/sandbox/kubernetes.py``)."""
    namespace = settings.kubernetes.namespace
    metadata = {"name": GRADING_ROLE, "namespace": namespace}
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": metadata,
            "rules": [
                {"apiGroups": ["batch"], "resources": ["jobs"],
                 "verbs": ["create", "delete", "get"]},
                {"apiGroups": [""], "resources": ["configmaps"],
                 "verbs": ["create", "patch", "delete"]},
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]},
                {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
                {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"],
                 "verbs": ["create"]},
            ]}
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": metadata,
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                           "name": GRADING_ROLE},
               "subjects": [{"kind": "ServiceAccount", "name": HUB_SERVICE_ACCOUNT,
                             "namespace": namespace}]}
    return [role, binding]


def helm_command(settings: Settings, values_file: Path, chart: str | None) -> list[str]:
    """``helm upgrade --install`` of the chart (a local copy, or the JupyterHub repository)."""
    kubernetes = settings.kubernetes
    source = [chart] if chart else ["jupyterhub", "--repo", CHART_REPOSITORY,
                                    "--version", CHART_VERSION]
    return ["helm", "upgrade", "--install", kubernetes.release, *source,
            "--namespace", kubernetes.namespace, "--create-namespace",
            "--values", str(values_file), "--wait", "--timeout", "15m"]


def _run(argv: list[str], stdin: str | None = None) -> None:
    if shutil.which(argv[0]) is None:
        raise DeployError(f"找不到 {argv[0]}（make k8s-tools 安装到 .venv/bin）/ {argv[0]} is not "
                          "on PATH (make k8s-tools installs it into .venv/bin)")
    done = subprocess.run(argv, input=stdin, text=True, check=False)
    if done.returncode:
        raise DeployError(f"{argv[0]} {argv[1]} 失败 / failed (exit status {done.returncode})")


def install(settings_path: Path, chart: str | None, values_file: Path) -> Settings:
    """Apply the namespace, the hub's Secret and its grading Role, write the values to
    ``values_file``, and install the chart."""
    _, settings = read_settings_file(settings_path)
    manifest = secret_manifest(settings)
    values_file.write_text(values_yaml(settings_path), encoding="utf-8")
    kubernetes = settings.kubernetes
    namespace = {"apiVersion": "v1", "kind": "Namespace",
                 "metadata": {"name": kubernetes.namespace}}
    items = [namespace, manifest, *grading_rbac(settings)]
    _run(["kubectl", "apply", "-f", "-"],
         stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    _run(helm_command(settings, values_file, chart))
    return settings
