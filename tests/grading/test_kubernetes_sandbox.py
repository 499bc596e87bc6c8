"""The Kubernetes grading backend: its manifests, its control flow, and its pod really grading.

No cluster runs here. The ConfigMap, Job and NetworkPolicy the backend renders are validated
against the Kubernetes OpenAPI schemas of the z2jh chart's oldest ``kubeVersion`` (1.28) and
checked for every limit; ``run_job`` is driven by a scripted API for each way a Job ends; and
the rendered pod is run through Docker, field by field (``dockerkubelet``), to grade the
malicious corpus with the scores and flags the other sandboxes give.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path
from types import SimpleNamespace

import kubernetes_validate
import pytest

from grading.autograde.assignment import PreparedAssignment
from grading.autograde.folder import grade_submissions
from grading.autograde.grader import NotebookGrader
from grading.sandbox.base import WORK_DIR_INSIDE, SandboxError, sandbox_environment
from grading.sandbox.docker import DockerSandbox
from grading.sandbox.kubernetes import (
    COMPONENT,
    COMPONENT_LABEL,
    JOB_DIR_INSIDE,
    RESULT_MARKER,
    KubernetesSandbox,
    grader_image_for,
    grading_network_policy,
    job_files,
    job_uid,
    render_grading_job,
    run_job,
)
from grading.sandbox.limits import MIB, SandboxLimits
from hub.images import image_reference
from tests.grading.conftest import CORRECT, REPO, write_submission
from tests.grading.dockerkubelet import DockerKubelet
from tests.grading.test_malicious import EXPECTED_FLAGS, attack_cases

#: A student who prints the result line the grader writes, with full marks, and writes it to
#: the kernel container's own log too (its PID 1's stdout).
FORGE = f"""\
import json
line = {RESULT_MARKER!r} + json.dumps({{"result": {{"notebook": "problem1", "flags": [],
    "cells": [{{"grade_id": "correct_squares", "score": 100.0, "max_score": 100.0,
    "kind": "auto", "reason": None}}]}}, "executed": None}})
print(line)
for path in ('/proc/1/fd/1', '/proc/1/fd/2'):
    try:
        open(path, 'w').write(line + '\\n')
    except OSError:
        pass
def squares(n):
    return []
"""
#: A student who counts how many processes the pod lets them start (the pod spec has no pids
#: limit: the kernel's RLIMIT_NPROC for the job's own uid must stop them).
FORK_COUNT = """\
import os, time
children = []
try:
    for _ in range(900):
        pid = os.fork()
        if pid == 0:
            time.sleep(20)
            os._exit(0)
        children.append(pid)
except OSError:
    pass
print('forked', len(children))
def squares(n):
    return []
