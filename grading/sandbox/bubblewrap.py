"""Local sandbox with bubblewrap: new user, PID, network, IPC and mount namespaces.

The system is mounted read-only and only what Python needs is visible; the
grader's files, the gradebook, the source assignment and other students'
folders simply do not exist inside. The work directory and ``/tmp`` are
size-limited tmpfs mounts. When the grader runs as root, the sandbox runs as
the host's ``nobody`` and joins per-sandbox control groups for memory and pids.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

from traitlets import List, Unicode

from grading.sandbox.base import (
    BOOT_SOURCE,
    CONN_DIR_INSIDE,
    NOBODY,
    WORK_DIR_INSIDE,
    SandboxBackend,
    WarmSandbox,
    boot_argument,
    sandbox_environment,
)
from grading.sandbox.cgroups import CgroupLimits
from grading.sandbox.limits import SandboxLimits
from grading.sandbox.registry import register_backend

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32")
ETC_FILES = ("/etc/fonts", "/etc/localtime", "/etc/ld.so.cache", "/etc/alternatives",
             "/etc/matplotlibrc")


@register_backend("local", "bubblewrap")
class BubblewrapSandbox(SandboxBackend):
    """Sandboxes made with ``bwrap`` (Debian package ``bubblewrap``)."""

    name = "local"
    bwrap = Unicode("bwrap", help="The bubblewrap executable").tag(config=True)
    extra_ro_paths = List(
        Unicode(), help="More host paths to show read-only inside (e.g. a shared dataset dir)"
    ).tag(config=True)
    kernel_packages = List(
        Unicode(), ["aiclass_explainers"],
        help="""Packages notebooks import that may live outside the runtime's prefix.

        An editable install (a development checkout, the test suite) leaves a package's
        code in its source folder; only that package folder is shown, never the
        checkout around it, which holds the source assignments.""",
    ).tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.cgroups = CgroupLimits() if os.geteuid() == 0 else None
        if self.cgroups is not None and not self.cgroups.usable:
            self.cgroups = None

    def available(self) -> bool:
        return shutil.which(self.bwrap) is not None

    def unavailable_reason(self) -> str:
        return "未找到 bubblewrap / bubblewrap (bwrap) is not installed"

    def runtime_paths(self) -> list[str]:
        """Host directories that hold the Python runtime with ipykernel."""
        paths = {sys.base_prefix, sys.prefix, *self.extra_ro_paths}
        for name in self.kernel_packages:
            spec = importlib.util.find_spec(name)
            if spec is not None and spec.origin:
                paths.add(str(Path(spec.origin).resolve().parent))
        return sorted(p for p in paths if not p.startswith("/usr/"))

    def prepare(self, sandbox_id: str, limits: SandboxLimits) -> list[Path]:
        return self.cgroups.create(sandbox_id, limits) if self.cgroups else []

    def release(self, sandbox: WarmSandbox) -> None:
        if self.cgroups:
            self.cgroups.remove(sandbox.id)

    def out_of_memory(self, sandbox: WarmSandbox) -> bool:
        return bool(self.cgroups and self.cgroups.oom_killed(sandbox.id))

    def command(
        self, sandbox_id: str, conn_dir: Path, limits: SandboxLimits, cgroup_procs: list[Path]
    ) -> list[str]:
        argv = [self.bwrap, "--unshare-all", "--die-with-parent", "--new-session",
                "--cap-drop", "ALL", "--hostname", "sandbox"]
        for path in SYSTEM_DIRS:
            if os.path.islink(path):
                argv += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                argv += ["--ro-bind", path, path]
        for path in ETC_FILES:
            argv += ["--ro-bind-try", path, path]
        argv += ["--proc", "/proc", "--dev", "/dev",
                 "--size", str(limits.work_bytes), "--tmpfs", "/tmp",
                 "--size", str(limits.work_bytes), "--tmpfs", WORK_DIR_INSIDE]
        # After the tmpfs mounts, so that a runtime under /tmp (a checkout there) stays visible.
        for path in self.runtime_paths():
            argv += ["--ro-bind", path, path]
        argv += ["--bind", str(conn_dir), CONN_DIR_INSIDE,
                 "--remount-ro", "/",
                 "--uid", "1000", "--gid", "1000", "--chdir", WORK_DIR_INSIDE, "--clearenv"]
        for key, value in sandbox_environment().items():
            argv += ["--setenv", key, value]
        argv += [self.python, "-c", BOOT_SOURCE,
                 boot_argument(limits, limited_by_cgroup=bool(cgroup_procs))]
        if os.geteuid() == 0:
            argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                    *argv]
        if cgroup_procs:
            joins = "; ".join(f'echo $$ > "{p}"' for p in cgroup_procs)
            argv = ["/bin/sh", "-c", f'{joins}; exec "$@"', "sh", *argv]
        if limits.nice:
            argv = ["nice", "-n", str(limits.nice), *argv]
        return argv
