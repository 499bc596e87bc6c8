"""Kubernetes sandbox: each notebook graded by a Job whose pod holds the grader and the kernel.

Why a Job and not a bare Pod: the control plane then enforces the deadline
(``activeDeadlineSeconds``) and removes what is left (``ttlSecondsAfterFinished``,
the ConfigMap owned by the Job) even when the grading worker that created it died,
so no orphan sweep is needed; ``backoffLimit: 0`` because a retried notebook
would just run the same student code twice.

Why two containers: the other backends keep the grader (nbclient, canaries, the
static scan) on the host and only the kernel in the sandbox. A pod cannot reach a
grader outside it without opening the network, so the grader moves into the pod as
its own container (the hub image, which carries :mod:`grading`), beside the kernel
container (the student image, as the Docker sandbox runs it). Containers of a pod
have separate process and mount namespaces: student code cannot see, signal or
rewrite the grader, nor write to its log. The two share only the connection
directory (the kernel's IPC sockets, as the Docker sandbox shares it with the host)
and the loopback interface, on which nothing listens.

How the work gets in and out: the source assignment, its data files and the
submission travel in a ConfigMap mounted into the grader container only; the
result is the grader container's last log line. The pod therefore needs no
network at all (a NetworkPolicy denies all ingress and egress to grading pods),
holds no token to steal, and the gradebook is neither mounted nor reachable.
The price is a ConfigMap's 1 MiB: a larger assignment is refused with that reason.

Limits as the Docker sandbox sets them: read-only roots, a non-root uid, all
capabilities dropped, no privilege escalation, seccomp ``RuntimeDefault``, memory
and CPU limits, memory-backed ``emptyDir`` volumes with ``sizeLimit`` for the work
and temp directories, the CPU request giving the same CFS weight as Docker's
``--cpu-shares`` for the limits' niceness. A pod's pids limit is the kubelet's
(``podPidsLimit``, node-wide, set by the cluster's administrator): instead, each
job runs as its own uid and the kernel sets ``RLIMIT_NPROC`` to the limits' pids,
which then counts this pod's processes only.
"""

from __future__ import annotations

import base64
import json
import math
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat
from traitlets import Any as AnyTrait
from traitlets import Float, Unicode

from grading.sandbox.base import (
    BOOT_SOURCE,
    CONN_DIR_INSIDE,
    WORK_DIR_INSIDE,
    SandboxBackend,
    SandboxError,
    boot_rlimits,
    sandbox_environment,
)
from grading.sandbox.limits import MIB, SandboxLimits
from grading.sandbox.registry import register_backend

if TYPE_CHECKING:
    from grading.autograde.grader import NotebookGrader
    from grading.autograde.results import NotebookResult

#: Label on every grading pod; the NetworkPolicy selects it.
COMPONENT_LABEL = "app.kubernetes.io/component"
COMPONENT = "aiclass-grading"
#: Label naming one grading job (its pods, its ConfigMap).
JOB_LABEL = "aiclass.org/grading-job"
#: Where the ConfigMap is mounted in the grader container.
JOB_DIR_INSIDE = "/job"
#: The grader's result line starts with this.
RESULT_MARKER = "AICLASS-RESULT "
#: The FIFO through which the grader hands the kernel its files (boot.py's stdin).
FILES_FIFO = f"{CONN_DIR_INSIDE}/files"
#: Written by the kernel container's shell when the kernel exits: its exit status.
EXIT_FILE = f"{CONN_DIR_INSIDE}/exited"
#: What a ConfigMap may hold (the API server refuses more).
CONFIGMAP_BYTES = 1024 * 1024
#: Scheduling, image pull and the two containers' start, on top of the notebook's own time.
STARTUP_SECONDS = 120
#: Uids of grading jobs: one per job, above any uid a node's own users have.
JOB_UID_BASE = 200_000
JOB_UID_SPAN = 1_000_000_000
#: The grader container's own resources (nbclient, nbgrader's preprocessors).
GRADER_MEMORY = 768 * MIB
GRADER_CPU = "500m"
#: Processes and threads of the grader container, which shares the job's uid.
GRADER_THREADS = 64
#: The kernel container: make the FIFO, run the boot code with it as stdin, record the exit.
KERNEL_SHELL = (f'mkfifo -m 0600 {FILES_FIFO} && "$0" -c "$1" "$2" < {FILES_FIFO}; '
                f"echo $? > {EXIT_FILE}")


def job_uid(job_id: str) -> int:
    """The uid this job's containers run as: its own, so RLIMIT_NPROC counts only its pod."""
    return JOB_UID_BASE + int(job_id, 16) % JOB_UID_SPAN


