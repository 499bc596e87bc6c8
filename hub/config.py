"""Turn the settings into JupyterHub configuration: one function per concern.

``jupyterhub_config.py`` calls :func:`configure_hub`; everything the hub needs
(addresses, databases, sign-in, spawner, pages, groups and roles) is derived from
the one settings object, so that a mode is a setting and not a fork.
"""

from __future__ import annotations

import sys
from pathlib import Path

from traitlets.config import Config

from hub.auth.landing import running_lab_url
from hub.auth.oauth import configure_oauth
from hub.auth.roster import RosterAuthenticator
from hub.db import sqlite_wal_connector
from hub.hub_api import internal_address
from hub.messages import TEXT
from hub.monitoring import configure_monitoring
from hub.org.mirror import SERVICE_NAME as MIRROR_SERVICE
from hub.org.mirror import SERVICE_ROLE as MIRROR_ROLE
from hub.org.mirror import SERVICE_SCOPES as MIRROR_SCOPES
from hub.org.mirror import mirror_token
from hub.service.registration import configure_services
from hub.settings import Settings, service_environment, settings_from_environment
from hub.spawners import configure_spawner

TEMPLATES_DIR = Path(__file__).parent / "templates"


def configure_network(c: Config, settings: Settings) -> None:
    """Where the proxy, the hub and the proxy's API listen; state files in the data dir."""
    hub, data = settings.hub, settings.data_dir
    c.JupyterHub.bind_url = settings.public_url
    c.JupyterHub.hub_bind_url = f"http://{internal_address(settings)}:{hub.hub_port}"
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{hub.proxy_api_port}"
    c.ConfigurableHTTPProxy.pid_file = str(data / "proxy.pid")
    c.JupyterHub.pid_file = str(data / "jupyterhub.pid")
    c.JupyterHub.cookie_secret_file = str(data / "jupyterhub_cookie_secret")
    c.JupyterHub.db_url = settings.hub_database_url
    if not settings.database.hub_url:
        c.JupyterHub.db_kwargs = {"creator": sqlite_wal_connector(data / "jupyterhub.sqlite")}


def configure_tls(c: Config, settings: Settings) -> None:
    """HTTPS at the proxy from ``[tls]``'s certificate and key, and only ``Secure`` cookies.

    The proxy then speaks nothing but TLS on the public port. JupyterHub marks its cookies
    ``Secure`` when the request came over HTTPS; ``cookie_options`` says so outright, so
    that no cookie of the hub (its sign-in and XSRF cookies included) ever depends on a
    forwarded header.
    """
    if not settings.tls.enabled:
        return
    c.JupyterHub.ssl_cert = settings.tls.certificate
    c.JupyterHub.ssl_key = settings.tls.key
    c.JupyterHub.tornado_settings.update({"cookie_options": {"secure": True}})


def configure_pages(c: Config, settings: Settings) -> None:
    """Chinese-first hub pages: our templates over JupyterHub's, texts by locale; a sign-in
    to a running server lands in its lab (:mod:`hub.auth.landing`)."""
    c.JupyterHub.template_paths = [str(TEMPLATES_DIR)]
    c.JupyterHub.template_vars = {"aiclass_text": TEXT[settings.locale.default]}
    c.JupyterHub.default_url = running_lab_url


def configure_authentication(c: Config, settings: Settings) -> None:
    """Roster passwords, or the province's SSO when ``[auth] method = "oauth"``."""
    if settings.auth.method == "oauth":
        configure_oauth(c, settings)
        return
    c.JupyterHub.authenticator_class = RosterAuthenticator
    c.RosterAuthenticator.database_url = settings.database_url
    c.RosterAuthenticator.locale = settings.locale.default
    c.RosterAuthenticator.max_failed_logins = settings.auth.max_failed_logins
    c.RosterAuthenticator.lockout_minutes = settings.auth.lockout_minutes
    c.RosterAuthenticator.min_password_length = settings.auth.min_password_length
    c.RosterAuthenticator.address_failure_burst = settings.auth.address_failure_burst
    c.RosterAuthenticator.address_failures_per_minute = settings.auth.address_failures_per_minute
    c.Authenticator.allow_all = True
    c.Authenticator.admin_users = set(settings.hub.admin_users)


def configure_organisation(c: Config, settings: Settings) -> None:
    """Groups and scoped roles mirrored from the organisation model by a managed service.

    The mirror (:mod:`hub.org.mirror`) replaces loading them with ``load_groups`` and
    ``load_roles`` at start: those only add (a student removed from a class while the
    hub was down would keep the membership) and would create a region's twenty
    thousand users one by one on every start. The service reconciles as the hub
    starts and periodically; ``aiclass roster import`` reconciles right after a change.
    Only JupyterHub admins may grant admin, so the mirror is one exactly when
    ``[org] region_admins_are_superusers`` asks it to make region admins superusers.
    """
    c.JupyterHub.services.append({
        "name": MIRROR_SERVICE,
        "api_token": mirror_token(settings.data_dir),
        "command": [sys.executable, "-m", "hub.org.mirror"],
        "environment": service_environment(settings),
        "display": False,
        "admin": settings.org.region_admins_are_superusers,
    })
    c.JupyterHub.load_roles.append({"name": MIRROR_ROLE, "scopes": MIRROR_SCOPES,
                                    "services": [MIRROR_SERVICE]})


def configure_hub(c: Config, settings: Settings | None = None) -> Settings:
    """Fill ``c`` from the settings (by default those ``aiclass up`` passed down)."""
    settings = settings or settings_from_environment()
    configure_network(c, settings)
    configure_tls(c, settings)
    configure_pages(c, settings)
    configure_authentication(c, settings)
    configure_spawner(c, settings)
    configure_organisation(c, settings)
    configure_services(c, settings)
    configure_monitoring(c, settings)
    return settings
