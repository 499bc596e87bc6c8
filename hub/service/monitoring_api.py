"""``/metrics``, ``/health`` and ``/ready`` of the classroom service: for Prometheus and probes.

The metrics tell who is busy grading, which handler is slow and how many requests a
class made, so they are not for everyone: the caller's token must carry
:data:`hub.monitoring.METRICS_SCOPE`, a JupyterHub custom scope that the region admins'
roles and the metrics scraper's service role hold and students never do. Only a token
counts (``Authorization: token …`` or ``Bearer …``), never the pages' sign-in cookie, so
a page cannot be tricked into fetching them for a signed-in admin.

The health answer is the opposite: unauthenticated, and it says only "ok" or "unhealthy".
It is 200 only when the service database answers a query within
:data:`HEALTH_TIMEOUT_SECONDS`, since a service whose database is gone serves nothing
but errors, and an orchestrator should see that rather than a process that merely runs.

Readiness is another question: a service answers requests a second after it starts, but
its grading workers spend seconds of CPU importing nbgrader before they grade. ``/ready``
(unauthenticated too, counts only) is 200 once every worker has said it is ready, 503
until then and again while a dead worker is started anew, so that whoever starts a
service (a load test, an orchestrator rolling a new one out) can wait for the start to be
over before sending it a class.
"""

from __future__ import annotations

import asyncio
import json
import logging

from jupyterhub.services.auth import HubAuthenticated
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from tornado import web

from hub.monitoring import METRICS_SCOPE
from hub.service.classroom import Classroom
from hub.service.metrics import SERVICE_REGISTRY, GradingQueueCollector

log = logging.getLogger("aiclass.classroom")
HEALTH_TIMEOUT_SECONDS = 5.0
#: The application setting that holds the service's grading workers
#: (:class:`hub.service.grading_workers.WorkerProcess`), for ``/ready``; none: ready.
GRADING_WORKERS_SETTING = "grading_workers"


def _json_error(handler: web.RequestHandler, status: int, code: str, zh: str, en: str) -> None:
    handler.set_status(status)
    handler.set_header("Content-Type", "application/json; charset=UTF-8")
    handler.finish(json.dumps({"error": code, "message": zh, "message_en": en},
                              ensure_ascii=False))


class MetricsHandler(HubAuthenticated, web.RequestHandler):
    """Prometheus text exposition for tokens with the metrics scope; 401/403 otherwise."""

    def initialize(self, queue_registry: CollectorRegistry) -> None:
        self.queue_registry = queue_registry

    async def get(self) -> None:
        model = await self.hub_auth.get_user(self, sync=False)
        if not model:
            _json_error(self, 401, "unauthenticated", "需要有效的 JupyterHub 令牌",
                        "a valid JupyterHub token is required")
            return
        if not self.hub_auth.check_scopes({METRICS_SCOPE}, model):
            log.warning("metrics refused to %s %s", model.get("kind", "user"), model.get("name"))
            _json_error(self, 403, "forbidden", f"读取监控指标需要权限 {METRICS_SCOPE}",
                        f"reading the metrics needs the scope {METRICS_SCOPE}")
            return
        loop = asyncio.get_running_loop()
        body = await loop.run_in_executor(None, self._exposition)
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(body)

    def _exposition(self) -> bytes:
        return generate_latest(SERVICE_REGISTRY) + generate_latest(self.queue_registry)


class HealthHandler(web.RequestHandler):
    """200 ``{"status": "ok"}`` when the service database answers, else 503."""

    @property
    def classroom(self) -> Classroom:
        return self.settings["classroom"]

    async def get(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(loop.run_in_executor(None, self._ask_database),
                                   HEALTH_TIMEOUT_SECONDS)
        except (SQLAlchemyError, TimeoutError) as error:
            log.warning("health: the service database does not answer: %s", error)
            self.set_status(503)
            self.finish({"status": "unhealthy"})
            return
        self.finish({"status": "ok"})

    def _ask_database(self) -> None:
        with self.classroom.database.session() as session:
            session.execute(text("SELECT 1"))


class ReadinessHandler(web.RequestHandler):
    """200 ``{"status": "ready", ...}`` once every grading worker is ready, else 503
    ``{"status": "starting", ...}``; both say how many workers are ready, of how many."""

    def get(self) -> None:
        workers = self.settings.get(GRADING_WORKERS_SETTING, [])
        ready = sum(1 for worker in workers if worker.ready)
        if ready < len(workers):
            self.set_status(503)
        self.finish({"status": "ready" if ready == len(workers) else "starting",
                     "grading_workers_ready": ready, "grading_workers": len(workers)})


def monitoring_routes(prefix: str, classroom: Classroom) -> list[tuple]:
    """``{prefix}metrics``, ``{prefix}health`` and ``{prefix}ready``; the queue is read
    from ``classroom``."""
    queue_registry = CollectorRegistry()
    queue_registry.register(GradingQueueCollector(classroom.session))
    return [
        (f"{prefix}metrics", MetricsHandler, {"queue_registry": queue_registry}),
        (f"{prefix}health", HealthHandler),
        (f"{prefix}ready", ReadinessHandler),
    ]
