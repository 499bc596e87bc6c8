"""The hub's configuration inside the chart's hub pod, run by the chart's ``hub.extraConfig``.

The chart's ``jupyterhub_config.py`` owns what the chart deploys (addresses, the proxy, the
cookie secret, KubeSpawner's defaults, the idle culler); this adds ours on top, from the same
settings file the values were rendered from: the hub database with its password from the
mounted Secret, the Chinese-first pages, sign-in, :class:`~hub.spawners.kubernetes
.ClassroomKubeSpawner`, the organisation's mirror and the classroom service. The service runs
in the hub pod as a hub-managed service, as in the other modes; the proxy (another pod)
reaches it at the hub's Service, on the one extra port the chart's values open for the proxy
only, and students' servers reach it through the proxy as they reach the hub.
"""

from __future__ import annotations

from traitlets.config import Config, LazyConfigValue

from hub.config import configure_authentication, configure_organisation, configure_pages
from hub.service.app import SERVICE_NAME
from hub.service.registration import EXCHANGE_URL_ENV, configure_services
from hub.settings import Settings, settings_from_environment
from hub.spawners import configure_spawner

#: The chart's Services with ``fullnameOverride: ""`` (what :mod:`.values` renders).
HUB_SERVICE, PROXY_SERVICE = "hub", "proxy-public"


def exchange_url(settings: Settings) -> str:
    """The classroom service as students' pods reach it: the proxy's in-cluster Service."""
    return f"http://{PROXY_SERVICE}{settings.hub.base_url}services/{SERVICE_NAME}/"


def expose_classroom_service(c: Config, settings: Settings) -> None:
    """Let the classroom service listen on the hub pod's address for the proxy pod."""
    port = str(settings.kubernetes.service_port)
    services = c.JupyterHub.services
    if isinstance(services, LazyConfigValue):  # appended to, not yet set: the same dicts
        services = services.get_value([])
    for service in services:
        if service["name"] == SERVICE_NAME:
            command = service["command"][:service["command"].index("--port")]
            service["command"] = [*command, "--port", port, "--ip", "0.0.0.0"]
            service["url"] = f"http://{HUB_SERVICE}:{port}"
    c.Spawner.environment.update({EXCHANGE_URL_ENV: exchange_url(settings)})


def configure_kubernetes_hub(c: Config, settings: Settings | None = None) -> Settings:
    """Fill ``c``, after the chart's own configuration, from the settings in the hub pod."""
    settings = settings or settings_from_environment()
    c.JupyterHub.db_url = settings.hub_database_url
    configure_pages(c, settings)
    configure_authentication(c, settings)
    configure_spawner(c, settings)
    configure_organisation(c, settings)
    configure_services(c, settings)
    expose_classroom_service(c, settings)
    return settings
