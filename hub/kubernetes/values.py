"""Values for the Zero to JupyterHub chart (4.4.0), rendered from the settings file.

``aiclass k8s values`` prints them; ``aiclass k8s up`` hands them to ``helm upgrade --install``.
One settings file serves every mode: what the chart deploys (hub image, PostgreSQL, storage,
network policies, scheduling, pre-pulling, ingress) comes from it here, and the hub pod reads
the same file back (mounted from the chart's Secret, with the secrets' paths pointed at the
mounted Kubernetes Secret) to configure our authenticator, spawner and services
(:mod:`hub.kubernetes.hub_config`).

Choices, and why:

- The classroom service runs in the hub pod as a hub-managed service, as in the other modes:
  it needs the hub's API token, its settings and the service database, which the hub pod
  already has; a Deployment of its own would need its own token, Secret and settings copy for
  no gain, since its heavy work (grading) runs in pods of its own. The proxy reaches it on one
  extra port of the hub's Service that the hub's network policy opens to the proxy alone.
- TLS is terminated by the cluster's Ingress (``[kubernetes] ingress_host`` and ``tls_secret``,
  a ``kubernetes.io/tls`` Secret the center manages): the proxy, hub and service then speak
  HTTP inside the cluster only, and students' pods reach the service at the proxy's Service.
- Students' pods may reach the hub's API, the proxy (and through it the classroom service) and
  the cluster's DNS, nothing else: every other egress rule of the chart is off.
- User placeholders keep room for ``[kubernetes] user_placeholders`` servers (one class) at
  the students' guaranteed size, with pod priority so a real student evicts a placeholder
  instead of waiting for a node to be added; images are pre-pulled on every node.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import yaml

from hub.images import image_reference
from hub.settings import Settings, SettingsError, parse_settings
from hub.spawners.kubernetes import memory_quantity, pod_volumes, profile_list

#: Where the hub pod finds its data dir (an emptyDir: state lives on PostgreSQL) and secrets.
POD_DATA_DIR = "/srv/aiclass"
POD_SECRETS_DIR = "/usr/local/etc/aiclass/secrets"
DATABASE_PASSWORD_KEY = "database-password"
OAUTH_SECRET_KEY = "oauth-client-secret"
EXTRA_CONFIG = ("from hub.kubernetes.hub_config import configure_kubernetes_hub\n"
                "configure_kubernetes_hub(c)\n")


def read_settings_file(path: Path) -> tuple[dict[str, Any], Settings]:
    """The settings file as written (to hand on to the hub pod) and validated."""
    try:
        raw = tomllib.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise SettingsError(f"{path}: 无法读取 / cannot be read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise SettingsError(f"{path}: 不是 UTF-8 文本 / is not UTF-8 text: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: TOML 语法错误 / TOML syntax error: {exc}") from exc
    settings = parse_settings(raw, str(path), path.parent.resolve())
    if settings.hub.mode != "kubernetes":
        raise SettingsError(f'{path}: [hub] mode = "{settings.hub.mode}": k8s 命令需要 '
                            'mode = "kubernetes" / the k8s commands need mode = "kubernetes"')
    return raw, settings


def public_url(settings: Settings) -> str:
    """The hub's address for people: the Ingress host, HTTPS where it has a TLS Secret."""
    kubernetes = settings.kubernetes
    scheme = "https" if kubernetes.tls_secret else "http"
    host = kubernetes.ingress_host or "proxy-public"
    return f"{scheme}://{host}{settings.hub.base_url}"


