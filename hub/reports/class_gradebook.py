"""One class's gradebook and its charts: students × assignments, score bands, hard questions.

Each cell is the submission that counts (:mod:`grading.exchange.counted`), on time or
late by the exchange's rule (:mod:`grading.exchange.deadlines`), so the gradebook page,
the exchange's listings and the reports agree on both. The table and every chart come
from a fixed number of queries per class, whatever its size; the charts are computed
from the rows already loaded. The page (``hub.service.pages.gradebook_pages``) checks
who is asking and renders what this module builds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grading.exchange.counted import counted_submission_ids
from grading.exchange.deadlines import applicable_due, is_late
from grading.exchange.models import Extension, Submission
from grading.exchange.store import ExchangeStore
from grading.gradebook.models import CellGrade
from hub.org.models import Enrollment, Person, Role
from hub.reports.scores import SubmissionScore, submission_scores


@dataclass
class Cell:
    """One student's counted submission of one assignment (``missing``: none)."""

    status: str
    key: str | None = None
    shown: str = ""
    score: SubmissionScore | None = None


@dataclass
class Row:
    username: str
    display_name: str
    cells: list[Cell] = field(default_factory=list)
    submitted: int = 0

    @property
    def graded(self) -> list[SubmissionScore]:
        return [c.score for c in self.cells if c.score is not None and c.score.fraction is not None]

    @property
    def total_shown(self) -> str:
        graded = self.graded
        if not graded:
            return f"{self.submitted}/{len(self.cells)}"
        return f"{sum(g.score for g in graded):g}/{sum(g.max_score for g in graded):g}"


#: The bands of the score distribution: tenths of an assignment's points.
BANDS = tuple(f"{i * 10}–{i * 10 + 10}%" for i in range(10))


def band(fraction: float) -> int:
    """The tenth of the points a fraction falls in (exactly 100% is in the top band)."""
    return min(max(int(fraction * 10 + 1e-9), 0), 9)


@dataclass
class ClassGradebook:
    assignments: list[str]
    rows: list[Row]
    #: assignment → (``notebook/question``, share of its points the class got), in order.
    questions: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    #: The assignment the charts show first: the newest release that has scores.
    latest: str | None = None

    @cached_property
    def distributions(self) -> dict[str, list[tuple[str, int]]]:
        """Per assignment with scores, students per tenth of that assignment's points.

        Each student counts once per assignment, with the submission that counts, once
        it is fully graded; built from the rows already loaded (no query).
        """
        bins = {a: [0] * 10 for a in self.assignments}
        for row in self.rows:
            for assignment_id, cell in zip(self.assignments, row.cells, strict=True):
                fraction = cell.score.fraction if cell.score is not None else None
                if fraction is not None:
                    bins[assignment_id][band(fraction)] += 1
        return {a: list(zip(BANDS, counts, strict=True))
                for a, counts in bins.items() if any(counts)}

    @property
    def chart_assignments(self) -> list[str]:
        """The assignments a chart can show: those with scores or graded questions."""
        shown = set(self.distributions) | set(self.questions)
        return [a for a in self.assignments if a in shown]

    @property
    def submission_rates(self) -> list[tuple[str, float]]:
        total = len(self.rows) or 1
        return [(a, round(sum(r.cells[i].status != "missing" for r in self.rows) / total, 3))
                for i, a in enumerate(self.assignments)]


def question_difficulty(session: Session, submission_ids: list[int]
                        ) -> dict[str, list[tuple[str, float]]]:
    """Per assignment, per graded question, the share of its points the class got.

    A low share is a hard question. Questions are named ``notebook/grade id`` within
    their assignment, in the notebook's order; the database averages them (one query).
    """
    scored = func.coalesce(CellGrade.override_score, CellGrade.manual_score,
                           CellGrade.auto_score)
    got: dict[str, list[tuple[str, float]]] = {}
    for assignment_id, notebook, grade_id, share in session.execute(
            select(CellGrade.assignment_id, CellGrade.notebook, CellGrade.grade_id,
                   func.avg(scored / CellGrade.max_score))
            .where(CellGrade.submission_id.in_(submission_ids), scored.is_not(None),
                   CellGrade.max_score > 0)
            .group_by(CellGrade.assignment_id, CellGrade.notebook, CellGrade.grade_id)
            .order_by(CellGrade.assignment_id, CellGrade.notebook,
                      func.min(CellGrade.position), CellGrade.grade_id)):
        got.setdefault(assignment_id, []).append((f"{notebook}/{grade_id}",
                                                  round(float(share), 3)))
    return got


def class_gradebook(session: Session, store: ExchangeStore, class_id: str,
                    show_time: Callable[[datetime], str]) -> ClassGradebook:
    """The class's students × its current assignments, each cell the submission that counts.

    ``show_time``: how a cell shows the time of a submission without scores yet (the
    pages show school time; this module knows no time zone).
    """
    people = session.execute(
        select(Person.username, Person.display_name)
        .join(Enrollment, Enrollment.username == Person.username)
        .where(Enrollment.class_id == class_id, Enrollment.role == Role.STUDENT)
        .order_by(Person.username)).all()
    releases = {r.assignment_id: r for r in store.current_releases([class_id])}
    assignments = sorted(releases)
    counted = {(s.username, s.assignment_id): s for s in session.scalars(
        select(Submission).where(Submission.id.in_(
            counted_submission_ids(Submission.class_id == class_id))))}
    scores = submission_scores(session, [s.id for s in counted.values()])
    extensions = {(u, a): due for u, a, due in session.execute(
        select(Extension.username, Extension.assignment_id, Extension.due_at)
        .where(Extension.class_id == class_id))}
    rows = []
    for username, display_name in people:
        row = Row(username, display_name)
        for assignment_id in assignments:
            submission = counted.get((username, assignment_id))
            if submission is None:
                row.cells.append(Cell("missing"))
                continue
            due = applicable_due(releases[assignment_id].due_at,
                                 extensions.get((username, assignment_id)))
            score = scores.get(submission.id)
            shown = show_time(submission.submitted_at)
            if score is not None:
                shown = f"{score.score:g}/{score.max_score:g}" + ("…" if score.pending else "")
            status = "late" if is_late(submission.submitted_at, due) else "on_time"
            row.cells.append(Cell(status, submission.key, shown, score))
            row.submitted += 1
        rows.append(row)
    current = [s.id for s in counted.values() if s.assignment_id in releases]
    questions = question_difficulty(session, current)
    book = ClassGradebook(assignments, rows, questions)
    book.latest = max(book.chart_assignments, default=None,
                      key=lambda a: (releases[a].released_at, a))
    return book
