"""What every sandbox backend provides: a booted, waiting kernel process.

A :class:`WarmSandbox` is started before anyone knows which submission it will
run (that is what keeps the per-notebook cost low); it is activated once with
one submission's files and the kernel's connection info, and thrown away after.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from abc import ABCMeta, abstractmethod
from pathlib import Path

from traitlets import Instance, MetaHasTraits, Unicode
from traitlets.config import LoggingConfigurable

from grading.sandbox.limits import SandboxLimits

#: Where the kernel's ZeroMQ sockets live inside the sandbox.
CONN_DIR_INSIDE = "/conn"
#: The submission's private, size-limited work directory inside the sandbox.
WORK_DIR_INSIDE = "/home/student"
#: Unprivileged uid:gid the sandboxed code runs as on the host.
NOBODY = 65534
BOOT_SOURCE = (Path(__file__).parent / "boot.py").read_text(encoding="utf-8")


class SandboxError(RuntimeError):
    """The sandbox could not be started or fed; grading itself failed."""


def sandbox_environment() -> dict[str, str]:
    """The whole environment a sandboxed kernel gets: nothing from the grader leaks in."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": WORK_DIR_INSIDE,
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "NBGRADER_EXECUTION": "autograde",
    }


def boot_rlimits(limits: SandboxLimits, *, limited_by_cgroup: bool) -> dict[str, int]:
    """Resource limits the boot code applies to itself before any student code runs.

    Memory and process counts are the cgroup's job where there is one: ``RLIMIT_NPROC``
    counts every process of the uid on the whole host, and the sandbox's uid is shared
    (other sandboxes, Docker containers without user namespaces), so
    as a fallback it could stop a kernel from starting its own threads on a busy machine.
    """
    rlimits = {
        "RLIMIT_CORE": 0,
        "RLIMIT_FSIZE": limits.file_bytes,
        "RLIMIT_NOFILE": limits.open_files,
        "RLIMIT_CPU": int(limits.wall_seconds) + 5,
    }
    if not limited_by_cgroup:
        rlimits["RLIMIT_NPROC"] = limits.pids
        # Address space is a rough stand-in for memory: scientific imports map a lot
        # of address space they never touch, hence the headroom.
        rlimits["RLIMIT_AS"] = limits.memory_bytes + 1024 * 1024 * 1024
    return rlimits


def boot_argument(limits: SandboxLimits, *, limited_by_cgroup: bool) -> str:
    """The one argument of the boot code: its rlimits and how much stream text it may send.

    The kernel itself stops sending printed text past ``kill_output_bytes``: a flood printed
    faster than the grader reads would otherwise pile up in the kernel's outgoing queue until
    the memory limit killed it, and the submission would be marked as crashed instead of
    truncated.
    """
    return json.dumps(
        {
            "rlimits": boot_rlimits(limits, limited_by_cgroup=limited_by_cgroup),
            "stream_chars": limits.kill_output_bytes,
        }
    )


