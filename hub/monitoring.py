"""Who may read the metrics: the scopes, the scraper's service, JupyterHub's ``/hub/metrics``.

There are two metrics endpoints because the numbers live in two processes: the hub's
``/hub/metrics`` (JupyterHub's own, plus sign-ins and GPU slots, :mod:`hub.hub_metrics`)
and the classroom service's ``/services/classroom/metrics`` (requests, grading, sandboxes,
:mod:`hub.service.metrics`). Both need a token: the hub's the built-in ``read:metrics``,
the service's :data:`METRICS_SCOPE`, a custom scope defined here, because JupyterHub's
``read:metrics`` means the hub's metrics only and the service should not have to trust
a scope it does not own. Both scopes go together to the region admins (their mirrored
roles, :mod:`hub.org.directory`) and to the ``aiclass-metrics`` service, whose token a
center gives its Prometheus (``<data dir>/metrics.token``, made on first start, readable by
the hub's user only). Nothing else grants them; a student's token has neither.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from traitlets.config import Config

from hub.settings import Settings

METRICS_SCOPE = "custom:classroom-metrics:read"
READ_METRICS_SCOPES = ("read:metrics", METRICS_SCOPE)
SCRAPER_SERVICE = "aiclass-metrics"
SCRAPER_ROLE = "metrics-scraper"
SCRAPER_TOKEN_FILE = "metrics.token"


def scraper_token(data_dir: Path) -> str:
    """The scraper service's API token, made on first use and readable only by the hub's user."""
    path = data_dir / SCRAPER_TOKEN_FILE
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32), encoding="ascii")
    return path.read_text(encoding="ascii").strip()


def configure_monitoring(c: Config, settings: Settings) -> None:
    """Define the service's metrics scope, keep ``/hub/metrics`` authenticated, add the scraper."""
    c.JupyterHub.authenticate_prometheus = True
    c.JupyterHub.custom_scopes = {
        METRICS_SCOPE: {
            "description": "读取课堂服务的监控指标 / read the classroom service's Prometheus "
                           "metrics",
        },
    }
    c.JupyterHub.services.append({
        "name": SCRAPER_SERVICE,
        "api_token": scraper_token(settings.data_dir),
        "display": False,
    })
    c.JupyterHub.load_roles.append({
        "name": SCRAPER_ROLE,
        "description": "Prometheus：读取中心和课堂服务的监控指标 / Prometheus: read the hub's "
                       "and the classroom service's metrics",
        "scopes": list(READ_METRICS_SCOPES),
        "services": [SCRAPER_SERVICE],
    })
