"""Teachers' grading: scores for open answers, overrides of any cell, comments — all audited.

Each change is checked against the cell (a score between 0 and the cell's points;
manual scores only on cells the autograder leaves to a teacher) and recorded in
:class:`GradeChange` with who made it and when, old and new value, in the same
transaction. A refused change names the cell and changes nothing.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from grading.exchange.store import utcnow
from grading.gradebook.models import CellGrade, GradeChange, LostPoints

MAX_COMMENT = 10_000
#: Cell kinds a teacher scores by hand, as in nbgrader's formgrader: answers and tasks.
HAND_GRADED = ("manual", "task")


class GradeRefused(ValueError):
    """A grading change that cannot be made; the message says which cell and why (zh / en)."""


def find_cell(session: Session, submission_id: int, notebook: str, grade_id: str) -> CellGrade:
    """The grade row of one cell of a graded submission."""
    cell = session.scalars(select(CellGrade).where(
        CellGrade.submission_id == submission_id, CellGrade.notebook == notebook,
        CellGrade.grade_id == grade_id)).first()
    if cell is None:
        raise GradeRefused(f"{notebook} 中没有已评分的单元格 {grade_id} / no graded cell "
                           f"{grade_id!r} in {notebook!r} of this submission")
    return cell


def _check_score(cell: CellGrade, score: float | None) -> float | None:
    if score is None:
        return None
    if isinstance(score, bool) or not isinstance(score, int | float) or score != score:
        raise GradeRefused(f"{cell.notebook}/{cell.grade_id}：分数必须是数字 / the score "
                           f"must be a number, not {score!r}")
    if not 0 <= score <= cell.max_score:
        raise GradeRefused(f"{cell.notebook}/{cell.grade_id}：分数须在 0 到 {cell.max_score:g} "
                           f"之间 / the score must be between 0 and {cell.max_score:g}, "
                           f"not {score:g}")
    return float(score)


def _audit(session: Session, cell: CellGrade, field: str, old: object, new: object,
           by: str, reason: str) -> None:
    session.add(GradeChange(cell_id=cell.id, field=field, old_value=json.dumps(old,
                            ensure_ascii=False), new_value=json.dumps(new, ensure_ascii=False),
                            changed_by=by, changed_at=utcnow(), reason=reason))


def set_manual_score(session: Session, cell: CellGrade, score: float | None, by: str,
                     reason: str = "") -> bool:
    """Grade an open answer or a task by hand (``None`` takes the teacher's score back).

    Returns whether the score changed (the caller's audit trail records only changes).
    """
    if cell.kind not in HAND_GRADED:
        raise GradeRefused(f"{cell.notebook}/{cell.grade_id} 由自动评分；请用“覆盖分数” / "
                           "this cell is autograded; use an override instead")
    score = _check_score(cell, score)
    changed = score != cell.manual_score
    if changed:
        _audit(session, cell, "manual", cell.manual_score, score, by, reason)
        cell.manual_score = score
    session.flush()
    return changed


def set_override(session: Session, cell: CellGrade, score: float | None, by: str,
                 reason: str = "") -> bool:
    """Replace whatever score a cell has (``None`` removes the override); whether it changed."""
    score = _check_score(cell, score)
    changed = score != cell.override_score
    if changed:
        _audit(session, cell, "override", cell.override_score, score, by, reason)
        cell.override_score = score
    session.flush()
    return changed


def set_comment(session: Session, cell: CellGrade, comment: str, by: str) -> bool:
    """A teacher's comment on a cell, shown to the student with the feedback; whether it
    changed."""
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT:
        raise GradeRefused(f"{cell.notebook}/{cell.grade_id}：评语须为不超过 {MAX_COMMENT} "
                           f"字的文本 / the comment must be text of at most "
                           f"{MAX_COMMENT} characters")
    changed = comment != cell.comment
    if changed:
        _audit(session, cell, "comment", cell.comment, comment, by, "")
        cell.comment = comment
    session.flush()
    return changed


def history(session: Session, submission_id: int) -> list[dict]:
    """Every recorded change to a submission's grades, oldest first."""
    rows = session.execute(
        select(GradeChange, CellGrade.notebook, CellGrade.grade_id)
        .join(CellGrade, CellGrade.id == GradeChange.cell_id)
        .where(CellGrade.submission_id == submission_id)
        .order_by(GradeChange.changed_at, GradeChange.id))
    return [{"notebook": notebook, "grade_id": grade_id, "field": change.field,
             "old": json.loads(change.old_value) if change.old_value is not None else None,
             "new": json.loads(change.new_value) if change.new_value is not None else None,
             "by": change.changed_by, "at": change.changed_at, "reason": change.reason}
            for change, notebook, grade_id in rows]


def lost_points(session: Session, submission_id: int) -> dict[tuple[str, str], dict]:
    """Why the autograder gave cells of a submission less than their points, by cell."""
    return {(row.notebook, row.grade_id): row.reason for row in session.scalars(
        select(LostPoints).where(LostPoints.submission_id == submission_id))}
