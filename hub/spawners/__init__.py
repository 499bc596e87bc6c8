"""The spawners of each mode: local processes, Docker containers, and the GPU pool they share.

:func:`configure_spawner` is the one place a mode is chosen: each mode's module offers one
function that turns the settings into its part of the JupyterHub configuration, and
:data:`MODES` names it, so a new mode is one module and one entry here (and one choice of
``[hub] mode`` in :mod:`hub.settings`).
"""

from __future__ import annotations

from collections.abc import Callable

from traitlets.config import Config

from hub.settings import Settings
from hub.spawners.docker import configure_docker_mode
from hub.spawners.kubernetes import configure_kubernetes_mode
from hub.spawners.local import configure_local_mode

MODES: dict[str, Callable[[Config, Settings], None]] = {
    "local": configure_local_mode,
    "docker": configure_docker_mode,
    "kubernetes": configure_kubernetes_mode,
}
"""``[hub] mode`` → the function that configures that mode's spawner."""


def configure_spawner(c: Config, settings: Settings) -> None:
    """What a server is and how long it may take to start, for the settings' mode."""
    MODES[settings.hub.mode](c, settings)