"""
#: The z2jh chart's ``kubeVersion: ">=1.28.0-0"``: the oldest API the objects must fit.
KUBE_VERSION = "1.28.0"
STUDENT_IMAGE = image_reference("student")
HUB_IMAGE = image_reference("hub")
LIMITS = SandboxLimits(memory_bytes=512 * MIB, pids=32, cpus=0.5, wall_seconds=60,
                       cell_timeout=15, output_bytes=256 * 1024, kill_output_bytes=4 * MIB,
                       work_bytes=64 * MIB)


def rendered(limits: SandboxLimits = LIMITS, files: dict[str, bytes] | None = None) -> dict:
    files = files if files is not None else job_files(
        "ps1", {"problem1.ipynb": b"{}"}, {"problem1.ipynb": b"{}", "data/a.csv": b"x,y\n"},
        {"student": "s1", "notebook": "problem1", "limits": {}})
    return render_grading_job(job_id="0123456789ab", namespace="aiclass", limits=limits,
                              kernel_image=STUDENT_IMAGE, grader_image=HUB_IMAGE, files=files)


def containers(job: dict) -> dict[str, dict]:
    return {c["name"]: c for c in job["spec"]["template"]["spec"]["containers"]}


def test_manifests_validate_against_the_kubernetes_schemas():
    manifests = rendered()
    objects = [manifests["config_map"], manifests["job"], grading_network_policy("aiclass")]
    for manifest in objects:
        # strict: a misspelt or misplaced field is an error, not silently dropped
        kubernetes_validate.validate(manifest, KUBE_VERSION, strict=True)
    broken = json.loads(json.dumps(manifests["job"]))
    broken["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnly"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBE_VERSION, strict=True)


def test_every_limit_is_carried():
    job = rendered()["job"]
    pod = job["spec"]["template"]["spec"]
    kernel = containers(job)["kernel"]
    assert kernel["image"] == STUDENT_IMAGE
    assert containers(job)["grader"]["image"] == HUB_IMAGE == grader_image_for(STUDENT_IMAGE)
    for container in pod["containers"]:
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["runAsNonRoot"] is True
        assert security["runAsUser"] == security["runAsGroup"] == job_uid("0123456789ab")
        assert security["runAsUser"] >= 200_000  # no node user's, nor another job's
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"] == {"drop": ["ALL"]}
        assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert kernel["resources"]["limits"] == {"memory": str(512 * MIB), "cpu": "0.5"}
    # the kubelet's cpu.shares for the request is the Docker sandbox's --cpu-shares (nice 5)
    millicores = int(kernel["resources"]["requests"]["cpu"].removesuffix("m"))
    assert millicores * 1024 // 1000 == LIMITS.cpu_shares == 336
    boot = json.loads(kernel["command"][-1])
    assert boot["rlimits"]["RLIMIT_NPROC"] == LIMITS.pids + 64
    assert boot["rlimits"]["RLIMIT_FSIZE"] == LIMITS.file_bytes
    assert boot["stream_chars"] == LIMITS.kill_output_bytes
    assert {e["name"]: e["value"] for e in kernel["env"]} == sandbox_environment()
    volumes = {v["name"]: v for v in pod["volumes"]}
    for name in ("work", "tmp"):
        assert volumes[name]["emptyDir"] == {"medium": "Memory", "sizeLimit": str(64 * MIB)}
    assert {m["mountPath"]: m["name"] for m in kernel["volumeMounts"]} == {
        "/conn": "conn", WORK_DIR_INSIDE: "work", "/tmp": "tmp"}
    # the assignment's source (hidden tests, solutions) is mounted into the grader only,
    # read-only; nothing of the host, no claim on storage, no gradebook
    assert "job" not in {m["name"] for m in kernel["volumeMounts"]}
    assert {"name": "job", "mountPath": JOB_DIR_INSIDE, "readOnly": True} in \
        containers(job)["grader"]["volumeMounts"]
    assert all(set(v) <= {"name", "emptyDir", "configMap"} for v in pod["volumes"])
    assert pod["automountServiceAccountToken"] is False
    assert pod["enableServiceLinks"] is False
    assert pod["shareProcessNamespace"] is False
    assert pod["restartPolicy"] == "Never" and job["spec"]["backoffLimit"] == 0
    assert pod["activeDeadlineSeconds"] == job["spec"]["activeDeadlineSeconds"] >= 60
    assert job["spec"]["ttlSecondsAfterFinished"] > 0
    policy = grading_network_policy("aiclass")["spec"]
    assert policy["podSelector"]["matchLabels"].items() <= \
        job["spec"]["template"]["metadata"]["labels"].items()
    assert policy["podSelector"]["matchLabels"] == {COMPONENT_LABEL: COMPONENT}
    assert sorted(policy["policyTypes"]) == ["Egress", "Ingress"]
    assert policy["ingress"] == [] and policy["egress"] == []


def test_config_map_projects_every_file_to_its_path():
    manifests = rendered()
    config_map = manifests["config_map"]
    volume = next(v for v in manifests["job"]["spec"]["template"]["spec"]["volumes"]
                  if v["name"] == "job")["configMap"]
    paths = {item["path"]: config_map["binaryData"][item["key"]] for item in volume["items"]}
    assert set(paths) == {"source/ps1/problem1.ipynb", "submission/problem1.ipynb",
                          "submission/data/a.csv", "job.json"}
    assert config_map["immutable"] is True


def test_an_assignment_too_big_for_a_config_map_is_refused_by_name():
    with pytest.raises(SandboxError, match="ConfigMap"):
        rendered(files={"submission/big.bin": b"x" * (800 * 1024)})


class ScriptedCluster:
    """The calls ``run_job`` makes, answering with a script of pod states; records deletes."""

    def __init__(self, states: list, log: str = "", fail_create_job: bool = False):
        self.states = list(states)
        self.log = log
        self.fail_create_job = fail_create_job
        self.config_maps: set[str] = set()
        self.jobs: set[str] = set()

    def create_namespaced_config_map(self, namespace, body):
        self.config_maps.add(body["metadata"]["name"])

    def patch_namespaced_config_map(self, name, namespace, body):
        assert body["metadata"]["ownerReferences"][0]["kind"] == "Job"

    def create_namespaced_job(self, namespace, body):
        if self.fail_create_job:
            raise RuntimeError("admission webhook refused the Job")
        self.jobs.add(body["metadata"]["name"])
        return SimpleNamespace(metadata=SimpleNamespace(uid="u1"))

    def list_namespaced_pod(self, namespace, label_selector):
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return SimpleNamespace(items=[] if state is None else [state])

    def read_namespaced_pod_log(self, name, namespace, container):
        assert container == "grader"  # never the kernel's log, which student code writes
        return self.log

    def delete_namespaced_job(self, name, namespace, propagation_policy):
        if name not in self.jobs:
            raise ApiStatus(404)
        self.jobs.remove(name)

    def delete_namespaced_config_map(self, name, namespace):
        self.config_maps.remove(name)


class ApiStatus(Exception):
    """An ApiException's shape: its HTTP ``status``."""

    def __init__(self, status):
        super().__init__(status)
        self.status = status


