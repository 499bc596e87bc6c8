"""The classroom service's Prometheus metrics, in a registry of the service's own.

The hub process imports this package too (to register the service), so metrics kept in
prometheus_client's default registry would also appear, always zero, on the hub's own
``/hub/metrics``. A registry of the service's own (:data:`SERVICE_REGISTRY`) keeps each
number on the one endpoint that counts it: requests, grading and sandboxes here at
``/services/classroom/metrics``; sign-ins and GPU slots, which happen in the hub process,
at ``/hub/metrics`` (:mod:`hub.hub_metrics`).

Events are counted where they happen (requests as Tornado logs them, jobs as a worker
finishes them). The queue is a state, not an event: :class:`GradingQueueCollector` asks
the database when Prometheus scrapes, so it is right whichever process queued the job
and after a restart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Histogram,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tornado import web

from grading.gradebook.models import GradingJob

SERVICE_REGISTRY = CollectorRegistry()
for _collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
    SERVICE_REGISTRY.register(_collector)

REQUESTS = Counter(
    "aiclass_classroom_requests", "Requests the classroom service answered, by handler "
    "(the exchange's and gradebook's API handlers, the pages) and HTTP status",
    ["handler", "method", "code"], registry=SERVICE_REGISTRY)
REQUEST_SECONDS = Histogram(
    "aiclass_classroom_request_duration_seconds", "Time the classroom service took to "
    "answer a request, by handler", ["handler", "method"], registry=SERVICE_REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
GRADING_JOBS = Counter(
    "aiclass_grading_jobs", "Grading jobs this service's workers finished, by outcome "
    "(done, failed, preempted: given back to the queue for others, lease_lost: taken over "
    "by another worker)", ["outcome"],
    registry=SERVICE_REGISTRY)
SANDBOX_FAILURES = Counter(
    "aiclass_sandbox_failures", "Gradings whose sandbox could not be started or fed "
    "(SandboxError), by sandbox backend", ["backend"], registry=SERVICE_REGISTRY)

QUEUE_STATES = ("queued", "running")


def record_request(handler: web.RequestHandler) -> None:
    """Count one answered request and its duration (called as Tornado logs it)."""
    name = type(handler).__name__
    method = handler.request.method or "-"
    REQUESTS.labels(name, method, str(handler.get_status())).inc()
    REQUEST_SECONDS.labels(name, method).observe(handler.request.request_time())


class GradingQueueCollector(Collector):
    """``aiclass_grading_queue_jobs{state}``: jobs waiting and being graded, read at scrape.

    One ``GROUP BY`` over the claim index's leading column; the metrics handler runs the
    scrape on a thread, so it never holds the event loop.
    """

    def __init__(self, sessions: Callable[[], AbstractContextManager[Session]]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self.sessions() as session:
            counts = dict(session.execute(
                select(GradingJob.state, func.count()).where(GradingJob.state.in_(QUEUE_STATES))
                .group_by(GradingJob.state)).all())
        family = GaugeMetricFamily("aiclass_grading_queue_jobs", "Grading jobs queued "
                                   "(waiting for a worker) and running, from the database",
                                   labels=["state"])
        for state in QUEUE_STATES:
            family.add_metric([state], counts.get(state, 0))
        yield family
