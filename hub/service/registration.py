"""Register the classroom service with JupyterHub, in every mode.

The hub starts it as a managed service at ``/services/classroom/``, grants every
user's tokens (and their servers' ``$JUPYTERHUB_API_TOKEN``) access to it, and tells
the servers where it is so that the nbgrader exchange plugin can reach it.
"""

from __future__ import annotations

import socket
import sys

from traitlets.config import Config

from hub.hub_api import internal_address
from hub.service.app import SERVICE_NAME
from hub.settings import Settings, service_environment

ACCESS_SCOPE = f"access:services!service={SERVICE_NAME}"
EXCHANGE_URL_ENV = "AICLASS_EXCHANGE_URL"


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def service_url(settings: Settings, port: int) -> str:
    """The service's URL as the users' servers reach it: through the hub's proxy.

    Behind ``[tls]`` the proxy speaks only TLS with a certificate for the hub's public name,
    which ``127.0.0.1`` is not; servers then reach the service at its own ``port`` on
    :func:`internal_address`, where the traffic never leaves the machine.
    """
    if settings.tls.enabled:
        host = internal_address(settings)
        return f"http://{host}:{port}{settings.hub.base_url}services/{SERVICE_NAME}/"
    host = "127.0.0.1" if settings.hub.ip in ("", "0.0.0.0") else settings.hub.ip
    return f"http://{host}:{settings.hub.port}{settings.hub.base_url}services/{SERVICE_NAME}/"


def configure_services(c: Config, settings: Settings) -> None:
    """Start the classroom service with the hub and let users' tokens reach it."""
    host = internal_address(settings)
    port = settings.service.port or _free_port(host)
    if host != "127.0.0.1":
        # the one port of the service that students' containers may reach (the fence's)
        c.ClassroomDockerSpawner.service_port = port
    c.JupyterHub.services.append({
        "name": SERVICE_NAME,
        "url": f"http://{host}:{port}",
        "command": [sys.executable, "-m", "hub.service", "--port", str(port), "--ip", host],
        "environment": service_environment(settings),
        "oauth_no_confirm": True,
        "timeout": 180,
        "display": True,
    })
    c.JupyterHub.load_roles.append({"name": "user", "scopes": ["self", ACCESS_SCOPE]})
    c.JupyterHub.load_roles.append({
        "name": "classroom-service",
        "description": "课堂服务：记录服务器活动、课前启动全班服务器 / sample server activity "
                       "and start a class's servers for its teacher",
        "scopes": ["list:users", "read:users:activity", "read:servers", "servers"],
        "services": [SERVICE_NAME],
    })
    c.Spawner.server_token_scopes = ["users:activity!user", "access:servers!server",
                                     ACCESS_SCOPE]
    c.Spawner.environment.update({EXCHANGE_URL_ENV: service_url(settings, port)})