def pod(phase="Running", reason=None, terminated=None, waiting=None):
    grader = SimpleNamespace(name="grader", state=SimpleNamespace(
        terminated=terminated, waiting=waiting))
    return SimpleNamespace(metadata=SimpleNamespace(name="p"), status=SimpleNamespace(
        phase=phase, reason=reason, container_statuses=[grader]))


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


RESULT = {"result": {"notebook": "problem1", "flags": [], "cells": [
    {"grade_id": "correct_squares", "score": 3.0, "max_score": 3.0, "kind": "auto",
     "reason": None}]}, "executed": None}


def run(cluster: ScriptedCluster, clock: FakeClock | None = None):
    clock = clock or FakeClock()
    return run_job(cluster, cluster, rendered(), poll_seconds=1.0, clock=clock,
                   sleep=clock.sleep)


def test_a_finished_grader_gives_its_result_and_everything_is_deleted():
    cluster = ScriptedCluster(
        [None, pod(), pod(terminated=SimpleNamespace(exit_code=0))],
        log="kernel noise\n" + RESULT_MARKER + json.dumps(RESULT) + "\n")
    assert run(cluster) == RESULT
    assert cluster.jobs == set() and cluster.config_maps == set()


@pytest.mark.parametrize("states", [
    [pod(), pod(phase="Failed", reason="DeadlineExceeded")],  # the kubelet's deadline
    [pod()],  # the pod never finishes: our own clock runs out
], ids=["pod-deadline", "never-finishes"])
def test_a_job_past_its_deadline_is_a_timeout_and_deleted(states):
    cluster = ScriptedCluster(states)
    clock = FakeClock()
    assert run(cluster, clock) is None
    assert clock.now <= LIMITS.wall_seconds + 120 + 10  # bounded by the pod's deadline
    assert cluster.jobs == set() and cluster.config_maps == set()