class WarmSandbox:
    """One started sandbox whose boot code waits for a single submission."""

    def __init__(self, process: subprocess.Popen, conn_dir: Path, scratch: Path, backend):
        self.process = process
        self.conn_dir = conn_dir
        self.scratch = scratch
        self.backend = backend
        self.id = scratch.name
        self.killed_for: str | None = None

    def wait_booted(self, timeout: float = 60.0) -> dict:
        """Wait until the kernel inside is listening; return its connection info (host view)."""
        deadline = time.monotonic() + timeout
        path = self.conn_dir / "kernel.json"
        while True:
            try:
                info = json.loads(path.read_text())
                break
            except (OSError, ValueError):
                if not self.alive() or time.monotonic() > deadline:
                    raise SandboxError(
                        f"沙箱内核未能启动 / the sandboxed kernel did not start\n{self.boot_log()}"
                    ) from None
                time.sleep(0.005)
        info["ip"] = str(self.conn_dir / "ipc")
        return info

    def activate(self, files: dict[str, bytes], timeout: float = 60.0) -> None:
        """Hand the waiting kernel the submission's files; return once they are in place."""
        request = {"files": {name: base64.b64encode(data).decode()
                             for name, data in files.items()}}
        try:
            assert self.process.stdin is not None
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
            self.process.stdin.close()
        except (BrokenPipeError, OSError) as error:
            raise SandboxError(
                f"沙箱未能启动 / the sandbox died before grading: {error}\n{self.boot_log()}"
            ) from error
        deadline = time.monotonic() + timeout
        while not (self.conn_dir / "ready").exists():
            if not self.alive() or time.monotonic() > deadline:
                raise SandboxError("沙箱未能接收文件 / the sandbox did not take the files")
            time.sleep(0.002)

    def boot_log(self) -> str:
        """What the sandbox printed before its kernel started (for error messages)."""
        try:
            return (self.scratch / "boot.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self, reason: str | None = None) -> None:
        """Stop everything in the sandbox; ``reason`` becomes the notebook's flag."""
        if reason and self.killed_for is None:
            self.killed_for = reason
        self.backend.kill(self)

    def close(self) -> None:
        """Kill (if still running) and remove every trace of the sandbox on the host."""
        self.backend.kill(self)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.backend.release(self)
        self.backend.forget(self)
        shutil.rmtree(self.scratch, ignore_errors=True)


class ConfigurableABCMeta(ABCMeta, MetaHasTraits):
    """traitlets' metaclass with abc's: a configurable class whose abstract methods count."""


SCRATCH_PARENT_MAX = 60
"""The longest temporary folder a sandbox's scratch goes in: the kernel's sockets in its
``conn/`` must stay within the 107 bytes a Unix socket's path may have."""


def scratch_parent() -> str:
    """Where sandboxes' scratch folders go: the temporary folder, unless its path is too long
    for the sockets under it (a deep ``TMPDIR``, such as a test runner's): then ``/tmp``.
    Binding the kernel's socket would otherwise fail and every submission with it."""
    parent = tempfile.gettempdir()
    return parent if len(parent) <= SCRATCH_PARENT_MAX else "/tmp"


class SandboxBackend(LoggingConfigurable, metaclass=ConfigurableABCMeta):
    """Starts warm sandboxes; each backend says how (bubblewrap, Docker).

    A backend must say whether it can run here (:meth:`available`) and how a sandbox
    starts (:meth:`command`); it registers itself by name with
    :func:`grading.sandbox.registry.register_backend`. Host-side limits, memory verdicts
    and clean-up have defaults for backends that need none.
    """

    name = "base"
    #: A backend that grades whole notebooks where it runs them (a Kubernetes Job holds the
    #: grader beside the kernel) provides ``grade_notebook(grader, student, notebook,
    #: folder)`` and is never asked to :meth:`start` a kernel for a grader here.
    grades_whole_notebooks = False
    limits = Instance(SandboxLimits, args=())
    python = Unicode(sys.executable, help="Python with ipykernel, as seen inside the sandbox")

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._running: dict[str, WarmSandbox] = {}
        self._halted_for: str | None = None
        self._running_lock = threading.Lock()

    @classmethod
    def for_run(cls, limits: SandboxLimits, image: str | None) -> SandboxBackend:
        """This backend for one grading run; ``image`` is for backends that run a container."""
        return cls(limits=limits)

    @abstractmethod
    def available(self) -> bool:
        """Whether this backend can start sandboxes on this machine."""

    def unavailable_reason(self) -> str:
        """What to tell the teacher when :meth:`available` is false."""
        return f"{self.name} 沙箱不可用 / the {self.name} sandbox is not available here"

    def remove_orphans(self) -> list[str]:
        """Remove sandboxes that graders which died left running; their names."""
        return []

    @abstractmethod
    def command(
        self, sandbox_id: str, conn_dir: Path, limits: SandboxLimits, cgroup_procs: list[Path]
    ) -> list[str]:
        """The argv that starts the sandbox with the boot code inside."""

    def prepare(self, sandbox_id: str, limits: SandboxLimits) -> list[Path]:
        """Set up host-side limits (cgroups) and return ``cgroup.procs`` files to join."""
        return []

    def out_of_memory(self, sandbox: WarmSandbox) -> bool:
        """Whether the sandbox was stopped for using too much memory."""
        return False

    def release(self, sandbox: WarmSandbox) -> None:
        """Undo :meth:`prepare` after the sandbox has stopped."""

    def kill(self, sandbox: WarmSandbox) -> None:
        if sandbox.process.poll() is None:
            try:
                os.killpg(sandbox.process.pid, 9)
            except ProcessLookupError:
                pass

    def halt(self, reason: str) -> None:
        """Kill every sandbox this backend started and has not closed, and start none
        until :meth:`resume`.

        For a grading worker that gives up its job (pre-empted, see
        ``grading.gradebook.queue``): the whole submission stops at once, the notebook
        being graded and those after it, whose sandboxes then fail to start rather than
        run for minutes only to be thrown away. ``reason`` becomes each killed
        notebook's flag.
        """
        with self._running_lock:
            self._halted_for = reason
            running = list(self._running.values())
        for sandbox in running:
            sandbox.kill(reason)

    @property
    def halted_for(self) -> str | None:
        """The reason given to :meth:`halt`, until :meth:`resume` (``None``: not halted)."""
        return self._halted_for

    def resume(self) -> None:
        """Start sandboxes again after :meth:`halt`."""
        with self._running_lock:
            self._halted_for = None

    def forget(self, sandbox: WarmSandbox) -> None:
        """Stop counting a closed sandbox as one :meth:`halt` has to kill."""
        with self._running_lock:
            self._running.pop(sandbox.id, None)

    def start(self, limits: SandboxLimits | None = None) -> WarmSandbox:
        """Start one sandbox; its kernel boots while it waits for a submission."""
        if self._halted_for is not None:
            raise SandboxError(f"沙箱已停止 / sandboxes halted: {self._halted_for}")
        limits = limits or self.limits
        scratch = Path(tempfile.mkdtemp(prefix=f"aiclass-sbx-{uuid.uuid4().hex[:8]}-",
                                        dir=scratch_parent()))
        scratch.chmod(0o711)  # the sandbox's uid may pass through to conn/, nothing more
        conn_dir = scratch / "conn"
        conn_dir.mkdir(mode=0o700)
        if os.geteuid() == 0:
            os.chown(conn_dir, NOBODY, NOBODY)
        sandbox_id = scratch.name
        cgroup_procs = self.prepare(sandbox_id, limits)
        argv = self.command(sandbox_id, conn_dir, limits, cgroup_procs)
        try:
            with open(scratch / "boot.log", "wb") as boot_log:
                process = subprocess.Popen(
                    argv,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=boot_log,
                    start_new_session=True,
                    env=self.launcher_environment(),
                    cwd="/",
                )
        except OSError as error:
            shutil.rmtree(scratch, ignore_errors=True)
            raise SandboxError(
                f"无法启动沙箱 / cannot start the {self.name} sandbox: {error}"
            ) from error
        sandbox = WarmSandbox(process, conn_dir, scratch, self)
        with self._running_lock:
            self._running[sandbox.id] = sandbox
            halted_for = self._halted_for
        if halted_for is not None:  # halted while this one was starting
            sandbox.close()
            raise SandboxError(f"沙箱已停止 / sandboxes halted: {halted_for}")
        return sandbox

    def launcher_environment(self) -> dict[str, str]:
        """Environment of the launcher process itself (not of the sandboxed code)."""
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
