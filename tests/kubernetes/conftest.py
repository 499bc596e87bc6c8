"""Kubernetes mode without a cluster: settings files of each kind, the chart rendered by the real
Helm, and KubeSpawner pointed at a cluster that is never called.

The chart is Zero to JupyterHub 4.4.0 as shipped (``../shared/reference/z2jh/chart``); ``helm``
and ``kubectl`` come from ``make k8s-tools`` (``.venv/bin``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kubernetes_asyncio.config import kube_config

from hub.db import ServiceDatabase
from hub.org.models import Person, Role

REPO = Path(__file__).resolve().parents[2]
CHART = REPO.parent / "shared" / "reference" / "z2jh" / "chart"
#: The oldest Kubernetes the chart supports (Chart.yaml's kubeVersion ">=1.28.0-0"): objects
#: valid there are valid on every cluster the chart installs on.
KUBE_VERSION = "1.28.0"

BASE = """\
[hub]
mode = "kubernetes"

[database]
url = "postgresql+psycopg2://aiclass@db.example:5432/aiclass"
hub_url = "postgresql+psycopg2://aiclass@db.example:5432/jupyterhub"
password_file = "{data}/db-password"

[docker]
cpu_mem_limit = "2G"
cpu_cpu_limit = 1.0
gpu_mem_limit = "12G"
gpu_cpu_limit = 4.0
"""

GPU = """
[gpu]
enabled = true
groups = ["class-senior"]
"""

VARIANTS = {
    "cpu": "",
    "gpu": GPU,
    "mig": GPU + 'resource = "nvidia.com/mig-1g.10gb"\n',
    "oidc": """
[auth]
method = "oauth"

[oauth]
issuer = "https://sso.edu.example.cn"
authorize_url = "https://sso.edu.example.cn/authorize"
token_url = "https://sso.edu.example.cn/token"
userdata_url = "https://sso.edu.example.cn/userinfo"
client_id = "aiclass"
client_secret_file = "oauth-secret"

[kubernetes]
ingress_host = "ai.edu.example.cn"
""",
    "tls": GPU + """
[kubernetes]
ingress_host = "ai.edu.example.cn"
tls_secret = "aiclass-tls"
user_placeholders = 35
storage_class = "nfs-client"
storage_size = "10Gi"
""",
}


def tool(name: str) -> str:
    """``helm`` or ``kubectl`` from the venv (``make k8s-tools``), else from PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is missing: run `make k8s-tools`")
    return found


def write_settings(directory: Path, variant: str) -> Path:
    """A settings file of ``variant`` with its password (and OIDC secret) files beside it."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "db-password").write_text("s3cret-db\n", encoding="utf-8")
    (directory / "oauth-secret").write_text("s3cret-oidc\n", encoding="utf-8")
    path = directory / "aiclass.toml"
    path.write_text(BASE.format(data=directory) + VARIANTS[variant], encoding="utf-8")
    return path


def helm_template(values: Path) -> list[dict]:
    """The chart's manifests for ``values``, as ``helm template`` renders them."""
    done = subprocess.run(
        [tool("helm"), "template", "aiclass", str(CHART), "--namespace", "aiclass",
         "--kube-version", KUBE_VERSION, "--values", str(values)],
        capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@pytest.fixture
def fake_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A kubeconfig naming a closed port: KubeSpawner loads it, and nothing ever calls it."""
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "none",
        "clusters": [{"name": "none", "cluster": {"server": "https://127.0.0.1:9"}}],
        "users": [{"name": "none", "user": {"token": "unused"}}],
        "contexts": [{"name": "none", "context": {"cluster": "none", "user": "none"}}],
    }), encoding="utf-8")
    monkeypatch.setenv("KUBECONFIG", str(path))
    # read from the environment when the client was imported
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    return path


@pytest.fixture
def roster(tmp_path: Path) -> str:
    """A service database with one teacher and two students on the roster."""
    url = f"sqlite:///{tmp_path / 'aiclass.sqlite'}"
    database = ServiceDatabase(url)
    with database.session() as session:
        session.add(Person(username="tch-a", display_name="王老师", role=Role.TEACHER))
        session.add(Person(username="stu-a", display_name="李同学", role=Role.STUDENT))
        session.add(Person(username="stu-s", display_name="张同学", role=Role.STUDENT))
    database.engine.dispose()
    return url