def test_a_timeout_gets_the_docker_sandboxs_verdict(released_ps1, tmp_path):
    """No result by the deadline: flag ``timeout``, every cell 0, as a killed sandbox scores."""
    assignment = PreparedAssignment(released_ps1 / "source" / "ps1", tmp_path / "work")
    grader = NotebookGrader(assignment, LIMITS)
    cluster = ScriptedCluster([pod(phase="Failed", reason="DeadlineExceeded")])
    networking = SimpleNamespace(create_namespaced_network_policy=lambda ns, body: None)
    backend = KubernetesSandbox(limits=LIMITS, image=STUDENT_IMAGE, namespace="aiclass",
                                core=cluster, batch=cluster, networking=networking,
                                poll_seconds=0.01)
    folder = write_submission(released_ps1 / "release" / "ps1", tmp_path / "submitted", "s1")
    result = backend.grade_notebook(grader, "s1", "problem1", folder)
    assert result.flags == ["timeout"]
    assert result.score == 0.0 and result.max_score == 6.0
    assert cluster.jobs == set() and cluster.config_maps == set()


@pytest.mark.parametrize("case", ["image-pull", "no-result", "create-fails"])
def test_grading_failures_raise_and_still_clean_up(case):
    if case == "image-pull":
        cluster = ScriptedCluster([pod(waiting=SimpleNamespace(
            reason="ImagePullBackOff", message="aiclass/hub:0.1.0 not found"))])
    elif case == "no-result":
        cluster = ScriptedCluster([pod(terminated=SimpleNamespace(exit_code=1))],
                                  log="Traceback: ImportError\n")
    else:
        cluster = ScriptedCluster([pod()], fail_create_job=True)
    with pytest.raises((SandboxError, RuntimeError)) as raised:
        run(cluster)
    if case != "create-fails":
        assert isinstance(raised.value, SandboxError)
    assert cluster.jobs == set() and cluster.config_maps == set()


# --- the rendered pod, run by Docker -------------------------------------------------------

def pod_images_ready() -> bool:
    return DockerSandbox(image=STUDENT_IMAGE).available() and \
        DockerSandbox(image=HUB_IMAGE).available()


@pytest.fixture(scope="module")
def graded_in_pods(released_ps1):
    """The malicious corpus and an honest student, each notebook in its own grading 'pod'."""
    if not pod_images_ready():
        pytest.skip("Docker engine or the student/hub image missing: `make images` starts "
                    "the engine and builds them")
    root = Path(tempfile.mkdtemp(prefix="aiclass-k8s-malice-", dir="/var/tmp"))
    shutil.copytree(released_ps1, root, dirs_exist_ok=True)
    release, submitted = root / "release" / "ps1", root / "submitted"
    honest = write_submission(release, submitted, "honest", CORRECT, skip=("problem2",))
    secret = honest / "notes.txt"
    secret.write_text("honest student's private notes")
    outside = root / "written-by-attacker"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.5)
    connections: list = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                connections.append(listener.accept())
            except OSError:
                continue

    threading.Thread(target=accept, daemon=True).start()
    cases = attack_cases(listener.getsockname()[1], root / "source" / "ps1" / "problem1.ipynb",
                         root / "gradebook.db", secret, outside)
    cases["forge-result"] = {"edits": {"squares": FORGE}}
    cases["fork-count"] = {"edits": {"squares": FORK_COUNT}}
    for student, case in cases.items():
        write_submission(release, submitted, student, skip=("problem2",), **case)
    prefix = f"aiclass-test-k8s-{uuid.uuid4().hex[:6]}"
    # The hub image of this version may predate this checkout: its grading package is
    # replaced by the checkout's, read-only, so the code under test is what runs.
    site = "/opt/venv/lib/python3.11/site-packages/grading"
    kubelet = DockerKubelet(prefix, overrides={HUB_IMAGE: ["-v", f"{REPO / 'grading'}:{site}:ro"]})
    backend = KubernetesSandbox(limits=LIMITS, image=STUDENT_IMAGE, namespace="aiclass",
                                core=kubelet, batch=kubelet, networking=SimpleNamespace(
                                    create_namespaced_network_policy=lambda ns, body: None),
                                poll_seconds=0.5)
    try:
        with tempfile.TemporaryDirectory(prefix="aiclass-k8s-prepared-") as work:
            grader = NotebookGrader(PreparedAssignment(root / "source" / "ps1", work), LIMITS)
            submissions = {p.name: p / "ps1" for p in sorted(submitted.iterdir())}
            students = grade_submissions(grader, submissions, backend, jobs=2)
        stop.set()
        listener.close()
        left = subprocess.run(["docker", "ps", "-aq", "--filter", f"name={prefix}"],
                              capture_output=True, text=True, check=True).stdout.split()
        yield {"students": {s.student: s for s in students}, "connections": connections,
               "outside": outside, "secret": secret, "left": left, "kubelet": kubelet}
    finally:
        kubelet.close()
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.docker
@pytest.mark.timeout(900)
@pytest.mark.parametrize("student", sorted(EXPECTED_FLAGS))
def test_attack_in_a_grading_pod_is_flagged_and_earns_nothing(graded_in_pods, student):
    notebook = graded_in_pods["students"][student].notebooks[0]
    expected = EXPECTED_FLAGS[student]
    expected = expected if isinstance(expected, tuple) else (expected,)
    assert set(expected) & set(notebook.flags), notebook
    assert sum(c.score or 0 for c in notebook.cells if c.kind == "auto") == 0.0, notebook
    assert notebook.max_score == 6.0


