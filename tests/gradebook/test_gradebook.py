"""Late policy, manual grading with its audit trail, feedback, export and similarity."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import nbformat
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from grading.autograde.results import CellResult, NotebookResult, StudentResult
from grading.exchange.models import Submission
from grading.exchange.store import utcnow
from grading.gradebook.export import class_table, to_csv, to_xlsx
from grading.gradebook.feedback import feedback_html, release_feedback, strip_hidden_tests
from grading.gradebook.late_policy import LatePolicy, submission_total
from grading.gradebook.manual import (
    GradeRefused,
    find_cell,
    history,
    set_comment,
    set_manual_score,
    set_override,
)
from grading.gradebook.models import CellGrade, GradingJob
from grading.gradebook.similarity import class_similarity, similar_pairs
from grading.gradebook.worker import record_result
from tests.gradebook.conftest import CLASS, CORRECT, TEACHER, Service

DUE = datetime(2026, 10, 1, 12, 0)


def test_late_policy_per_started_day_with_grace_and_cap() -> None:
    policy = LatePolicy(percent_per_day=10, cap_percent=25, grace_minutes=15)
    assert policy.penalty_percent(DUE + timedelta(minutes=14), DUE) == 0
    assert policy.penalty_percent(DUE + timedelta(minutes=16), DUE) == 10
    assert policy.penalty_percent(DUE + timedelta(days=1, minutes=16), DUE) == 20
    assert policy.penalty_percent(DUE + timedelta(days=9), DUE) == 25
    assert policy.penalty_percent(DUE + timedelta(days=9), None) == 0
    assert policy.apply(8.0, DUE + timedelta(hours=3), DUE) == pytest.approx(7.2)
    with pytest.raises(ValueError, match="cap_percent"):
        LatePolicy(cap_percent=120)


def graded(service: Service, student: str, scores: dict[str, float | None],
           edits: dict[str, str] | None = None) -> Submission:
    """A submission of ps1 with gradebook rows as a worker writes them (without grading)."""
    submission_id = service.submit(student, edits)
    kinds = {"growth_answer": "manual"}
    executed = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("x = 1\n### BEGIN HIDDEN TESTS\nassert secret_check(x)\n"
                                  "### END HIDDEN TESTS", metadata={"nbgrader": {
                                      "grade_id": "correct_squares", "grade": True}}),
    ])
    result = StudentResult(student, [NotebookResult(
        "problem1", [CellResult(g, s, 2.0, kinds.get(g, "auto")) for g, s in scores.items()],
        executed=executed)])
    with service.store() as (session, _store):
        submission = session.get(Submission, submission_id)
        job = GradingJob(submission_id=submission.id, class_id=CLASS, assignment_id="ps1",
                         state="running", reason="submit", requested_by=student,
                         enqueued_at=utcnow(), not_before=utcnow(), attempts=1)
        session.add(job)
        session.flush()
        record_result(session, job.id, submission, result, service.content)
    return submission


def test_manual_scores_and_overrides_are_checked_and_audited(service: Service) -> None:
    service.release(due_at=utcnow() - timedelta(hours=1))
    submission = graded(service, "s-01", {"correct_squares": 2.0, "growth_answer": None})
    with service.session() as session:
        essay = find_cell(session, submission.id, "problem1", "growth_answer")
        test = find_cell(session, submission.id, "problem1", "correct_squares")
        set_manual_score(session, essay, 1.5, TEACHER, "clear answer")
        set_override(session, test, 1.0, TEACHER, "used a library call")
        set_comment(session, essay, "很好 / good", TEACHER)
        with pytest.raises(GradeRefused, match="growth_answer.*between 0 and 2"):
            set_manual_score(session, essay, 5, TEACHER)
        with pytest.raises(GradeRefused, match="autograded"):
            set_manual_score(session, test, 1, TEACHER)
        with pytest.raises(GradeRefused, match="no graded cell 'nope'"):
            find_cell(session, submission.id, "problem1", "nope")
    with service.store() as (session, store):
        essay = find_cell(session, submission.id, "problem1", "growth_answer")
        assert (essay.manual_score, essay.score, essay.comment) == (1.5, 1.5, "很好 / good")
        changes = history(session, submission.id)
        total = submission_total(session, store, submission, LatePolicy(percent_per_day=10))
    assert [(c["grade_id"], c["field"], c["old"], c["new"], c["by"]) for c in changes] == [
        ("growth_answer", "manual", None, 1.5, TEACHER),
        ("correct_squares", "override", None, 1.0, TEACHER),
        ("growth_answer", "comment", "", "很好 / good", TEACHER)]
    assert (total.raw, total.max_score, total.penalty_percent, total.final) == (2.5, 4.0, 10,
                                                                                 2.25)


def test_a_regrade_keeps_teachers_scores_and_audits_the_new_auto_score(
        service: Service) -> None:
    service.release()
    submission = graded(service, "s-02", {"correct_squares": 0.0, "growth_answer": None})
    with service.session() as session:
        set_override(session, find_cell(session, submission.id, "problem1", "correct_squares"),
                     2.0, TEACHER)
        job = GradingJob(submission_id=submission.id, class_id=CLASS, assignment_id="ps1",
                         state="running", reason="regrade", requested_by=TEACHER,
                         enqueued_at=utcnow(), not_before=utcnow(), attempts=1)
        session.add(job)
        session.flush()
        record_result(session, job.id, submission, StudentResult("s-02", [NotebookResult(
            "problem1", [CellResult("correct_squares", 1.0, 2.0, "auto"),
                         CellResult("growth_answer", None, 2.0, "manual")])]), service.content)
        cell = find_cell(session, submission.id, "problem1", "correct_squares")
        assert (cell.auto_score, cell.override_score, cell.score) == (1.0, 2.0, 2.0)
        assert [(c["field"], c["new"], c["by"]) for c in history(session, submission.id)][-1] \
            == ("auto", 1.0, "autograder")


def test_feedback_has_no_hidden_tests_and_no_student_script() -> None:
    source = "a = 1\n### BEGIN HIDDEN TESTS\nassert hidden_answer_is_42(a)\n" \
             "### END HIDDEN TESTS\nprint('ok')"
    kept, hidden = strip_hidden_tests(source)
    assert "hidden_answer_is_42" not in kept and "print('ok')" in kept
    assert hidden == ["assert hidden_answer_is_42(a)"]
    test = nbformat.v4.new_code_cell(source, metadata={"nbgrader": {"grade_id": "t1"}})
    test.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="",
                                           traceback=["assert hidden_answer_is_42(a)"])]
    student = nbformat.v4.new_code_cell("show()")
    student.outputs = [
        nbformat.v4.new_output("display_data", data={
            "text/html": "<b>hi</b><script>steal()</script><img src=x onerror=alert(1)>"}),
        nbformat.v4.new_output("display_data", data={"application/javascript": "evil()"}),
        nbformat.v4.new_output("stream", text="leak: assert hidden_answer_is_42(a)\n"),
        nbformat.v4.new_output("stream", text="<script>plain()</script>"),
    ]
    grade = CellGrade(grade_id="t1", max_score=2.0, auto_score=0.0, comment="<i>try</i>")
    submitted = nbformat.v4.new_notebook(cells=[
        student, nbformat.v4.new_code_cell("a = 1", metadata=test.metadata)])
    page = feedback_html(submitted, nbformat.v4.new_notebook(cells=[student, test]), [grade],
                         ["tampered"], "ps1 · problem1")
    assert "hidden_answer_is_42" not in page
    assert "BEGIN HIDDEN" not in page
    assert "<script" not in page and "onerror" not in page and "evil()" not in page
    assert "<b>hi</b>" in page and "&lt;script&gt;plain()" in page
    assert "&lt;i&gt;try&lt;/i&gt;" in page and "0 / 2" in page
    assert "提交被篡改" in page


def test_feedback_is_released_to_the_student_through_the_exchange(service: Service) -> None:
    service.release()
    submission = graded(service, "s-03", {"correct_squares": 2.0})
    with service.store() as (session, store):
        release_feedback(session, store, submission, TEACHER)
    with service.store() as (_session, store):
        feedback = store.feedback_of(submission)
        files = store.files_of(feedback.manifest)
    assert list(files) == ["problem1.html"]
    page = files["problem1.html"].decode()
    # The submitted notebook is shown, not the grading run's.
    assert "secret_check" not in page and "x = 1" not in page and "2 / 2" in page
    assert "def squares(n):" in page


def test_export_has_a_column_per_question_in_csv_and_xlsx(service: Service) -> None:
    service.release(due_at=utcnow() - timedelta(days=1, hours=1))
    graded(service, "s-01", {"correct_squares": 2.0, "growth_answer": None})
    graded(service, "=cmd", {"correct_squares": 1.0, "growth_answer": None})
    with service.store() as (session, store):
        table = class_table(session, store, CLASS, ["s-01", "=cmd", "s-09"],
                            LatePolicy(percent_per_day=10, cap_percent=50, grace_minutes=0),
                            names={"s-01": "王小明"})
    rows = list(csv.reader(io.StringIO(to_csv(table).decode("utf-8-sig"))))
    assert rows[0][:4] == ["学生 / student", "姓名 / name", "ps1/problem1/correct_squares",
                           "ps1/problem1/growth_answer"]
    assert rows[1][:4] == ["s-01", "王小明", "2.0", ""]
    assert rows[1][4:8] == ["2.0", "20", "1.6", "4.0"]
    assert rows[2][0] == "'=cmd"
    assert rows[3] == ["s-09", "", "", "", "", "", "", ""]
    sheet = load_workbook(io.BytesIO(to_xlsx(table, CLASS))).active
    assert sheet["C1"].value == "ps1/problem1/correct_squares"
    assert sheet["C2"].value == 2.0 and sheet["G2"].value == pytest.approx(1.6)
    assert sheet["A3"].value == "'=cmd"


ORIGINAL = """
def squares(n):
    # build the list of squares
    if n < 1:
        raise ValueError("n must be positive")
    result = []
    for i in range(1, n + 1):
        result.append(i * i)
    return result
