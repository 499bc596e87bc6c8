"""The classroom service process: a Tornado app the hub starts as a managed service.

JupyterHub starts it with ``python -m hub.service --port N`` and proxies
``/services/classroom/`` to it; the hub passes the settings location in the
environment, and its own API URL and token for :class:`HubAuth`. Handlers are
grouped by concern, each module contributing its routes here: the exchange REST API
(``exchange_api``), the grading API (``grading_api``) and the pages for teachers and
admins (``pages``); beside them run the grading workers, the activity recorder, the
region report's refresher and the daily retention of what people who left kept.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
from typing import NoReturn

from tornado import web
from tornado.httpserver import HTTPServer
from tornado.log import access_log

from grading.exchange.archive import MIB
from grading.sandbox.cpu_group import grading_cores
from hub.images import image_reference
from hub.privacy.retention import start_daily_retention
from hub.process_lifetime import die_with_parent, stop_signal
from hub.reports.figures import ReportPolicy
from hub.reports.recorder import ActivityRecorder, RegionRefresher
from hub.service.classroom import Classroom
from hub.service.competition_api import competition_routes
from hub.service.competition_scoring import entry_scorer
from hub.service.exchange_api import exchange_routes
from hub.service.grading_api import grading_routes
from hub.service.grading_workers import (
    WorkerProcess,
    grading_cpu_group,
    requeue_abandoned,
    start_grading_workers,
    stop_grading_workers,
)
from hub.service.log_format import configure_service_logging
from hub.service.metrics import record_request
from hub.service.monitoring_api import (
    GRADING_WORKERS_SETTING,
    HealthHandler,
    ReadinessHandler,
    monitoring_routes,
)
from hub.service.pages.routes import page_routes, page_settings
from hub.settings import Settings, settings_from_environment

SERVICE_NAME = "classroom"
DEFAULT_PREFIX = f"/services/{SERVICE_NAME}/"
#: The grading sandbox of each mode: bubblewrap (``local``) where nothing else is named; in
#: kubernetes mode the hub pod can make no namespaces of its own, so grading runs in Jobs.
GRADING_SANDBOX = {"docker": "docker", "kubernetes": "kubernetes"}


class ClassroomApplication(web.Application):
    """Tornado's application, which also counts each request it logs (:mod:`.metrics`).

    ``log_request`` is the one place Tornado sees every finished request, its handler,
    status and time, the refused and the failed included; the ``log_function`` setting
    would replace Tornado's access log instead of adding to it. A healthy probe's answer
    is logged at debug level, as JupyterHub logs ``/hub/health``: a probe every ten
    seconds would otherwise be most of the log. So is the readiness probe's, whose 503
    while the grading workers start is expected.
    """

    def log_request(self, handler: web.RequestHandler) -> None:
        record_request(handler)
        if (isinstance(handler, HealthHandler) and handler.get_status() == 200
                or isinstance(handler, ReadinessHandler)):
            request = handler.request
            access_log.debug("200 %s %s (%s) %.2fms", request.method, request.uri,
                             request.remote_ip, 1000 * request.request_time())
            return
        super().log_request(handler)


def make_app(classroom: Classroom, prefix: str = DEFAULT_PREFIX,
             settings: Settings | None = None) -> web.Application:
    """The Tornado application serving the service under ``prefix``."""
    settings = settings or settings_from_environment()
    return ClassroomApplication(exchange_routes(prefix) + grading_routes(prefix)
                                + competition_routes(prefix) + page_routes(prefix)
                                + monitoring_routes(prefix, classroom),
                                classroom=classroom,
                                **page_settings(prefix, settings))


def listen(app: web.Application, port: int, ip: str = "127.0.0.1") -> HTTPServer:
    """Serve ``app``; bodies larger than twice the upload limit are cut off unread."""
    classroom: Classroom = app.settings["classroom"]
    server = HTTPServer(app, max_body_size=2 * classroom.max_submission_bytes + MIB,
                        xheaders=True)
    server.listen(port, ip)
    return server


async def serve(settings: Settings, port: int, ip: str) -> None:
    """Serve until SIGINT or SIGTERM, then stop at once (:mod:`hub.process_lifetime`)."""
    stopping = stop_signal()
    classroom = Classroom.from_settings(settings)
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", DEFAULT_PREFIX)
    app = make_app(classroom, prefix, settings)
    server = listen(app, port, ip)
    entry_scorer(app.settings).resume_queued()
    classroom.start_blob_sweeps()
    ActivityRecorder(api_url=os.environ["JUPYTERHUB_API_URL"],
                     api_token=os.environ["JUPYTERHUB_API_TOKEN"],
                     interval_minutes=settings.reports.activity_poll_minutes,
                     database=classroom.database).start()
    RegionRefresher(interval_minutes=settings.reports.refresh_minutes,
                    region_name=settings.org.region_name,
                    policy=ReportPolicy.from_settings(settings.reports),
                    database=classroom.database).start()
    start_daily_retention(settings)
    requeue_abandoned(classroom)
    sandbox = GRADING_SANDBOX.get(settings.hub.mode, "local")
    cores = grading_cores(settings.service.grading_cpus, len(os.sched_getaffinity(0)))
    workers = start_grading_workers(classroom, settings.service.grading_workers,
                                    sandbox=sandbox,
                                    image=image_reference("student",
                                                          settings.docker.registry_prefix),
                                    fair_share_seconds=settings.service.grading_fair_share_seconds,
                                    log_format=settings.service.log_format,
                                    cpu_group=grading_cpu_group(
                                        cores, settings.service.grading_workers, sandbox))
    app.settings[GRADING_WORKERS_SETTING] = workers
    # What start-up made (mappers, routes, compiled schemas) lives as long as the process:
    # moved out of the collector's sight, so that the full collections a class fetching at
    # once triggers do not walk it (they held the event loop for tens of milliseconds).
    gc.freeze()
    logging.getLogger("aiclass.classroom").info("classroom service on %s:%d%s",
                                                ip, port, prefix)
    await stopping
    stop(server, classroom, workers)


def stop(server: HTTPServer, classroom: Classroom, workers: list[WorkerProcess]) -> NoReturn:
    """Stop listening, stop the grading workers, put their jobs back in the queue and leave.

    It leaves with ``os._exit``, waiting for no thread: a worker still in a sandbox is
    given up (its job is queued again; bubblewrap boxes die with their worker, and the next
    sandbox backend removes containers left running).
    """
    server.stop()
    requeued = stop_grading_workers(classroom, workers)
    logging.getLogger("aiclass.classroom").info(
        "classroom service stopped; %d grading jobs back in the queue", requeued)
    logging.shutdown()
    os._exit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="aiclass classroom service")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ip", default="127.0.0.1")
    args = parser.parse_args(argv)
    die_with_parent()
    settings = settings_from_environment()
    configure_service_logging(settings.service.log_format)
    asyncio.run(serve(settings, args.port, args.ip))
