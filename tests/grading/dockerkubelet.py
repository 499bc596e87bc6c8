"""A stand-in for the API server and kubelet that runs a grading Job's pod through Docker.

No cluster runs here, so the rendered pod is translated, field by field, into the
``docker run`` that a kubelet's container runtime would make of it: the same image,
command, arguments, environment, working directory, uid and gid, read-only root,
dropped capabilities, no privilege escalation, memory and CPU limits (CPU request →
``--cpu-shares``), memory ``emptyDir`` volumes as tmpfs of their ``sizeLimit``, the
ConfigMap's items as read-only files at their paths, and one network namespace for
the pod: the first container's, with no interface but loopback (what the deny-all
NetworkPolicy leaves a grading pod). The pod deadline (``activeDeadlineSeconds``) is
enforced as the kubelet does it. What Docker cannot say is refused: an unknown
field of the pod or a container fails the translation, so the test cannot pass on a
spec it did not carry.

It answers the few calls :func:`grading.sandbox.kubernetes.run_job` makes, with the
client's object shapes, so the backend's own control flow drives real containers.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

#: Pod and container fields this translation carries; any other field fails the test.
POD_FIELDS = {"restartPolicy", "activeDeadlineSeconds", "terminationGracePeriodSeconds",
              "automountServiceAccountToken", "enableServiceLinks", "shareProcessNamespace",
              "hostNetwork", "hostPID", "hostIPC", "securityContext", "containers", "volumes"}
CONTAINER_FIELDS = {"name", "image", "imagePullPolicy", "command", "workingDir", "env",
                    "securityContext", "resources", "volumeMounts"}
#: Unit suffixes of Kubernetes quantities used in the rendered limits.
MEMORY_UNITS = {"": 1, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}


def memory_bytes(quantity: str) -> int:
    number = quantity.rstrip("KMGi")
    return int(number) * MEMORY_UNITS[quantity[len(number):]]


def cpus(quantity: str) -> float:
    return int(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


class ApiError(Exception):
    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


class DockerKubelet:
    """Core and Batch API in one object: ConfigMaps kept in memory, Jobs run by Docker.

    ``overrides`` maps an image to extra ``docker run`` arguments (the test mounts this
    checkout's ``grading`` package over the hub image's, so the code under test runs).
    ``node_pids_limit`` stands for the kubelet's ``podPidsLimit``, a node setting.
    """

    def __init__(self, prefix: str, overrides: dict[str, list[str]] | None = None,
                 node_pids_limit: int = 1024):
        self.prefix = prefix
        self.overrides = overrides or {}
        self.node_pids_limit = node_pids_limit
        self.config_maps: dict[str, dict] = {}
        self.pods: dict[str, dict] = {}
        self.deleted: list[tuple[str, str]] = []
        self.root = Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir="/var/tmp"))
        self.root.chmod(0o755)

    # --- the API calls run_job makes -------------------------------------------------
    def create_namespaced_config_map(self, namespace: str, body: dict):
        self.config_maps[body["metadata"]["name"]] = body
        return SimpleNamespace(metadata=SimpleNamespace(name=body["metadata"]["name"]))

    def patch_namespaced_config_map(self, name: str, namespace: str, body: dict):
        self.config_maps[name]["metadata"].update(body["metadata"])

    def delete_namespaced_config_map(self, name: str, namespace: str):
        self.deleted.append(("ConfigMap", name))
        if self.config_maps.pop(name, None) is None:
            raise ApiError(404)

    def create_namespaced_job(self, namespace: str, body: dict):
        name = body["metadata"]["name"]
        self.pods[name] = self._start_pod(name, body["spec"]["template"]["spec"])
        return SimpleNamespace(metadata=SimpleNamespace(name=name, uid=f"uid-{name}"))

    def delete_namespaced_job(self, name: str, namespace: str, propagation_policy: str):
        self.deleted.append(("Job", name))
        pod = self.pods.pop(name, None)
        if pod is None:
            raise ApiError(404)
        self._remove(pod)

    def list_namespaced_pod(self, namespace: str, label_selector: str):
        job_id = label_selector.split("=", 1)[1]
        items = [self._pod_status(name, pod) for name, pod in list(self.pods.items())
                 if name.endswith(job_id)]
        return SimpleNamespace(items=items)

    def read_namespaced_pod_log(self, name: str, namespace: str, container: str) -> str:
        pod = self.pods[name]
        logs = subprocess.run(["docker", "logs", pod["containers"][container]],
                              capture_output=True, text=True, check=True)
        return logs.stderr + logs.stdout

    # --- the kubelet's part ------------------------------------------------------------
    def _start_pod(self, name: str, spec: dict) -> dict:
        unknown = set(spec) - POD_FIELDS
        assert not unknown, f"pod fields this translation does not carry: {unknown}"
        assert spec["automountServiceAccountToken"] is False
        assert not (spec["hostNetwork"] or spec["hostPID"] or spec["hostIPC"]
                    or spec["shareProcessNamespace"])
        pod_dir = self.root / name
        pod_dir.mkdir()
        volumes = {volume["name"]: self._volume(pod_dir, volume) for volume in spec["volumes"]}
        containers: dict[str, str] = {}
        network = "none"
        for container in spec["containers"]:
            docker_name = f"{self.prefix}-{name}-{container['name']}"
            argv = self._docker_run(docker_name, container, spec, volumes, network)
            subprocess.run(argv, check=True, capture_output=True, timeout=120)
            containers[container["name"]] = docker_name
            network = f"container:{docker_name}"  # one network namespace per pod
        return {"containers": containers, "dir": pod_dir, "started": time.monotonic(),
                "deadline": spec["activeDeadlineSeconds"], "failed": None}

    def _volume(self, pod_dir: Path, volume: dict) -> tuple[str, str]:
        """``("bind", host path)`` or ``("tmpfs", options)`` for one pod volume."""
        if "emptyDir" in volume:
            empty = volume["emptyDir"]
            assert empty["medium"] == "Memory"
            if volume["name"] == "conn":  # shared by both containers: a host dir in tmpfs' stead
                shared = pod_dir / "conn"
                shared.mkdir(mode=0o777)
                shared.chmod(0o777)
                return ("bind", str(shared))
            return ("tmpfs", f"rw,nosuid,size={memory_bytes(empty['sizeLimit'])},mode=1777")
        config_map = self.config_maps[volume["configMap"]["name"]]
        files = pod_dir / volume["name"]
        for item in volume["configMap"]["items"]:
            target = files / item["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(base64.b64decode(config_map["binaryData"][item["key"]]))
            target.chmod(volume["configMap"]["defaultMode"])
        for folder in [files, *(p for p in files.rglob("*") if p.is_dir())]:
            folder.chmod(0o755)
        return ("bind", str(files))

    def _docker_run(self, docker_name: str, container: dict, pod: dict,
                    volumes: dict[str, tuple[str, str]], network: str) -> list[str]:
        unknown = set(container) - CONTAINER_FIELDS
        assert not unknown, f"container fields this translation does not carry: {unknown}"
        security = {**pod["securityContext"], **container["securityContext"]}
        assert security["runAsNonRoot"] and security["runAsUser"] != 0
        assert security["capabilities"] == {"drop": ["ALL"]}
        assert security["seccompProfile"] == {"type": "RuntimeDefault"}
        limits, requests = container["resources"]["limits"], container["resources"]["requests"]
        memory = str(memory_bytes(limits["memory"]))
        argv = ["docker", "run", "-d", "--name", docker_name, "--network", network,
                "--user", f"{security['runAsUser']}:{security['runAsGroup']}",
                "--cap-drop", "ALL",  # and Docker's default seccomp profile: RuntimeDefault
                "--memory", memory, "--memory-swap", memory,
                "--cpus", str(cpus(limits["cpu"])),
                "--cpu-shares", str(max(2, round(cpus(requests["cpu"]) * 1024))),
                "--pids-limit", str(self.node_pids_limit),
                "--workdir", container["workingDir"], "--entrypoint", container["command"][0]]
        if security["readOnlyRootFilesystem"]:
            argv.append("--read-only")
        if not security["allowPrivilegeEscalation"]:
            argv += ["--security-opt", "no-new-privileges"]
        for mount in container["volumeMounts"]:
            kind, value = volumes[mount["name"]]
            if kind == "tmpfs":
                # An emptyDir is mode 0777; Docker resets a tmpfs that is also the working
                # directory to 0755, so the pod's user owns it instead: the same access.
                owner = f"uid={security['runAsUser']},gid={security['runAsGroup']}"
                argv += ["--tmpfs", f"{mount['mountPath']}:{value},{owner}"]
            else:
                suffix = ":ro" if mount.get("readOnly") else ""
                argv += ["-v", f"{value}:{mount['mountPath']}{suffix}"]
        for variable in container["env"]:
            argv += ["-e", f"{variable['name']}={variable['value']}"]
        argv += self.overrides.get(container["image"], [])
        return [*argv, container["image"], *container["command"][1:]]

    def _state(self, docker_name: str) -> tuple[str, int]:
        out = subprocess.run(
            ["docker", "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", docker_name],
            capture_output=True, text=True, check=True).stdout.split()
        return out[0], int(out[1])

    def _pod_status(self, name: str, pod: dict) -> SimpleNamespace:
        statuses = []
        for container, docker_name in pod["containers"].items():
            status, code = self._state(docker_name)
            terminated = SimpleNamespace(exit_code=code) if status == "exited" else None
            statuses.append(SimpleNamespace(name=container, state=SimpleNamespace(
                terminated=terminated, waiting=None)))
        grader_done = next(s for s in statuses if s.name == "grader").state.terminated
        if not grader_done and time.monotonic() - pod["started"] > pod["deadline"]:
            pod["failed"] = "DeadlineExceeded"
            self._kill(pod)
        phase, reason = ("Failed", pod["failed"]) if pod["failed"] else ("Running", None)
        return SimpleNamespace(metadata=SimpleNamespace(name=name), status=SimpleNamespace(
            phase=phase, reason=reason, container_statuses=statuses))

    def _kill(self, pod: dict) -> None:
        subprocess.run(["docker", "kill", *pod["containers"].values()], capture_output=True)

    def _remove(self, pod: dict) -> None:
        subprocess.run(["docker", "rm", "-f", *pod["containers"].values()],
                       capture_output=True, timeout=60)
        shutil.rmtree(pod["dir"], ignore_errors=True)

    def close(self) -> None:
        for pod in list(self.pods.values()):
            self._remove(pod)
        self.pods.clear()
        shutil.rmtree(self.root, ignore_errors=True)