def pod_settings(raw: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The settings file for the hub pod: secrets read from the mounted Kubernetes Secret."""
    pod = {name: dict(section) for name, section in raw.items()}
    pod.setdefault("database", {})["password_file"] = f"{POD_SECRETS_DIR}/{DATABASE_PASSWORD_KEY}"
    if settings.auth.method == "oauth":
        oauth = pod.setdefault("oauth", {})
        oauth["client_secret_file"] = f"{POD_SECRETS_DIR}/{OAUTH_SECRET_KEY}"
        oauth.setdefault("callback_url", f"{public_url(settings)}hub/oauth_callback")
    return pod


def toml_text(document: dict[str, Any]) -> str:
    """A settings document (tables of strings, numbers, booleans and lists) as TOML."""
    lines = []
    for name, section in document.items():
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {json.dumps(value, ensure_ascii=False)}"
                     for key, value in section.items())
        lines.append("")
    return "\n".join(lines)


def _image(name: str, settings: Settings) -> dict[str, str]:
    repository, tag = image_reference(name, settings.docker.registry_prefix).rsplit(":", 1)
    return {"name": repository, "tag": tag, "pullPolicy": "IfNotPresent"}


def _hub_values(raw: dict[str, Any], settings: Settings) -> dict[str, Any]:
    kubernetes = settings.kubernetes
    port = kubernetes.service_port
    return {
        "image": _image("hub", settings),
        # the image's entrypoint writes a docker-mode settings file: here tini runs the
        # chart's command line (jupyterhub with the chart's config) directly
        "command": ["tini", "-g", "--"],
        "baseUrl": settings.hub.base_url,
        "concurrentSpawnLimit": settings.hub.concurrent_spawn_limit,
        "db": {"type": "postgres", "url": settings.database.hub_url, "upgrade": True},
        "extraConfig": {"aiclass": EXTRA_CONFIG},
        "extraEnv": {"AICLASS_DATA": POD_DATA_DIR},
        "extraFiles": {"aiclass-settings": {
            "mountPath": f"{POD_DATA_DIR}/aiclass.toml",
            "stringData": toml_text(pod_settings(raw, settings)),
        }},
        "extraVolumes": [
            {"name": "aiclass-data", "emptyDir": {}},
            {"name": "aiclass-secrets", "secret": {"secretName": kubernetes.secret}},
        ],
        "extraVolumeMounts": [
            {"name": "aiclass-data", "mountPath": POD_DATA_DIR},
            {"name": "aiclass-secrets", "mountPath": POD_SECRETS_DIR, "readOnly": True},
        ],
        "service": {"extraPorts": [{"name": "classroom", "port": port, "targetPort": port}]},
        "networkPolicy": {"ingress": [{
            "ports": [{"port": port}],
            "from": [{"podSelector": {"matchLabels": {"component": "proxy",
                                                      "release": kubernetes.release}}}],
        }]},
        "podSecurityContext": {"runAsNonRoot": True, "fsGroup": 1000,
                               "seccompProfile": {"type": "RuntimeDefault"}},
        "containerSecurityContext": {"runAsUser": 1000, "runAsGroup": 1000,
                                     "allowPrivilegeEscalation": False,
                                     "capabilities": {"drop": ["ALL"]}},
    }


def _singleuser_values(settings: Settings) -> dict[str, Any]:
    kubernetes, docker = settings.kubernetes, settings.docker
    profiles = profile_list(settings)
    volumes, mounts = pod_volumes(memory_quantity(docker.cpu_mem_limit))
    closed = dict.fromkeys(("cloudMetadataServer", "dnsPortsCloudMetadataServer",
                            "dnsPortsPrivateIPs", "nonPrivateIPs", "privateIPs"), False)
    return {
        "image": _image("student", settings),
        "uid": 1000,
        "fsGid": 1000,
        "allowPrivilegeEscalation": False,
        "cmd": "jupyterhub-singleuser",
        "defaultUrl": settings.lab.default_url,
        "startTimeout": settings.hub.start_timeout,
        "cpu": {"limit": docker.cpu_cpu_limit, "guarantee": kubernetes.cpu_guarantee},
        "memory": {"limit": memory_quantity(docker.cpu_mem_limit),
                   "guarantee": memory_quantity(kubernetes.mem_guarantee)},
        "storage": {
            "type": "dynamic",
            "capacity": kubernetes.storage_size,
            "homeMountPath": "/home/jovyan",
            "dynamic": {"storageClass": kubernetes.storage_class or None,
                        "pvcNameTemplate": "claim-{user_server}",
                        "storageAccessModes": ["ReadWriteOnce"]},
            "extraVolumes": [v for v in volumes if v["name"] == "shm"],
            "extraVolumeMounts": [m for m in mounts if m["name"] == "shm"],
        },
        "networkPolicy": {"enabled": True, "egress": [],
                          "egressAllowRules": {**closed, "dnsPortsKubeSystemNamespace": True}},
        "cloudMetadata": {"blockWithIptables": False},
        "extraPodConfig": {"automountServiceAccountToken": False,
                           "securityContext": {"runAsNonRoot": True,
                                               "seccompProfile": {"type": "RuntimeDefault"}}},
        "profileList": profiles,
    }


def chart_values(raw: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Every value we set for the chart; the chart's defaults stand for the rest."""
    kubernetes = settings.kubernetes
    cull_seconds = settings.docker.cull_idle_minutes * 60
    host = kubernetes.ingress_host
    return {
        "fullnameOverride": "",
        "hub": _hub_values(raw, settings),
        "proxy": {"service": {"type": "ClusterIP" if host else "LoadBalancer"}},
        "ingress": {
            "enabled": bool(host),
            "hosts": [host] if host else [],
            "tls": [{"hosts": [host], "secretName": kubernetes.tls_secret}]
            if kubernetes.tls_secret else [],
        },
        "singleuser": _singleuser_values(settings),
        "scheduling": {
            "userScheduler": {"enabled": True},
            "podPriority": {"enabled": True},
            "userPlaceholder": {"enabled": kubernetes.user_placeholders > 0,
                                "replicas": kubernetes.user_placeholders},
        },
        "prePuller": {"hook": {"enabled": kubernetes.prepull},
                      "continuous": {"enabled": kubernetes.prepull}},
        "cull": {"enabled": cull_seconds > 0, "timeout": max(cull_seconds, 60),
                 "every": max(60, cull_seconds // 10)},
    }


class _ValuesDumper(yaml.SafeDumper):
    """YAML with multi-line strings (the settings file, the extra config) as literal blocks."""


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_ValuesDumper.add_representer(str, _string)


def values_yaml(path: Path) -> str:
    """``aiclass k8s values``: the chart's values for the settings file at ``path``."""
    raw, settings = read_settings_file(path)
    header = (f"# aiclass k8s values --settings {path}\n"
              f"# Zero to JupyterHub 4.4.0, release {settings.kubernetes.release} in namespace "
              f"{settings.kubernetes.namespace}; Secret {settings.kubernetes.secret} holds "
              f"{DATABASE_PASSWORD_KEY}" + (f" and {OAUTH_SECRET_KEY}"
                                            if settings.auth.method == "oauth" else "") + "\n")
    return header + yaml.dump(chart_values(raw, settings), Dumper=_ValuesDumper,
                              allow_unicode=True, sort_keys=False)

