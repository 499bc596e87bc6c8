"""Server activity, recorded so that reports can count class-hours and GPU hours.

JupyterHub keeps only each server's *last* activity, not how long it was used, so the
classroom service samples the hub's REST API (``GET /hub/api/users?state=active``)
every few minutes: a server that is ready and was active since the previous sample
adds one interval of minutes to its user's row for today (and to the GPU minutes when
it runs the ``gpu`` profile). One row per user and day keeps a region of 20,000
students at a few million rows a year, and makes a missed sample cost minutes, not
the record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.hub_api import server_state
from hub.reports.tables import ActivityDay

GPU_PROFILE = "gpu"


def _parse_hub_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def active_servers(users: Iterable[Mapping[str, Any]], since: datetime
                   ) -> dict[str, bool]:
    """From the hub's user models: who had a ready server active since ``since`` → on a GPU."""
    active: dict[str, bool] = {}
    for user in users:
        if server_state(user) != "ready":
            continue
        server = user["servers"][""]
        last = _parse_hub_time(server.get("last_activity"))
        if last is None or last < since:
            continue
        options = server.get("user_options") or {}
        active[user["name"]] = options.get("profile") == GPU_PROFILE
    return active


def record_sample(session: Session, active: Mapping[str, bool], moment: datetime,
                  minutes: int) -> int:
    """Add ``minutes`` to today's row of every active user; return how many rows changed."""
    day = moment.astimezone(UTC).date()
    names = sorted(active)
    rows = {row.username: row for row in session.scalars(
        select(ActivityDay).where(ActivityDay.day == day, ActivityDay.username.in_(names)))}
    for name in names:
        row = rows.get(name)
        if row is None:
            row = ActivityDay(username=name, day=day, active_minutes=0, gpu_minutes=0)
            session.add(row)
        row.active_minutes += minutes
        if active[name]:
            row.gpu_minutes += minutes
    session.flush()
    return len(names)


def sample_window(now: datetime, minutes: int) -> datetime:
    """The earliest activity that still counts for a sample taken at ``now``."""
    return now - timedelta(minutes=minutes)
