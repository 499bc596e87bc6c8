"""The grader container of a Kubernetes grading pod: ``python -m grading.sandbox.podgrade /job``.

It does what a grading worker does on the host with the other backends: nbgrader's
pipeline, the canaries and the static scan, driving a kernel that runs in the pod's
other container (:mod:`grading.sandbox.kubernetes`). The two meet in the shared
connection directory: the grader opens the FIFO the kernel container reads as its
stdin (so the kernel boots as soon as the grader is there), then speaks to the
kernel over its IPC sockets, exactly as :mod:`grading.sandbox.kernel` does. The
result is printed as one line for the backend to read from this container's log.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from grading.autograde.assignment import PreparedAssignment
from grading.autograde.grader import NotebookGrader
from grading.sandbox.base import CONN_DIR_INSIDE, SandboxError, WarmSandbox
from grading.sandbox.kubernetes import EXIT_FILE, FILES_FIFO, RESULT_MARKER
from grading.sandbox.limits import SandboxLimits

#: How long the grader waits for the kernel container to start (its image may be pulling).
KERNEL_START_SECONDS = 300


class SiblingKernel:
    """Stands in for the ``Popen`` of other backends: the kernel in the pod's other container.

    ``stdin`` is the FIFO the kernel container reads; the exit status is what that
    container's shell writes to :data:`EXIT_FILE`. The grader cannot signal the other
    container: killing marks the kernel dead for nbclient, and the backend deletes the
    pod as soon as the grader has printed its result.
    """

    def __init__(self, fifo: str = FILES_FIFO, exit_file: str = EXIT_FILE,
                 timeout: float = KERNEL_START_SECONDS):
        self.pid = 0
        self.returncode: int | None = None
        self.exit_file = Path(exit_file)
        deadline = time.monotonic() + timeout
        while True:
            try:
                descriptor = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError as error:  # no FIFO yet, or nobody reading it yet
                if error.errno not in (errno.ENOENT, errno.ENXIO) or \
                        time.monotonic() > deadline:
                    raise SandboxError(
                        f"内核容器未启动 / the kernel container did not start: {error}"
                    ) from error
                time.sleep(0.05)
        os.set_blocking(descriptor, True)
        self.stdin = os.fdopen(descriptor, "wb")

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                self.returncode = int(self.exit_file.read_text())
            except (OSError, ValueError):
                pass
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        return self.poll()

    def kill(self) -> None:
        if self.poll() is None:
            self.returncode = -9


class SiblingKernelBackend:
    """The backend side of a :class:`WarmSandbox` whose kernel is the sibling container."""

    name = "kubernetes"

    def kill(self, sandbox: WarmSandbox) -> None:
        sandbox.process.kill()

    def release(self, sandbox: WarmSandbox) -> None:
        """Nothing to undo in the pod: the backend deletes the whole Job."""

    def forget(self, sandbox: WarmSandbox) -> None:
        """Nothing to forget: a pod grades one notebook, and halting is the Job's deletion."""

    def out_of_memory(self, sandbox: WarmSandbox) -> bool:
        return sandbox.process.returncode == 137 and sandbox.killed_for is None


def declare_kernel(data_dir: Path) -> None:
    """Make the ``python3`` kernel known to jupyter_client without ipykernel in this image.

    The kernel runs in the other container; the grader's kernel manager only looks its
    name up, and the hub image need not carry ipykernel for that.
    """
    spec = data_dir / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps(
        {"argv": ["python3"], "display_name": "Python 3", "language": "python"}))
    os.environ["JUPYTER_PATH"] = str(data_dir)


def grade_job(job_dir: Path, conn_dir: Path = Path(CONN_DIR_INSIDE)) -> dict:
    """Grade the one notebook described by ``job_dir``; the result and the executed notebook."""
    job = json.loads((job_dir / "job.json").read_text())
    workdir = Path(tempfile.mkdtemp(prefix="aiclass-podgrade-"))
    declare_kernel(workdir / "jupyter")
    # Plain copies: a ConfigMap's files are symlinks, which the grader does not hand on.
    source_root = job_dir / "source"
    source = workdir / "source" / next(p.name for p in source_root.iterdir()
                                       if not p.name.startswith("."))
    shutil.copytree(source_root / source.name, source)
    submission = workdir / "submission"
    shutil.copytree(job_dir / "submission", submission)
    limits = SandboxLimits(**job["limits"])
    grader = NotebookGrader(PreparedAssignment(source, workdir / "prepared"), limits)
    scratch = workdir / "scratch"
    scratch.mkdir()
    sandbox = WarmSandbox(SiblingKernel(), conn_dir, scratch, SiblingKernelBackend())
    result = grader.grade(job["student"], job["notebook"], submission, sandbox)
    return {"result": result.to_dict(),
            "executed": nbformat.writes(result.executed) if result.executed else None}


def main(argv: list[str]) -> int:
    outcome = grade_job(Path(argv[1]))
    sys.stdout.write(RESULT_MARKER + json.dumps(outcome) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
