"""Task cells count in the gradebook as in nbgrader; a lost point's reason reaches the teacher."""

from __future__ import annotations

import nbformat
import pytest
from sqlalchemy import select

from grading.autograde.explain import describe
from grading.autograde.results import CellResult, NotebookResult, StudentResult
from grading.exchange.models import Submission
from grading.exchange.store import utcnow
from grading.gradebook.export import class_table
from grading.gradebook.late_policy import LatePolicy, submission_total
from grading.gradebook.manual import (
    GradeRefused,
    find_cell,
    lost_points,
    set_manual_score,
)
from grading.gradebook.models import CellGrade, GradingJob
from grading.gradebook.queue import enqueue
from grading.gradebook.worker import GradingWorker, record_result
from hub.reports.scores import submission_scores
from hub.service.pages.texts import LOCALES, TEXTS
from tests.gradebook.conftest import CLASS, CORRECT, Service
from tests.pages.test_templates import render

HIDDEN_FAILURE = {"why": "error", "ename": "AssertionError", "evalue": "隐藏测试 / hidden"}


def record(service: Service, submission_id: int, cells: list[CellResult]) -> None:
    """Write a grading result as a worker does, for cells chosen by the test."""
    result = StudentResult("s-01", [NotebookResult("problem1", cells,
                                                   executed=nbformat.v4.new_notebook())])
    with service.store() as (session, _store):
        submission = session.get(Submission, submission_id)
        job = GradingJob(submission_id=submission.id, class_id=CLASS, assignment_id="ps1",
                         state="running", reason="submit", requested_by="s-01",
                         enqueued_at=utcnow(), not_before=utcnow(), attempts=1)
        session.add(job)
        session.flush()
        record_result(session, job.id, submission, result, service.content)


def test_a_task_cell_counts_in_totals_reports_and_export_and_is_graded_by_hand(
        service: Service) -> None:
    """Is a 4-point task in the maximum everywhere, and can only a teacher give its points?"""
    service.release()
    submission_id = service.submit("s-01", CORRECT)
    record(service, submission_id, [CellResult("correct_squares", 2.0, 2.0, "auto"),
                                    CellResult("task_plot", None, 4.0, "task")])
    with service.store() as (session, store):
        submission = session.get(Submission, submission_id)
        total = submission_total(session, store, submission, LatePolicy())
        assert (total.raw, total.max_score, total.ungraded_cells) == (2.0, 6.0, 1)
        assert submission_scores(session, [submission_id])[submission_id].max_score == 6.0
        task = find_cell(session, submission_id, "problem1", "task_plot")
        assert task.kind == "task"
        set_manual_score(session, task, 3.5, "t-0001", "good program")
        with pytest.raises(GradeRefused, match="task_plot"):
            set_manual_score(session, task, 4.5, "t-0001")
        with pytest.raises(GradeRefused, match="correct_squares"):
            set_manual_score(session, find_cell(session, submission_id, "problem1",
                                                "correct_squares"), 1.0, "t-0001")
        table = class_table(session, store, CLASS, ["s-01"], LatePolicy())
    row = dict(zip(table.header, table.rows[0], strict=True))
    assert row["ps1/problem1/task_plot"] == 3.5
    assert (row["ps1 原始分 / raw"], row["ps1 满分 / max"]) == (5.5, 6.0)


def test_lost_points_are_stored_replaced_on_regrade_and_shown_to_the_teacher(
        service: Service) -> None:
    service.release()
    submission_id = service.submit("s-01", CORRECT)
    record(service, submission_id, [
        CellResult("correct_squares", 0.0, 2.0, "auto", HIDDEN_FAILURE),
        CellResult("task_plot", None, 4.0, "task")])
    with service.session() as session:
        assert lost_points(session, submission_id) == {
            ("problem1", "correct_squares"): HIDDEN_FAILURE}
        grades = list(session.scalars(select(CellGrade).where(
            CellGrade.submission_id == submission_id).order_by(CellGrade.position)))
        submission = session.get(Submission, submission_id)
        reasons = lost_points(session, submission_id)
    for lang in LOCALES:
        page = render("submission.html", lang, submission=submission, status="on_time",
                      feedback=None, can_teach=True, error="", grades=grades, flags={}, cohort=None,
                      changes=[], notebooks=[], hand_graded=("manual", "task"),
                      lost={key: describe(r) for key, r in reasons.items()})
        assert TEXTS[lang]["lost_points"] in page
        assert "AssertionError: 隐藏测试 / hidden" in page
        assert TEXTS[lang]["kind_task"] in page
    record(service, submission_id, [CellResult("correct_squares", 2.0, 2.0, "auto"),
                                    CellResult("task_plot", None, 4.0, "task")])
    with service.session() as session:
        assert lost_points(session, submission_id) == {}  # the regrade's verdict replaces it


def test_a_worker_records_why_a_hidden_test_failed(service: Service) -> None:
    """Graded for real in the sandbox: the failing hidden test's error lands in the gradebook."""
    service.release()
    wrong = {**CORRECT, "mean_score": "def mean_score(rows):\n    return 80.0"}
    submission_id = service.submit("s-01", wrong)
    with service.store() as (session, _store):
        enqueue(session, session.get(Submission, submission_id), "submit", "s-01")
    worker = GradingWorker(service.session, service.content, "explainer", sandbox="local")
    try:
        assert worker.run_once() is not None
    finally:
        worker.close()
    with service.session() as session:
        reasons = lost_points(session, submission_id)
        mean = find_cell(session, submission_id, "problem2", "correct_mean")
    assert mean.auto_score == 0.0
    assert reasons[("problem2", "correct_mean")]["ename"] == "AssertionError"
    assert set(reasons) == {("problem2", "correct_mean")}