"""
RENAMED = """
def squares(count):
    if count < 1:
        raise ValueError("bad")      # 不合法
    out_list = []
    for k in range(1, count + 1):
        out_list.append(k * k)

    return out_list
"""
INDEPENDENT = """
def squares(n):
    if n <= 0:
        raise ValueError(n)
    return [x ** 2 for x in range(1, n + 1)]
"""


def test_similarity_flags_a_renamed_copy_but_not_independent_work() -> None:
    pairs = similar_pairs({"s-01": ORIGINAL, "s-02": RENAMED, "s-03": INDEPENDENT},
                          min_tokens=20)
    assert [(p.first, p.second) for p in pairs] == [("s-01", "s-02")]
    assert pairs[0].similarity >= 0.8
    with pytest.raises(ValueError, match="threshold"):
        similar_pairs({}, threshold=0)


def test_class_similarity_ignores_the_template(service: Service) -> None:
    service.release()
    copied = {"squares": ORIGINAL, "sum_of_squares": CORRECT["sum_of_squares"]}
    service.submit("s-01", copied)
    service.submit("s-02", {"squares": RENAMED, "sum_of_squares": CORRECT["sum_of_squares"]})
    service.submit("s-03", {"squares": INDEPENDENT})
    service.submit("s-04")  # the untouched template
    service.submit("s-05")
    with service.store() as (_session, store):
        pairs = class_similarity(store, CLASS, "ps1", ["s-01", "s-02", "s-03", "s-04", "s-05"])
    assert [(p.first, p.second) for p in pairs] == [("s-01", "s-02")]


def test_gradebook_rows_reference_their_submission(service: Service) -> None:
    service.release()
    submission = graded(service, "s-06", {"correct_squares": 2.0})
    with service.session() as session:
        cell = session.scalars(select(CellGrade)).one()
        assert (cell.submission_id, cell.username, cell.class_id) == (submission.id, "s-06",
                                                                      CLASS)
