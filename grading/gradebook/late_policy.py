"""Late penalties: a percentage per started day late, after a grace period, up to a cap.

The due date that applies is the student's own (an extension in the exchange wins
over the release's), so a teacher grants more time by granting an extension and the
penalty follows. Whether a submission is late at all is the exchange's rule
(:mod:`grading.exchange.deadlines`), grace period included, so a submission the pages
show as on time is never penalised. The penalty applies to the submission's total,
never to cells.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from grading.exchange.deadlines import GRACE, lateness
from grading.exchange.models import Submission
from grading.exchange.store import ExchangeStore
from grading.gradebook.models import CellGrade

DAY = timedelta(days=1)


@dataclass(frozen=True)
class LatePolicy:
    """``percent_per_day`` off per started day after ``grace_minutes``, at most ``cap_percent``."""

    percent_per_day: float = 10.0
    cap_percent: float = 50.0
    grace_minutes: int = GRACE // timedelta(minutes=1)

    def __post_init__(self) -> None:
        for name in ("percent_per_day", "cap_percent"):
            value = getattr(self, name)
            if not 0 <= value <= 100:
                raise ValueError(f"{name} must be between 0 and 100, not {value}")
        if self.grace_minutes < 0:
            raise ValueError(f"grace_minutes must not be negative, not {self.grace_minutes}")

    def penalty_percent(self, submitted_at: datetime, due_at: datetime | None) -> float:
        """The percentage taken off a submission made at ``submitted_at``."""
        grace = timedelta(minutes=self.grace_minutes)
        late = lateness(submitted_at, due_at, grace)
        if late is None:
            return 0.0
        days = math.ceil((late - grace) / DAY)
        return min(days * self.percent_per_day, self.cap_percent)

    def apply(self, total: float, submitted_at: datetime, due_at: datetime | None) -> float:
        """``total`` less the penalty."""
        return total * (1 - self.penalty_percent(submitted_at, due_at) / 100)


@dataclass(frozen=True)
class Total:
    """A submission's total before and after its late penalty."""

    raw: float
    max_score: float
    penalty_percent: float
    final: float
    ungraded_cells: int


def submission_total(session: Session, store: ExchangeStore, submission: Submission,
                     policy: LatePolicy) -> Total:
    """The counted scores of a submission's cells, and its total after the late penalty."""
    cells = session.scalars(select(CellGrade).where(CellGrade.submission_id == submission.id)).all()
    raw = sum(c.score for c in cells if c.score is not None)
    due = store.due_for(submission.class_id, submission.assignment_id, submission.username)
    penalty = policy.penalty_percent(submission.submitted_at, due)
    return Total(raw=raw, max_score=sum(c.max_score for c in cells), penalty_percent=penalty,
                 final=round(raw * (1 - penalty / 100), 4),
                 ungraded_cells=sum(1 for c in cells if c.score is None))
