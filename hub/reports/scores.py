"""Scores from the central gradebook, summed per submission, as reports and pages need them.

A submission counts as graded when every one of its graded cells has a score (an
open answer still waiting for its teacher keeps it pending). Per student and
assignment the reports take the submission that counts (the teacher's choice, else
the latest: :mod:`grading.exchange.counted`), the one the gradebook page shows, and
its score once it is graded.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grading.exchange.counted import counted_submission_ids
from grading.exchange.models import Submission
from grading.gradebook.models import CellGrade


@dataclass(frozen=True)
class SubmissionScore:
    score: float
    max_score: float
    pending: int

    @property
    def fraction(self) -> float | None:
        """The share of the points, once nothing is pending (``None`` before)."""
        if self.pending or not self.max_score:
            return None
        return self.score / self.max_score


def _score():  # noqa: ANN202 - a SQL expression
    return func.coalesce(CellGrade.override_score, CellGrade.manual_score, CellGrade.auto_score)


def submission_scores(session: Session, submission_ids: Collection[int]
                      ) -> dict[int, SubmissionScore]:
    """Each graded submission's points, maximum and number of cells still without a score."""
    scored = _score()
    rows = session.execute(
        select(CellGrade.submission_id, func.sum(scored), func.sum(CellGrade.max_score),
               func.count() - func.count(scored))
        .where(CellGrade.submission_id.in_(list(submission_ids)))
        .group_by(CellGrade.submission_id))
    return {sid: SubmissionScore(float(score or 0), float(top or 0), int(pending))
            for sid, score, top, pending in rows}


def counted_fractions(session: Session, class_ids: Collection[str]
                      ) -> dict[tuple[str, str, str], float]:
    """(class, assignment, student) → the fraction of the points of the submission that
    counts, for those whose counted submission is graded."""
    scored = _score()
    counted = counted_submission_ids(Submission.class_id.in_(list(class_ids)))
    rows = session.execute(
        select(CellGrade.class_id, CellGrade.assignment_id, CellGrade.username,
               func.sum(scored), func.sum(CellGrade.max_score),
               func.count() - func.count(scored))
        .where(CellGrade.submission_id.in_(counted))
        .group_by(CellGrade.submission_id, CellGrade.class_id, CellGrade.assignment_id,
                  CellGrade.username))
    fractions: dict[tuple[str, str, str], float] = {}
    for class_id, assignment_id, username, score, top, pending in rows:
        if not pending and top:
            fractions[(class_id, assignment_id, username)] = float(score or 0) / float(top)
    return fractions