def kernel_boot_argument(limits: SandboxLimits, uid_processes: int) -> str:
    """boot.py's argument: memory is the cgroup's, the process count an rlimit of the job's uid."""
    rlimits = boot_rlimits(limits, limited_by_cgroup=True)
    rlimits["RLIMIT_NPROC"] = uid_processes
    return json.dumps({"rlimits": rlimits, "stream_chars": limits.kill_output_bytes})


def cpu_request(limits: SandboxLimits) -> str:
    """Millicores whose CFS weight equals Docker's ``--cpu-shares`` for the limits' niceness.

    The kubelet gives a container ``millicores * 1024 // 1000`` shares; rounding up here
    makes that exactly :attr:`SandboxLimits.cpu_shares`.
    """
    return f"{max(1, math.ceil(limits.cpu_shares * 1000 / 1024))}m"


def grading_network_policy(namespace: str) -> dict:
    """Deny every connection to and from grading pods (the pod's loopback is not filtered)."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "aiclass-grading-deny-all", "namespace": namespace},
        "spec": {
            "podSelector": {"matchLabels": {COMPONENT_LABEL: COMPONENT}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [],
            "egress": [],
        },
    }


def job_files(assignment_id: str, source: dict[str, bytes], submission: dict[str, bytes],
              job: dict) -> dict[str, bytes]:
    """The grader's files by path under :data:`JOB_DIR_INSIDE`."""
    files = {f"source/{assignment_id}/{name}": data for name, data in source.items()}
    files.update({f"submission/{name}": data for name, data in submission.items()})
    files["job.json"] = json.dumps(job).encode()
    return files


def render_grading_job(
    *,
    job_id: str,
    namespace: str,
    kernel_image: str,
    grader_image: str,
    limits: SandboxLimits,
    files: dict[str, bytes],
    kernel_python: str = "/opt/venv/bin/python3",
    grader_python: str = "/opt/venv/bin/python3",
) -> dict[str, dict]:
    """The ConfigMap and Job that grade one notebook: plain manifests, no cluster needed.

    ``files`` are the grader's inputs by path (:func:`job_files`). ConfigMap keys cannot
    hold ``/``, so each file is a numbered key projected to its path.
    """
    name = f"aiclass-grade-{job_id}"
    size = sum(len(data) for data in files.values())
    if size > CONFIGMAP_BYTES * 3 // 4:  # base64 grows the data by a third
        raise SandboxError(
            f"作业与提交共 {size} 字节，超出 Kubernetes 评分可传递的上限 / the assignment and "
            f"submission ({size} bytes) exceed what a ConfigMap can carry to a grading pod")
    keys = {f"f{index}": path for index, path in enumerate(sorted(files))}
    labels = {COMPONENT_LABEL: COMPONENT, JOB_LABEL: job_id}
    uid = job_uid(job_id)
    security = {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    deadline = math.ceil(limits.wall_seconds) + STARTUP_SECONDS
    environment = [{"name": key, "value": value} for key, value in sandbox_environment().items()]
    kernel = {
        "name": "kernel",
        "image": kernel_image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/sh", "-c", KERNEL_SHELL, kernel_python, BOOT_SOURCE,
                    kernel_boot_argument(limits, limits.pids + GRADER_THREADS)],
        "workingDir": WORK_DIR_INSIDE,
        "env": environment,
        "securityContext": security,
        "resources": {
            "limits": {"memory": str(limits.memory_bytes), "cpu": f"{limits.cpus:g}"},
            "requests": {"memory": str(limits.memory_bytes), "cpu": cpu_request(limits)},
        },
        "volumeMounts": [
            {"name": "conn", "mountPath": CONN_DIR_INSIDE},
            {"name": "work", "mountPath": WORK_DIR_INSIDE},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    grader = {
        "name": "grader",
        "image": grader_image,
        "imagePullPolicy": "IfNotPresent",
        "command": [grader_python, "-m", "grading.sandbox.podgrade", JOB_DIR_INSIDE],
        "workingDir": "/tmp",
        "env": [{"name": "PATH", "value": "/opt/venv/bin:/usr/local/bin:/usr/bin:/bin"},
                {"name": "HOME", "value": "/tmp"}, {"name": "LANG", "value": "C.UTF-8"}],
        "securityContext": security,
        "resources": {
            "limits": {"memory": str(GRADER_MEMORY), "cpu": GRADER_CPU},
            "requests": {"memory": str(GRADER_MEMORY), "cpu": GRADER_CPU},
        },
        "volumeMounts": [
            {"name": "job", "mountPath": JOB_DIR_INSIDE, "readOnly": True},
            {"name": "conn", "mountPath": CONN_DIR_INSIDE},
            {"name": "grader-tmp", "mountPath": "/tmp"},
        ],
    }

    def memory_dir(volume: str, size_limit: int) -> dict:
        return {"name": volume, "emptyDir": {"medium": "Memory", "sizeLimit": str(size_limit)}}

    pod_spec = {
        "restartPolicy": "Never",
        "activeDeadlineSeconds": deadline,
        "terminationGracePeriodSeconds": 1,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "shareProcessNamespace": False,
        "hostNetwork": False,
        "hostPID": False,
        "hostIPC": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": uid,
            "runAsGroup": uid,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [grader, kernel],
        "volumes": [
            {"name": "job", "configMap": {
                "name": name, "defaultMode": 0o444,
                "items": [{"key": key, "path": path} for key, path in keys.items()]}},
            memory_dir("conn", 1 * MIB),
            memory_dir("work", limits.work_bytes),
            memory_dir("tmp", limits.work_bytes),
            memory_dir("grader-tmp", 256 * MIB),
        ],
    }
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "immutable": True,
        "binaryData": {key: base64.b64encode(files[path]).decode()
                       for key, path in keys.items()},
    }
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": deadline,
            "ttlSecondsAfterFinished": 300,
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    }
    return {"config_map": config_map, "job": job}