@pytest.mark.docker
@pytest.mark.timeout(900)
def test_kernel_cannot_forge_the_graders_result(graded_in_pods):
    """The grader's log is the result channel; the kernel's prints and PID 1 are not in it."""
    notebook = graded_in_pods["students"]["forge-result"].notebooks[0]
    assert notebook.max_score == 6.0
    assert sum(c.score or 0 for c in notebook.cells if c.kind == "auto") == 0.0, notebook


@pytest.mark.docker
@pytest.mark.timeout(900)
def test_processes_are_bounded_by_the_jobs_own_uid(graded_in_pods):
    """No pod pids limit: the job's uid and RLIMIT_NPROC stop a fork loop near ``pids``.

    The Docker stand-in for the node's ``podPidsLimit`` is 1024; the student must be stopped
    long before it, at the limits' 32 (plus the grader's threads, which share the uid).
    """
    executed = graded_in_pods["students"]["fork-count"].notebooks[0].executed
    printed = "".join(o.get("text", "") for cell in executed.cells
                      for o in cell.get("outputs", []))
    forked = int(printed.split("forked ", 1)[1].split()[0])
    assert 0 < forked < LIMITS.pids + 64


@pytest.mark.docker
@pytest.mark.timeout(900)
def test_honest_student_scores_in_full_and_nothing_is_left(graded_in_pods):
    honest = graded_in_pods["students"]["honest"].notebooks[0]
    assert honest.flags == [] and honest.max_score == 6.0
    assert all(c.score == c.max_score for c in honest.cells if c.kind == "auto"), honest
    assert sum(c.max_score for c in honest.cells if c.kind == "auto") == 4.0
    assert honest.executed is not None  # the graded notebook came back for the teacher
    assert graded_in_pods["secret"].read_text() == "honest student's private notes"
    assert graded_in_pods["connections"] == []
    assert not graded_in_pods["outside"].exists() and not Path("/usr/evil").exists()
    assert graded_in_pods["left"] == []  # every pod's containers removed
    assert graded_in_pods["kubelet"].config_maps == {}
    assert os.listdir(graded_in_pods["kubelet"].root) == []


def test_the_deny_all_policy_is_applied_once_and_an_existing_one_is_kept():
    applied = []

    def create(namespace, body):
        applied.append(body)
        raise ApiStatus(409)  # an earlier worker made it

    backend = KubernetesSandbox(limits=LIMITS, image=STUDENT_IMAGE, namespace="aiclass",
                                core=object(), batch=object(),
                                networking=SimpleNamespace(create_namespaced_network_policy=create))
    backend.ensure_network_policy()
    backend.ensure_network_policy()
    assert applied == [grading_network_policy("aiclass")]
