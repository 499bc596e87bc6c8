"""Local mode's spawner: one JupyterLab process per student on this machine.

For a demo, a teacher's laptop or a school lab PC, where Docker is not available.
It needs no system accounts: each person gets a home under the data dir. When
the hub runs as root, servers drop to an unprivileged uid so student code cannot
read the hub's database; students are not isolated from each other here — the
docker mode gives each student their own container.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner
from traitlets import Integer, Unicode, default
from traitlets.config import Config

from hub.lab_config import config_dir, matplotlibrc_path, person_profile, write_lab_config
from hub.settings import Settings


class LocalLabSpawner(LocalProcessSpawner):
    """Start ``jupyterhub-singleuser`` as a local process with the person's lab profile."""

    data_dir = Unicode(help="The aiclass data dir (homes and lab profiles live there)").tag(
        config=True
    )
    database_url = Unicode(help="SQLAlchemy URL of the service database").tag(config=True)
    server_uid = Integer(
        65534, help="uid (and gid) the servers run as when the hub runs as root"
    ).tag(config=True)

    @default("cmd")
    def _default_cmd(self) -> list[str]:
        return [str(Path(sys.prefix) / "bin" / "jupyterhub-singleuser")]

    @default("notebook_dir")
    def _default_notebook_dir(self) -> str:
        return self.home_dir

    @property
    def home_dir(self) -> str:
        return str(Path(self.data_dir) / "homes" / self.user.name)

    def _drops_privileges(self) -> bool:
        return os.geteuid() == 0

    def _check_reachable(self) -> None:
        """Refuse clearly when the unprivileged server could not reach its home or Python."""
        needed = {"data dir": Path(self.home_dir).parent, "Python": Path(self.cmd[0]).parent}
        for what, path in needed.items():
            for directory in path.resolve().parents:
                if not directory.stat().st_mode & stat.S_IXOTH:
                    raise RuntimeError(
                        f"{directory} 不允许其他用户进入，学生服务器无法访问{what} / is not "
                        f"traversable by others (chmod o+x), so servers running as uid "
                        f"{self.server_uid} cannot reach the {what}"
                    )

    async def start(self) -> tuple[str, int]:
        if self._drops_privileges():
            self._check_reachable()
            homes = Path(self.home_dir).parent
            homes.mkdir(mode=0o711, exist_ok=True)
        return await super().start()

    def make_preexec_fn(self, name: str):  # noqa: ANN201 - JupyterHub's signature
        home = self.home_dir
        uid = self.server_uid if self._drops_privileges() else None

        def preexec() -> None:
            os.makedirs(home, 0o700, exist_ok=True)
            if uid is not None:
                os.chown(home, uid, uid)
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
            os.chdir(home)

        return preexec

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
        return env

    def move_certs(self, paths: dict) -> dict:
        """Internal SSL is not used in local mode."""
        return paths


def configure_local_mode(c: Config, settings: Settings) -> None:
    """Local mode's part of the JupyterHub configuration: the spawner and the lab profiles."""
    c.JupyterHub.spawner_class = LocalLabSpawner
    c.LocalLabSpawner.data_dir = str(settings.data_dir)
    c.LocalLabSpawner.database_url = settings.database_url
    c.Spawner.default_url = settings.lab.default_url
    c.Spawner.start_timeout = settings.hub.start_timeout
    c.Spawner.http_timeout = settings.hub.start_timeout
    c.JupyterHub.concurrent_spawn_limit = settings.hub.concurrent_spawn_limit
    write_lab_config(settings.data_dir, settings.locale.default, settings.lab.cjk_font)
