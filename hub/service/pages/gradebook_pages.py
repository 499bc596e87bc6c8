"""The gradebook pages: students × assignments, a submission and its grades, feedback, export.

Opening the gradebook or a submission, grading, releasing feedback and exporting are
on the audit trail (:mod:`hub.audit.events`), with the caller's address.
Scores, manual grading, overrides (audited), feedback and the export are the central
gradebook's (``grading/``); the class table and its charts are built by
``hub.reports.class_gradebook``; these pages check who is asking and show them.
Student notebooks are rendered with nbconvert and then cleaned
(``grading.gradebook.student_html``), so a submission's HTML or script can never run
in the teacher's browser nor make it fetch a URL; the submission page's
Content-Security-Policy allows only inline images as well.
"""

from __future__ import annotations

import html
from datetime import datetime
from urllib.parse import urlencode

import nbformat
from nbconvert import HTMLExporter
from sqlalchemy import select
from sqlalchemy.orm import Session
from tornado import web

from grading.autograde.explain import describe
from grading.exchange.deadlines import is_late
from grading.exchange.models import Submission
from grading.exchange.store import ExchangeStore
from grading.gradebook.export import class_table, to_csv, to_xlsx
from grading.gradebook.feedback import release_feedback
from grading.gradebook.late_policy import LatePolicy
from grading.gradebook.manual import (
    HAND_GRADED,
    find_cell,
    history,
    lost_points,
    set_comment,
    set_manual_score,
    set_override,
)
from grading.gradebook.models import CellGrade, NotebookGrade
from grading.gradebook.student_html import clean_student_html
from hub.audit.events import class_event, submission_event
from hub.auth.throttle import client_address
from hub.org.models import Enrollment, Person, Role
from hub.reports.class_gradebook import class_gradebook
from hub.service import access
from hub.service.pages.base import TEACH, XLSX, Forbidden, PageHandler
from hub.service.pages.teacher import ID
from hub.service.pages.timefmt import localtime
from hub.training.class_ids import cohort_of_class


def cell_time(moment: datetime) -> str:
    """A submission's time in a gradebook cell: school time, without the year."""
    return localtime(moment)[5:]


class GradebookHandler(PageHandler):
    @web.authenticated
    def get(self, class_id: str) -> None:
        with self.classroom.store() as (session, store):
            school_class, _access = self.class_access(session, class_id)
            book = class_gradebook(session, store, class_id, cell_time)
            name = school_class.name
            class_event(session, "grades.viewed", self.person.username,
                        client_address(self.request), class_id, {"page": "gradebook"})
        self.render_page("gradebook.html", school_class={"id": class_id, "name": name},
                         book=book)


class GradebookExportHandler(PageHandler):
    """The gradebook's export (``grading.gradebook.export``): a column a question, then totals."""

    @web.authenticated
    def get(self, class_id: str, extension: str) -> None:
        with self.classroom.store() as (session, store):
            self.class_access(session, class_id)
            people = dict(session.execute(
                select(Person.username, Person.display_name)
                .join(Enrollment, Enrollment.username == Person.username)
                .where(Enrollment.class_id == class_id, Enrollment.role == Role.STUDENT)
                .order_by(Person.username)).all())
            names = people if self.get_query_argument("names", "") == "1" else None
            table = class_table(session, store, class_id, list(people),
                                LatePolicy(), names)
            stamp = datetime.now().strftime("%Y%m%d")
            file_name = f"gradebook-{class_id}-{stamp}.{extension}"
            class_event(session, "export.made", self.person.username,
                        client_address(self.request), class_id,
                        {"file": file_name, "names": names is not None})
        if extension == "csv":
            self.send_file(to_csv(table), file_name, "text/csv; charset=UTF-8")
        else:
            self.send_file(to_xlsx(table, class_id[:31]), file_name, XLSX)


def render_notebook(data: bytes) -> str:
    """A submitted notebook as sanitised HTML (a file that is no notebook: its text, escaped)."""
    try:
        notebook = nbformat.reads(data.decode("utf-8"), as_version=4)
    except (ValueError, UnicodeDecodeError, nbformat.reader.NotJSONError):
        return f"<pre>{html.escape(data[:20000].decode('utf-8', 'replace'))}</pre>"
    body, _resources = HTMLExporter(template_name="basic").from_notebook_node(notebook)
    return clean_student_html(body)


