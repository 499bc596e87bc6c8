"""The classroom service's timers: sampling server activity, refreshing the region report.

Every ``interval_minutes`` it asks the hub for the users with an active server
(``GET /hub/api/users?state=active``, paginated) with the service's own token, which
the hub grants ``list:users``, ``read:users:activity`` and ``read:servers``.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from tornado.ioloop import PeriodicCallback
from traitlets import Any, Integer, Unicode
from traitlets.config import LoggingConfigurable

from hub.hub_api import HubAPI
from hub.reports.activity import active_servers, record_sample, sample_window
from hub.reports.snapshot import refresh_region

#: How stale the hub's ``last_activity`` may be: servers and the proxy report it every
#: five minutes (JupyterHub's defaults), so a server counts as in use at a sample when it
#: was active within that long, even when samples come more often.
HUB_ACTIVITY_MINUTES = 5


class ActivityRecorder(LoggingConfigurable):
    """Samples the hub's users into ``report_activity_days`` on a timer."""

    api_url = Unicode(help="The hub's REST API, e.g. http://127.0.0.1:8081/hub/api").tag(
        config=True)
    api_token = Unicode(help="The service's token").tag(config=True)
    interval_minutes = Integer(5, help="Minutes between two samples").tag(config=True)
    database = Any(help="The ServiceDatabase to write to")

    async def sample(self) -> int:
        """Take one sample now; return how many users were counted active."""
        now = datetime.now(UTC)
        users = await HubAPI(self.api_url, self.api_token).active_users()
        window = max(self.interval_minutes, HUB_ACTIVITY_MINUTES)
        active = active_servers(users, sample_window(now, window))
        with self.database.session() as session:
            return record_sample(session, active, now, self.interval_minutes)

    async def sample_logged(self) -> None:
        try:
            counted = await self.sample()
        except Exception:  # noqa: BLE001 - a failed sample must not stop the next one
            self.log.exception("could not sample server activity")
            return
        self.log.debug("server activity: %d active", counted)

    def start(self) -> PeriodicCallback:
        timer = PeriodicCallback(self.sample_logged, self.interval_minutes * 60_000)
        timer.start()
        return timer


class RegionRefresher(LoggingConfigurable):
    """Recomputes the region report snapshot on a timer, in a worker thread."""

    interval_minutes = Integer(15, help="Minutes between two recomputations").tag(config=True)
    region_name = Unicode(help="The region's name on the report").tag(config=True)
    policy = Any(help="The ReportPolicy of the settings")
    database = Any(help="The ServiceDatabase to read and write")

    def refresh(self) -> None:
        with self.database.session() as session:
            refresh_region(session, self.region_name, self.policy, datetime.now(UTC).date())

    async def refresh_logged(self) -> None:
        started = time.monotonic()
        try:
            await asyncio.to_thread(self.refresh)
        except Exception:  # noqa: BLE001 - a failed refresh must not stop the next one
            self.log.exception("could not refresh the region report")
            return
        self.log.info("region report refreshed in %.1f s", time.monotonic() - started)

    def start(self) -> PeriodicCallback:
        timer = PeriodicCallback(self.refresh_logged, self.interval_minutes * 60_000)
        timer.start()
        return timer