def parse_result(log: str) -> dict | None:
    """The grader's result from its container log, or ``None`` when it wrote none."""
    for line in reversed(log.splitlines()):
        if line.startswith(RESULT_MARKER):
            return json.loads(line[len(RESULT_MARKER):])
    return None


def grader_image_for(kernel_image: str) -> str:
    """The hub image of the same version and registry: it carries :mod:`grading`."""
    return kernel_image.replace("aiclass/student:", "aiclass/hub:")


@register_backend("kubernetes")
class KubernetesSandbox(SandboxBackend):
    """Grades each notebook in a Kubernetes Job (see the module's docstring)."""

    name = "kubernetes"
    grades_whole_notebooks = True
    image = Unicode(help="The student image: the kernel container's").tag(config=True)
    grader_image = Unicode(help="The grader container's image (default: the hub image of "
                           "the student image's version)").tag(config=True)
    namespace = Unicode(help="Namespace of the grading Jobs (default: this pod's own)"
                        ).tag(config=True)
    poll_seconds = Float(1.0, help="How often the Job's pod is looked at").tag(config=True)
    core = AnyTrait(help="CoreV1Api; made from the cluster's configuration when unset")
    batch = AnyTrait(help="BatchV1Api; made from the cluster's configuration when unset")
    networking = AnyTrait(help="NetworkingV1Api; made from the cluster's configuration when "
                          "unset")

    _policy_ensured = False

    @classmethod
    def for_run(cls, limits: SandboxLimits, image: str | None) -> KubernetesSandbox:
        return cls(limits=limits, image=image or "")

    def connect(self) -> None:
        """The API clients, from the pod's service account or else ``KUBECONFIG``."""
        if self.core is not None:
            return
        from kubernetes import client, config
        try:
            config.load_incluster_config()
        except config.ConfigException:
            config.load_kube_config()
        api = client.ApiClient()
        self.core = client.CoreV1Api(api)
        self.batch = client.BatchV1Api(api)
        self.networking = client.NetworkingV1Api(api)

    def _namespace(self) -> str:
        if not self.namespace:
            own = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
            self.namespace = own.read_text().strip() if own.is_file() else "default"
        return self.namespace

    def available(self) -> bool:
        """A cluster is configured (in-cluster or ``KUBECONFIG``) and the image is named."""
        if not self.image:
            return False
        try:
            self.connect()
        except Exception:  # noqa: BLE001 - no client, no config: the backend is not available
            return False
        return True

    def unavailable_reason(self) -> str:
        return ("Kubernetes 集群或镜像不可用 / no Kubernetes cluster is configured here "
                "(in-cluster or KUBECONFIG), or no image was given")

    def command(self, sandbox_id, conn_dir, limits, cgroup_procs) -> list[str]:
        raise SandboxError("Kubernetes 沙箱按笔记本整体评分 / the kubernetes sandbox grades "
                           "whole notebooks (grade_notebook), it starts no local kernel")

    def ensure_network_policy(self) -> None:
        """Create the deny-all policy for grading pods unless it exists (once per backend)."""
        if self._policy_ensured:
            return
        self.connect()
        try:
            self.networking.create_namespaced_network_policy(
                self._namespace(), grading_network_policy(self._namespace()))
        except Exception as error:
            if getattr(error, "status", None) != 409:  # 409: it already exists
                raise
        self._policy_ensured = True

    def grade_notebook(self, grader: NotebookGrader, student: str, notebook: str,
                       folder: Path) -> NotebookResult:
        """Grade ``folder/<notebook>.ipynb`` in a Job of its own; the Job is removed after."""
        from grading.autograde.results import NotebookResult

        assignment = grader.assignment
        submission = {str(path.relative_to(folder)): path.read_bytes()
                      for path in sorted(folder.rglob("*"))
                      if path.is_file() and not path.is_symlink()}
        source = {str(path.relative_to(assignment.source_dir)): path.read_bytes()
                  for path in sorted(assignment.source_dir.rglob("*"))
                  if path.is_file() and not path.is_symlink()}
        job = {"student": student, "notebook": notebook,
               "limits": {key: getattr(grader.limits, key)
                          for key in SandboxLimits.__dataclass_fields__}}
        manifests = render_grading_job(
            job_id=uuid.uuid4().hex[:12], namespace=self._namespace(), kernel_image=self.image,
            grader_image=self.grader_image or grader_image_for(self.image),
            limits=grader.limits, files=job_files(assignment.assignment_id, source,
                                                  submission, job))
        self.ensure_network_policy()
        outcome = run_job(self.core, self.batch, manifests, poll_seconds=self.poll_seconds)
        if outcome is None:
            return grader.missing(notebook, "timeout")
        result = NotebookResult.from_dict(outcome["result"])
        if outcome.get("executed"):
            result.executed = nbformat.reads(outcome["executed"], as_version=4)
        return result


