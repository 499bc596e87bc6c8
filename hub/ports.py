"""Refuse to start a hub whose ports another program (another hub) already listens on.

Two hubs on one machine (a demo beside a center's hub, two tests) used to collide on the
fixed defaults of the hub's API (8081) and the proxy's API (8001): the second hub's
proxy failed to start, or worse, its hub talked to the first one's proxy. The ports stay
fixed rather than chosen at start: ``aiclass roster import`` reaches the running hub's
API at ``[hub] hub_port``, docker mode's fence and monitoring name them, and the public
port cannot move anyway, so a second hub needs settings of its own whatever happens.
What this adds is the refusal, before anything starts, naming the port and its key.
"""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path

from hub.settings import SETTINGS_FILE_NAME, Settings, SettingsError


def _in_use(host: str, port: int) -> bool:
    """Whether binding ``host:port`` fails because something listens there.

    ``SO_REUSEADDR`` as the hub, the proxy and Tornado set it, so that connections of a
    hub that just stopped (``TIME_WAIT``) do not count.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            raise
    return False


def _own_proxy_running(data_dir: Path) -> bool:
    """Whether the proxy of an earlier hub of this data dir still runs (the hub was killed).

    JupyterHub stops it and starts its own on the same ports, so they are not a collision.
    """
    try:
        pid = int((data_dir / "proxy.pid").read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


def check_ports_free(settings: Settings) -> None:
    """Raise :class:`SettingsError` naming the first of the hub's ports already in use."""
    hub = settings.hub
    ports = [("hub_port", "127.0.0.1", hub.hub_port)]
    if not _own_proxy_running(settings.data_dir):
        ports = [("port", hub.ip or "0.0.0.0", hub.port), *ports,
                 ("proxy_api_port", "127.0.0.1", hub.proxy_api_port)]
    for key, host, port in ports:
        if _in_use(host, port):
            raise SettingsError(
                f"{settings.data_dir / SETTINGS_FILE_NAME}: [hub] {key} = {port}: "
                f"端口 {host}:{port} 已被占用（本机另有一个 hub？）请换一个端口 / "
                f"port {host}:{port} is already in use (another hub on this machine?): "
                "choose another")
