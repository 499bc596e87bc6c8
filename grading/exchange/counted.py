"""The submission that counts: the one the teacher chose, else the student's latest.

A student may submit an assignment many times and every submission is kept; grades,
lateness, exports, pages and reports all speak of the one that counts. The rule is a
single SQL ranking, so a page asking about one student and a region report asking
about every student of the term pick the same submission, each in one query.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, case, func, select

from grading.exchange.models import Submission


def counted_submission_ids(*where: ColumnElement[bool]) -> Select:
    """The ids of the submissions that count, one per (class, assignment, student), among
    the submissions that match ``where``.

    The teacher's choice wins; without one, the latest (by the server's time, then by
    insertion order for submissions stamped in the same instant).
    """
    rank = func.row_number().over(
        partition_by=(Submission.class_id, Submission.assignment_id, Submission.username),
        order_by=(case((Submission.chosen, 1), else_=0).desc(),
                  Submission.submitted_at.desc(), Submission.id.desc()))
    ranked = select(Submission.id, rank.label("rank")).where(*where).subquery()
    return select(ranked.c.id).where(ranked.c.rank == 1)