def _grader_state(pod: Any) -> tuple[Any, Any]:
    """The grader container's ``terminated`` and ``waiting`` states (either may be None)."""
    for status in (pod.status.container_statuses or []) if pod.status else []:
        if status.name == "grader" and status.state:
            return status.state.terminated, status.state.waiting
    return None, None


#: Waiting reasons after which the pod will never run.
STUCK_REASONS = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName",
                 "CreateContainerConfigError", "CreateContainerError")


def run_job(core: Any, batch: Any, manifests: dict[str, dict], *,
            poll_seconds: float = 1.0, clock=time.monotonic, sleep=time.sleep) -> dict | None:
    """Create the ConfigMap and Job, wait for the grader, read its result, delete both.

    Returns the grader's result, or ``None`` when the Job ran past its deadline (the
    caller's verdict: ``timeout``, as the Docker sandbox's). Raises :class:`SandboxError`
    when grading itself failed (an image that cannot be pulled, a grader that wrote no
    result). The Job and ConfigMap are deleted on every path, exceptions included.
    """
    config_map, job = manifests["config_map"], manifests["job"]
    namespace, name = job["metadata"]["namespace"], job["metadata"]["name"]
    selector = f"{JOB_LABEL}={job['metadata']['labels'][JOB_LABEL]}"
    deadline = clock() + job["spec"]["activeDeadlineSeconds"] + poll_seconds * 5
    core.create_namespaced_config_map(namespace, config_map)
    try:
        created = batch.create_namespaced_job(namespace, job)
        # Owned by the Job: the TTL controller removes it with the Job if we cannot.
        core.patch_namespaced_config_map(name, namespace, {"metadata": {"ownerReferences": [{
            "apiVersion": "batch/v1", "kind": "Job", "name": name,
            "uid": created.metadata.uid}]}})
        while clock() < deadline:
            for pod in core.list_namespaced_pod(namespace, label_selector=selector).items:
                if pod.status and pod.status.phase == "Failed" and pod.status.reason == \
                        "DeadlineExceeded":
                    return None
                terminated, waiting = _grader_state(pod)
                if waiting is not None and waiting.reason in STUCK_REASONS:
                    raise SandboxError(f"评分容器无法启动 / the grading pod cannot start: "
                                       f"{waiting.reason}: {waiting.message or ''}")
                if terminated is not None:
                    log = core.read_namespaced_pod_log(pod.metadata.name, namespace,
                                                       container="grader")
                    result = parse_result(log)
                    if result is None:
                        raise SandboxError(
                            f"评分容器未给出结果 / the grader container wrote no result "
                            f"(exit {terminated.exit_code}): {log[-2000:]}")
                    return result
            sleep(poll_seconds)
        return None
    finally:
        _delete(batch.delete_namespaced_job, name, namespace, propagation_policy="Background")
        _delete(core.delete_namespaced_config_map, name, namespace)


def _delete(call, *args, **kwargs) -> None:
    """Delete one object; one already gone (404: never created, or removed with its Job) is fine."""
    try:
        call(*args, **kwargs)
    except Exception as error:
        if getattr(error, "status", None) != 404:
            raise
