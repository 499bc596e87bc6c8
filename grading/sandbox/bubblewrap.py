"""Local sandbox with bubblewrap: new PID, network, IPC and mount namespaces (and user,
when the grader is not root).

The system is mounted read-only and only what Python needs is visible; the
grader's files, the gradebook, the source assignment and other students'
folders simply do not exist inside. The work directory and ``/tmp`` are
size-limited tmpfs mounts. When the grader runs as root, the sandbox runs as
the host's ``nobody`` and joins per-sandbox control groups for memory and pids.

As root, bubblewrap itself runs as root (no user namespace) and the sandboxed code drops
to ``nobody`` inside (:func:`drop_to`): what the sandbox shows is bound in before the
drop, so a runtime under a directory ``nobody`` may not enter (a checkout in ``/root``)
still works, and the code runs with no capabilities and no way to gain any.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from collections.abc import Iterable
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
ROOT_NAMESPACES = ("--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                   "--unshare-cgroup-try")
"""``--unshare-all`` but the user namespace: as root, one would map the sandbox to root."""
ETC_FILES = ("/etc/fonts", "/etc/localtime", "/etc/ld.so.cache", "/etc/alternatives",
             "/etc/matplotlibrc")


def bind_at_own_paths(binds: list[tuple[str, str]], made: set[Path] | None = None) -> list[str]:
    """bwrap arguments for ``(option, host path)`` binds at the same path inside.

    bubblewrap makes a bind's missing parents mode 700 and owned by whoever runs it; the
    parents are made here first, mode 755, so that a uid it drops to can walk down to the
    bind, whatever the modes of the host's directories on the way.
    """
    made = set() if made is None else made
    argv: list[str] = []
    for option, path in binds:
        for parent in reversed(Path(path).parents):
            if parent not in made and str(parent) not in ("/", "/tmp"):
                argv += ["--dir", str(parent)]
                made.add(parent)
        argv += [option, path, path]
    return argv


def system_binds() -> list[str]:
    """bwrap arguments that show the system's directories read-only, keeping the symlinks of
    a merged ``/usr`` (``/bin`` → ``usr/bin``) as symlinks."""
    argv: list[str] = []
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            argv += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            argv += ["--ro-bind", path, path]
    return argv


def python_paths(packages: Iterable[str], extra: Iterable[str] = ()) -> list[str]:
    """Host directories that hold this Python runtime, ``packages`` and ``extra``, for a box
    that shows the system already (:func:`system_binds`).

    An editable install (a development checkout, the test suite) leaves a package's code in
    its source folder: only that package folder is listed, never the checkout around it,
    which holds the source assignments. A directory inside another listed one, or inside the
    system's, is left out: it is shown already.
    """
    paths = {sys.base_prefix, sys.prefix, *extra}
    for name in packages:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            paths.add(str(Path(spec.origin).resolve().parent))
    shown: list[str] = []
    for path in sorted(paths):
        if not any(Path(path).is_relative_to(outer) for outer in (*SYSTEM_DIRS, *shown)):
            shown.append(path)
    return shown


def drop_to(uid: int) -> list[str]:
    """``setpriv`` to ``uid`` with no groups, no capabilities and no way to gain any."""
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs",
            "--inh-caps=-all", "--bounding-set=-all", "--"]


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
        help="""Packages notebooks import that may live outside the runtime's prefix (an
        editable install): only their own folders are shown (:func:`python_paths`).""",
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
        return python_paths(self.kernel_packages, self.extra_ro_paths)

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
        as_root = os.geteuid() == 0
        argv = [self.bwrap, *(ROOT_NAMESPACES if as_root else ("--unshare-all", "--cap-drop",
                                                               "ALL")),
                "--die-with-parent", "--new-session", "--hostname", "sandbox", *system_binds()]
        for path in ETC_FILES:
            argv += ["--ro-bind-try", path, path]
        # Made by root, the tmpfs mounts are root's: open to the uid the code drops to, the
        # only one inside.
        writable = ["--perms", "1777"] if as_root else []
        argv += ["--proc", "/proc", "--dev", "/dev",
                 "--size", str(limits.work_bytes), *writable, "--tmpfs", "/tmp",
                 "--size", str(limits.work_bytes), *writable, "--tmpfs", WORK_DIR_INSIDE]
        # After the tmpfs mounts, so that a runtime under /tmp (a checkout there) stays visible.
        argv += bind_at_own_paths([("--ro-bind", path) for path in self.runtime_paths()])
        argv += ["--bind", str(conn_dir), CONN_DIR_INSIDE, "--remount-ro", "/"]
        if not as_root:
            argv += ["--uid", "1000", "--gid", "1000"]
        argv += ["--chdir", WORK_DIR_INSIDE, "--clearenv"]
        for key, value in sandbox_environment().items():
            argv += ["--setenv", key, value]
        argv += ["--", *(drop_to(NOBODY) if as_root else ()), self.python, "-c", BOOT_SOURCE,
                 boot_argument(limits, limited_by_cgroup=bool(cgroup_procs))]
        if cgroup_procs:
            joins = "; ".join(f'echo $$ > "{p}"' for p in cgroup_procs)
            argv = ["/bin/sh", "-c", f'{joins}; exec "$@"', "sh", *argv]
        if limits.nice:
            argv = ["nice", "-n", str(limits.nice), *argv]
        return argv