class SubmissionPageHandler(PageHandler):
    """One submission, rendered, with its grades, for its class's teachers and admins; a
    training cohort's coursework for the admins who run the cohort (its teachers in
    :mod:`hub.service.access`), who grade a course's open answers here as teachers do."""

    def load(self, session: Session, store: ExchangeStore, key: str) -> tuple[Submission, str]:
        submission = store.submission(key)
        if submission is None:
            raise Forbidden("not_your_class")
        if cohort_of_class(submission.class_id) is not None:
            if not access.enrolled_as(session, submission.class_id, self.person.username,
                                      Role.TEACHER):
                raise Forbidden("not_your_class")
            return submission, TEACH
        _school_class, access_kind = self.class_access(session, submission.class_id)
        return submission, access_kind

    @web.authenticated
    def get(self, key: str) -> None:
        with self.classroom.store() as (session, store):
            submission, access_kind = self.load(session, store, key)
            files = store.files_of(submission.manifest)
            feedback = store.feedback_of(submission)
            due = store.due_for(submission.class_id, submission.assignment_id,
                                submission.username)
            status = "late" if is_late(submission.submitted_at, due) else "on_time"
            grades = list(session.scalars(
                select(CellGrade).where(CellGrade.submission_id == submission.id)
                .order_by(CellGrade.notebook, CellGrade.position)))
            flags = {n.notebook: n.flags for n in session.scalars(
                select(NotebookGrade).where(NotebookGrade.submission_id == submission.id))}
            changes = history(session, submission.id)
            lost = {key: describe(reason)
                    for key, reason in lost_points(session, submission.id).items()}
            submission_event(session, "grades.viewed", self.person.username,
                             client_address(self.request), submission, {"page": "submission"})
        notebooks = [{"path": path, "html": render_notebook(data)}
                     for path, data in sorted(files.items()) if path.endswith(".ipynb")]
        self.render_page("submission.html", submission=submission, notebooks=notebooks,
                         feedback=feedback, status=status, can_teach=access_kind == TEACH,
                         grades=grades, flags=flags, changes=changes, lost=lost,
                         hand_graded=HAND_GRADED, error=self.get_query_argument("error", ""),
                         cohort=cohort_of_class(submission.class_id))


class GradeFormHandler(SubmissionPageHandler):
    """A teacher's manual score, override or comment on one cell (audited by ``grading``)."""

    @web.authenticated
    def post(self, key: str) -> None:
        field_name = self.get_body_argument("field", "")
        value = self.get_body_argument("value", "").strip()
        reason = self.get_body_argument("reason", "")
        error = ""
        with self.classroom.store() as (session, store):
            submission, access_kind = self.load(session, store, key)
            if access_kind != TEACH:
                raise Forbidden("teachers_only")
            try:
                cell = find_cell(session, submission.id, self.get_body_argument("notebook", ""),
                                 self.get_body_argument("grade_id", ""))
                if field_name == "comment":
                    changed = set_comment(session, cell, value, self.person.username)
                else:
                    score = float(value) if value else None
                    field_name = "manual" if field_name == "manual" else "override"
                    change = set_manual_score if field_name == "manual" else set_override
                    changed = change(session, cell, score, self.person.username, reason)
                if changed:
                    submission_event(session, "grade.changed", self.person.username,
                                     client_address(self.request), submission,
                                     {"notebook": cell.notebook, "grade_id": cell.grade_id,
                                      "field": field_name})
            except ValueError as exc:  # GradeRefused, or a score that is no number
                error = str(exc)
        target = f"{self.prefix}submissions/{key}"
        self.redirect(f"{target}?{urlencode({'error': error})}" if error else target)


class FeedbackFormHandler(SubmissionPageHandler):
    """Release feedback through the exchange: the graded notebooks, or the teacher's comment.

    A graded submission gets the gradebook's feedback (``grading.gradebook.feedback``: hidden tests
    stripped, scores and cell comments). Before grading, nbgrader's Assignments panel still
    gets one ``<notebook>.html`` per notebook: the comment and the student's own notebook,
    rendered and sanitised (the student version never contained hidden tests).
    """

    @web.authenticated
    def post(self, key: str) -> None:
        comment = html.escape(self.get_body_argument("comment", "").strip())
        with self.classroom.store() as (session, store):
            submission, access_kind = self.load(session, store, key)
            if access_kind != TEACH:
                raise Forbidden("teachers_only")
            graded = session.scalar(select(NotebookGrade.id).where(
                NotebookGrade.submission_id == submission.id).limit(1))
            if graded is not None:
                release_feedback(session, store, submission, self.person.username)
            else:
                store.release_feedback(submission, comment_feedback(store, submission, comment),
                                       self.person.username)
            submission_event(session, "feedback.released", self.person.username,
                             client_address(self.request), submission,
                             {"graded": graded is not None})
        self.redirect(f"{self.prefix}submissions/{key}")


def comment_feedback(store: ExchangeStore, submission: Submission, comment: str
                     ) -> dict[str, bytes]:
    title = html.escape(submission.assignment_id)
    files = {}
    for path, data in store.files_of(submission.manifest).items():
        if path.endswith(".ipynb") and "/" not in path:
            page = (f'<!DOCTYPE html><meta charset="utf-8"><title>{title}</title>'
                    f'<h1>{title}</h1><section class="comment"><p>{comment}</p>'
                    f"</section>{render_notebook(data)}")
            files[f"{path[:-6]}.html"] = page.encode("utf-8")
    return files


def gradebook_routes(prefix: str) -> list[tuple[str, type]]:
    return [
        (f"{prefix}classes/{ID}/gradebook", GradebookHandler),
        (f"{prefix}classes/{ID}/gradebook\\.(csv|xlsx)", GradebookExportHandler),
        (f"{prefix}submissions/([0-9a-f]{{32}})", SubmissionPageHandler),
        (f"{prefix}submissions/([0-9a-f]{{32}})/feedback", FeedbackFormHandler),
        (f"{prefix}submissions/([0-9a-f]{{32}})/grades", GradeFormHandler),
    ]
