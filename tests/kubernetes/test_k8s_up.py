"""``aiclass k8s up`` without a cluster: ``helm`` and ``kubectl`` on PATH are stand-ins that
record their command line and standard input, so the test reads exactly what the real tools
would be asked to do with KUBECONFIG's cluster."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest

from hub.cli import main
from hub.kubernetes.values import values_yaml
from tests.kubernetes.conftest import CHART, KUBE_VERSION, write_settings

RECORDER = """#!/bin/sh
log="{log}/$(basename "$0")"
printf '%s\\n' "$@" > "$log.argv"
if [ "$1" = apply ]; then cat > "$log.stdin"; fi
exit {status}
"""


def fake_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, helm_status: int = 0) -> Path:
    bin_dir, log = tmp_path / "bin", tmp_path / "log"
    bin_dir.mkdir()
    log.mkdir()
    for name, status in (("helm", helm_status), ("kubectl", 0)):
        tool = bin_dir / name
        tool.write_text(RECORDER.format(log=log, status=status), encoding="utf-8")
        tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


@pytest.mark.parametrize("variant", ["cpu", "oidc"])
def test_up_applies_the_secret_then_installs_the_chart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variant: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = fake_tools(tmp_path, monkeypatch)
    settings = write_settings(tmp_path / variant, variant)
    values = tmp_path / "values.yaml"
    assert main(["k8s", "up", "--settings", str(settings), "--chart", str(CHART),
                 "--values-out", str(values)]) == 0
    assert "aiclass" in capsys.readouterr().out
    helm = (log / "helm.argv").read_text(encoding="utf-8").split("\n")[:-1]
    assert helm == ["upgrade", "--install", "aiclass", str(CHART), "--namespace", "aiclass",
                    "--create-namespace", "--values", str(values), "--wait", "--timeout",
                    "15m"]
    assert values.read_text(encoding="utf-8") == values_yaml(settings)
    kubectl = (log / "kubectl.argv").read_text(encoding="utf-8").split("\n")[:-1]
    assert kubectl == ["apply", "-f", "-"]
    applied = json.loads((log / "kubectl.stdin").read_text(encoding="utf-8"))
    namespace, secret, role, binding = applied["items"]
    for manifest in applied["items"]:
        kubernetes_validate.validate(manifest, KUBE_VERSION, strict=True)
    # the classroom service grades in Jobs with the hub pod's account (grading/sandbox)
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "hub",
                                    "namespace": "aiclass"}]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    granted = {(resource, verb) for rule in role["rules"] for resource in rule["resources"]
               for verb in rule["verbs"]}
    assert {("jobs", "create"), ("configmaps", "create"), ("pods/log", "get"),
            ("networkpolicies", "create")} <= granted
    assert not {r for r, _ in granted} & {"secrets", "serviceaccounts", "roles"}
    assert namespace == {"apiVersion": "v1", "kind": "Namespace",
                         "metadata": {"name": "aiclass"}}
    assert secret["metadata"] == {"name": "aiclass-secrets", "namespace": "aiclass"}
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    expected = {"database-password": "s3cret-db"}
    if variant == "oidc":
        expected["oauth-client-secret"] = "s3cret-oidc"
    assert data == expected
    # the secrets travel on stdin only: never on a command line, never in the values
    for recorded in (helm, kubectl, [values.read_text(encoding="utf-8")]):
        assert not any("s3cret" in word for word in recorded)


def test_up_reports_a_failing_helm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_tools(tmp_path, monkeypatch, helm_status=1)
    settings = write_settings(tmp_path / "cpu", "cpu")
    assert main(["k8s", "up", "--settings", str(settings),
                 "--values-out", str(tmp_path / "v.yaml")]) == 1
    assert "helm upgrade" in capsys.readouterr().err


def test_up_and_values_refuse_a_settings_file_of_another_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = tmp_path / "aiclass.toml"
    settings.write_text('[hub]\nmode = "docker"\n', encoding="utf-8")
    for command in ("values", "up"):
        assert main(["k8s", command, "--settings", str(settings)]) == 2
        assert 'mode = "kubernetes"' in capsys.readouterr().err


def test_aiclass_up_points_a_kubernetes_settings_file_to_k8s_up(tmp_path: Path) -> None:
    settings = write_settings(tmp_path / "data", "cpu")
    done = subprocess.run([str(Path(sys.executable).parent / "aiclass"), "up", "--data",
                           str(settings.parent)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "aiclass k8s up" in done.stderr
    assert not (settings.parent / "jupyterhub.sqlite").exists()
