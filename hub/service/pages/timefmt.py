"""Times on the pages: stored as naive UTC, shown and entered in China Standard Time.

Schools of one region share one clock (UTC+8, no daylight saving), so the pages show
``2026-09-10 20:00`` rather than offsets, and a due date typed into a form means that
local time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

SCHOOL_TIME = timezone(timedelta(hours=8), "CST")


def localtime(moment: datetime | None) -> str:
    """A stored time as the school's wall-clock time, or a dash."""
    if moment is None:
        return "—"
    return moment.replace(tzinfo=UTC).astimezone(SCHOOL_TIME).strftime("%Y-%m-%d %H:%M")


def parse_local(value: str) -> datetime | None:
    """A ``datetime-local`` form value (school time) as naive UTC; empty means none.

    Raises ``ValueError`` for text that is not such a time.
    """
    value = value.strip()
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SCHOOL_TIME)
    return moment.astimezone(UTC).replace(tzinfo=None)
