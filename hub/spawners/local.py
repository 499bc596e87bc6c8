"""Local mode's spawner: one JupyterLab process per person on this machine, each in a box.

For a demo, a teacher's laptop or a school lab PC, where Docker is not available.
It needs no system accounts: each person gets a home under the data dir. Every server
runs inside bubblewrap with its own PID, IPC and mount namespaces: the system and the
Python environment read-only, the lab profiles read-only, the person's home as the only
writable place and a private ``/tmp``. Other people's homes, the data dir's databases
and secrets, the exchange store and the grading sandboxes are simply not there, and the
other servers' processes (with their ``JUPYTERHUB_API_TOKEN``) are not in ``/proc``.

When the hub runs as root, bubblewrap sets the box up as root (so the checkout and the
data dir may sit under a mode-700 directory such as ``/root``: what the server needs is
bound in before privileges go) and the server then drops to a uid of its own,
``[local] uid_base`` plus the person's hub user id. A uid per person rather than per role:
students must not share one either, since files one writes in a place two can reach
(a shared dataset dir, ``/dev/shm`` of a future set-up) would be the other's to change,
and a per-person uid costs nothing here. The grading sandboxes keep uid 65534, below
the range. A hub that is not root runs every box as its own user, as before.

A box outlives a hub that is killed (no ``--die-with-parent``): the hub started again
finds the server alive by its pid and adopts it, and the student's lab goes on answering.
A hub that stops properly stops the boxes (``cleanup_servers``), each as a whole:
bubblewrap passes no signal on, so :meth:`LocalLabSpawner.stop` kills the box's PID
namespace, every process in it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner
from jupyterhub.utils import random_port
from traitlets import Integer, List, Unicode, default
from traitlets.config import Config

from grading.sandbox.bubblewrap import bind_at_own_paths, drop_to, python_paths, system_binds
from hub.lab_config import config_dir, matplotlibrc_path, person_profile, write_lab_config
from hub.settings import LocalSettings, Settings


class PortClaims:
    """Ports this hub has given to servers, held from a server's start to its stop.

    JupyterHub's ``random_port`` binds port 0 and closes the socket at once, so the kernel
    may hand the same port to the next call; a boxed server binds its port only seconds
    later (15-30 s with 20 starting at once on 2 cores). In the regional load run two
    boxes got one port: the second server could not start, and the hub, which takes any
    HTTP answer for a server that is up (the first server's 404), routed the second person
    to the first one's server. Servers adopted after a hub restart have bound their ports,
    which a new pick then cannot return.
    """

    def __init__(self, pick: Callable[[], int] = random_port) -> None:
        self.pick = pick
        self.held: dict[str, int] = {}

    def claim(self, owner: str) -> int:
        """A port no other server of this hub holds, now held by ``owner``."""
        taken = {port for holder, port in self.held.items() if holder != owner}
        for _ in range(100):
            port = self.pick()
            if port not in taken:
                self.held[owner] = port
                return port
        raise RuntimeError("找不到空闲端口 / no free port for a server after 100 tries")

    def release(self, owner: str) -> None:
        """``owner``'s server has stopped: its port may be given again."""
        self.held.pop(owner, None)


#: One per hub process: every local server's port comes from here.
PORT_CLAIMS = PortClaims()


class LocalLabSpawner(LocalProcessSpawner):
    """Start ``jupyterhub-singleuser`` in a bubblewrap box with the person's lab profile."""

    data_dir = Unicode(help="The aiclass data dir (homes and lab profiles live there)").tag(
        config=True
    )
    database_url = Unicode(help="SQLAlchemy URL of the service database").tag(config=True)
    uid_base = Integer(
        LocalSettings.uid_base,
        help="""When the hub runs as root, a person's server runs as this uid plus their
        hub user id, so that no two people (and no grading sandbox) share a uid.""",
    ).tag(config=True)
    bwrap = Unicode("bwrap", help="The bubblewrap executable").tag(config=True)
    box_packages = List(
        Unicode(), ["aiclass_exchange", "aiclass_deferred_nbgrader", "aiclass_explainers",
                    "aiclass_assignments"],
        help="""Packages the server or its kernels import that may live outside the venv (an
        editable install): only their own folders are shown (``python_paths``); the venv's
        link to 我的作业's prebuilt lab extension points into ``aiclass_assignments``.""",
    ).tag(config=True)

    @default("cmd")
    def _default_cmd(self) -> list[str]:
        return [*self.box_command(), str(Path(sys.prefix) / "bin" / "jupyterhub-singleuser")]

    @default("notebook_dir")
    def _default_notebook_dir(self) -> str:
        return self.home_dir

    @property
    def home_dir(self) -> str:
        return str(Path(self.data_dir) / "homes" / self.user.name)

    @property
    def server_uid(self) -> int | None:
        """The uid this person's server runs as, or ``None`` when the hub is not root."""
        return self.uid_base + self.user.id if os.geteuid() == 0 else None

    def read_only_paths(self) -> list[str]:
        """Host directories shown read-only in the box besides the system's own."""
        return python_paths(self.box_packages, [str(Path(self.data_dir) / "jupyter")])

    def box_command(self) -> list[str]:
        """bubblewrap's argv up to the server's command (``setpriv`` to the person's uid).

        Binds go to the host's own paths, so the venv's scripts, ``JUPYTER_CONFIG_PATH``
        and ``HOME`` need no translation; their parent directories are made in the box's
        own root (mode 755), whatever the host's modes are.
        """
        argv = [self.bwrap, "--unshare-pid", "--unshare-ipc", "--new-session",
                *system_binds()]
        argv += ["--ro-bind", "/etc", "/etc", "--proc", "/proc", "--dev", "/dev",
                 "--tmpfs", "/tmp", "--tmpfs", "/var/tmp"]
        binds = [("--ro-bind", path) for path in self.read_only_paths()]
        argv += bind_at_own_paths([*binds, ("--bind", self.home_dir)])
        argv += ["--chdir", self.home_dir, "--"]
        uid = self.server_uid
        return argv if uid is None else argv + drop_to(uid)

    def _prepare_home(self) -> None:
        """Make the home, owned by the server's uid, private; hand over an older home."""
        homes = Path(self.home_dir).parent
        homes.mkdir(mode=0o700, parents=True, exist_ok=True)
        home = Path(self.home_dir)
        home.mkdir(mode=0o700, exist_ok=True)
        uid = self.server_uid
        if uid is not None:
            homes.chmod(0o700)
            if home.stat().st_uid != uid:
                for path in (home, *home.rglob("*")):
                    os.chown(path, uid, uid, follow_symlinks=False)
        home.chmod(0o700)

    async def start(self) -> tuple[str, int]:
        if shutil.which(self.bwrap) is None:
            raise RuntimeError("未找到 bubblewrap，无法启动服务器 / bubblewrap (bwrap) is not "
                               "installed: apt-get install bubblewrap")
        await asyncio.to_thread(self._prepare_home)
        if self.port == 0:  # not configured, or released at the last stop
            self.port = PORT_CLAIMS.claim(self.claim_owner)
        return await super().start()

    @property
    def claim_owner(self) -> str:
        """This server's name among :data:`PORT_CLAIMS`' holders."""
        return f"{self.user.name}/{self.name}"

    def box_init_pid(self) -> int | None:
        """The init of the box's PID namespace: the one child of the bubblewrap process.

        ``None`` unless ``self.pid`` is still a bubblewrap process: the pid of a server
        adopted after a long outage may have gone to another program since.
        """
        proc = Path(f"/proc/{self.pid}")
        try:
            program = (proc / "cmdline").read_bytes().split(b"\0")[0]
            children = (proc / "task" / str(self.pid) / "children").read_text().split()
        except OSError:
            return None
        if Path(program.decode(errors="replace")).name != Path(self.bwrap).name:
            return None
        return int(children[0]) if children else None

    async def stop(self, now: bool = False) -> None:
        """Kill the box's PID namespace, then let JupyterHub see the bubblewrap process go.

        Signalling bubblewrap itself (JupyterHub's SIGINT) would end bubblewrap alone and
        leave the server running in its box; when a namespace's init dies, the kernel
        kills every process in the namespace.
        """
        init = self.box_init_pid() if self.pid else None
        if init is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(init, signal.SIGKILL)
        await super().stop(now=now)
        if PORT_CLAIMS.held.get(self.claim_owner) == self.port:
            self.port = 0  # the next start claims a port again
        PORT_CLAIMS.release(self.claim_owner)

    def make_preexec_fn(self, name: str) -> None:
        """Nothing to do before exec: the box changes directory and drops privileges."""
        return None

    def user_env(self, env: dict[str, str]) -> dict[str, str]:
        env["USER"] = self.user.name
        env["HOME"] = self.home_dir
        env["SHELL"] = "/bin/bash"
        return env

    def get_env(self) -> dict[str, str]:
        env = super().get_env()
        data_dir = Path(self.data_dir)
        profile = person_profile(self.database_url, self.user.name)
        env["JUPYTER_CONFIG_PATH"] = str(config_dir(data_dir, profile))
        env["MATPLOTLIBRC"] = str(matplotlibrc_path(data_dir))
        # The venv's scripts first: nbgrader runs ``alembic`` by name to make a course's
        # gradebook (the formgrader's first step), and a terminal's ``nbgrader`` is the venv's.
        env["PATH"] = os.pathsep.join([str(Path(sys.prefix) / "bin"),
                                       env.get("PATH", os.defpath)])
        return env

    def move_certs(self, paths: dict) -> dict:
        """Internal SSL is not used in local mode."""
        return paths


def configure_local_mode(c: Config, settings: Settings) -> None:
    """Local mode's part of the JupyterHub configuration: the spawner and the lab profiles."""
    c.JupyterHub.spawner_class = LocalLabSpawner
    # A laptop's or a lab PC's hub stopped (Ctrl-C, SIGTERM) takes its servers along: no
    # box outlives ``aiclass up``'s stop. One that is killed leaves them to be adopted.
    c.JupyterHub.cleanup_servers = True
    c.LocalLabSpawner.data_dir = str(settings.data_dir)
    c.LocalLabSpawner.database_url = settings.database_url
    c.LocalLabSpawner.uid_base = settings.local.uid_base
    c.Spawner.default_url = settings.lab.default_url
    c.Spawner.start_timeout = settings.hub.start_timeout
    c.Spawner.http_timeout = settings.hub.start_timeout
    c.JupyterHub.concurrent_spawn_limit = settings.hub.concurrent_spawn_limit
    write_lab_config(settings.data_dir, settings.locale.default, settings.lab.cjk_font)
