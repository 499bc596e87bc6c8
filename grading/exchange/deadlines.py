"""Whether a submission is late: the due date that applies to its student, and the grace period.

One rule for every place that says "late": the exchange's listings, the gradebook and
progress pages, the reports' on-time figures and the late penalty. A submission made
within ``GRACE`` of its due date is on time everywhere, so a student who pressed
"submit" at the last minute and waited on a slow upload is never shown as late on one
page and on time on another.
"""

from __future__ import annotations

from datetime import datetime, timedelta

#: How long after the due date a submission still counts as on time.
GRACE = timedelta(minutes=15)


def applicable_due(release_due: datetime | None,
                   extension_due: datetime | None) -> datetime | None:
    """The due date that applies to one student: their extension wins over the release's,
    whether it is earlier or later."""
    return extension_due if extension_due is not None else release_due


def lateness(submitted_at: datetime, due_at: datetime | None,
             grace: timedelta = GRACE) -> timedelta | None:
    """How long after its due date a submission came, or ``None`` when it is on time: there
    is no due date, or it came within the grace period."""
    if due_at is None or submitted_at <= due_at + grace:
        return None
    return submitted_at - due_at


def is_late(submitted_at: datetime, due_at: datetime | None, grace: timedelta = GRACE) -> bool:
    """Whether a submission made at ``submitted_at`` is late for ``due_at``."""
    return lateness(submitted_at, due_at, grace) is not None
