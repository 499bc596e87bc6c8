"""The gradebook pages: students × assignments, a submission rendered, feedback, export.

The table is built from a fixed number of queries per class (students, current
releases, submissions, extensions), whatever its size. Student notebooks are rendered
with nbconvert and then cleaned with nh3, so a submission's HTML or script can never
run in the teacher's browser.
"""

from __future__ import annotations

import csv
import html
import io
from dataclasses import dataclass, field
from datetime import datetime

import nbformat
import nh3
from nbconvert import HTMLExporter
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session
from tornado import web

from grading.exchange import ExchangeStore
from grading.exchange_models import Extension, Submission
from hub.org.models import Enrollment, Person, Role
from hub.service.pages.base import TEACH, Forbidden, PageHandler
from hub.service.pages.teacher import ID
from hub.service.pages.timefmt import localtime

#: Tags and attributes a rendered notebook keeps: text, tables, images, code; no script.
ALLOWED_TAGS = nh3.ALLOWED_TAGS | {"div", "span", "pre", "code", "table", "thead", "tbody",
                                   "tr", "th", "td", "img", "h1", "h2", "h3", "h4", "p"}
ALLOWED_ATTRIBUTES = {"*": {"class"}, "img": {"src", "alt", "width", "height"}}


@dataclass
class Cell:
    status: str
    key: str | None = None
    shown: str = ""


@dataclass
class Row:
    username: str
    display_name: str
    cells: list[Cell] = field(default_factory=list)
    submitted: int = 0

    @property
    def total_shown(self) -> str:
        return f"{self.submitted}/{len(self.cells)}"


@dataclass
class ClassGradebook:
    assignments: list[str]
    rows: list[Row]
    has_scores: bool = False
    distribution: list = field(default_factory=list)

    @property
    def submission_rates(self) -> list[tuple[str, float]]:
        total = len(self.rows) or 1
        return [(a, round(sum(r.cells[i].status != "missing" for r in self.rows) / total, 3))
                for i, a in enumerate(self.assignments)]


def class_gradebook(session: Session, store: ExchangeStore, class_id: str) -> ClassGradebook:
    """The class's students × its current assignments, each cell the submission that counts."""
    people = session.execute(
        select(Person.username, Person.display_name)
        .join(Enrollment, Enrollment.username == Person.username)
        .where(Enrollment.class_id == class_id, Enrollment.role == Role.STUDENT)
        .order_by(Person.username)).all()
    releases = {r.assignment_id: r for r in store.current_releases([class_id])}
    assignments = sorted(releases)
    latest: dict[tuple[str, str], Submission] = {}
    chosen: dict[tuple[str, str], Submission] = {}
    for submission in session.scalars(
            select(Submission).where(Submission.class_id == class_id)
            .order_by(Submission.submitted_at, Submission.id)):
        pair = (submission.username, submission.assignment_id)
        latest[pair] = submission
        if submission.chosen:
            chosen[pair] = submission
    extensions = {(u, a): due for u, a, due in session.execute(
        select(Extension.username, Extension.assignment_id, Extension.due_at)
        .where(Extension.class_id == class_id))}
    rows = []
    for username, display_name in people:
        row = Row(username, display_name)
        for assignment_id in assignments:
            submission = chosen.get((username, assignment_id)) or latest.get(
                (username, assignment_id))
            if submission is None:
                row.cells.append(Cell("missing"))
                continue
            due = extensions.get((username, assignment_id), releases[assignment_id].due_at)
            late = due is not None and submission.submitted_at > due
            row.cells.append(Cell("late" if late else "on_time", submission.key,
                                  localtime(submission.submitted_at)[5:]))
            row.submitted += 1
        rows.append(row)
    return ClassGradebook(assignments, rows)


class GradebookHandler(PageHandler):
    @web.authenticated
    def get(self, class_id: str) -> None:
        with self.classroom.store() as (session, store):
            school_class, _access = self.class_access(session, class_id)
            book = class_gradebook(session, store, class_id)
            name = school_class.name
        self.render_page("gradebook.html", school_class={"id": class_id, "name": name},
                         book=book)


def gradebook_table(book: ClassGradebook, with_names: bool, text: dict[str, str]
                    ) -> list[list[str]]:
    """Rows of the export: a heading, then one row per student (real names on request)."""
    heading = [text["username"], *([text["name"]] if with_names else []), *book.assignments,
               text["submitted"]]
    rows = [heading]
    for row in book.rows:
        cells = [text[c.status] for c in row.cells]
        rows.append([row.username, *([row.display_name] if with_names else []), *cells,
                     str(row.submitted)])
    return rows


class GradebookExportHandler(PageHandler):
    """CSV (UTF-8 with BOM, so Excel and WPS open it in Chinese) or XLSX."""

    @web.authenticated
    def get(self, class_id: str, extension: str) -> None:
        with self.classroom.store() as (session, store):
            self.class_access(session, class_id)
            book = class_gradebook(session, store, class_id)
        table = gradebook_table(book, self.get_query_argument("names", "") == "1", self.text)
        stamp = datetime.now().strftime("%Y%m%d")
        filename = f"gradebook-{class_id}-{stamp}.{extension}"
        if extension == "csv":
            buffer = io.StringIO()
            csv.writer(buffer).writerows(table)
            body = ("\ufeff" + buffer.getvalue()).encode("utf-8")
            self.set_header("Content-Type", "text/csv; charset=UTF-8")
        else:
            workbook = Workbook()
            sheet = workbook.active
            sheet.title = class_id[:31]
            for row in table:
                sheet.append(row)
            stream = io.BytesIO()
            workbook.save(stream)
            body = stream.getvalue()
            self.set_header("Content-Type", "application/vnd.openxmlformats-officedocument."
                                            "spreadsheetml.sheet")
        self.set_header("Content-Disposition", f'attachment; filename="{filename}"')
        self.finish(body)


def render_notebook(data: bytes) -> str:
    """A submitted notebook as sanitised HTML (a file that is no notebook: its text, escaped)."""
    try:
        notebook = nbformat.reads(data.decode("utf-8"), as_version=4)
    except (ValueError, UnicodeDecodeError, nbformat.reader.NotJSONError):
        return f"<pre>{html.escape(data[:20000].decode('utf-8', 'replace'))}</pre>"
    body, _resources = HTMLExporter(template_name="basic").from_notebook_node(notebook)
    return nh3.clean(body, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes={"data"})


class SubmissionPageHandler(PageHandler):
    """One submission, rendered for its class's teachers (and admins above the class)."""

    def load(self, session: Session, store: ExchangeStore, key: str) -> tuple[Submission, str]:
        submission = store.submission(key)
        if submission is None:
            raise Forbidden("not_your_class")
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
            status = "late" if due and submission.submitted_at > due else "on_time"
        notebooks = [{"path": path, "html": render_notebook(data)}
                     for path, data in sorted(files.items()) if path.endswith(".ipynb")]
        self.render_page("submission.html", submission=submission, notebooks=notebooks,
                         feedback=feedback, status=status, can_teach=access_kind == TEACH)


class FeedbackFormHandler(SubmissionPageHandler):
    """Release the teacher's comment through the exchange, as nbgrader-shaped feedback.

    nbgrader's Assignments panel looks for one ``<notebook>.html`` per submitted
    notebook; each holds the comment and the student's own notebook rendered and
    sanitised (the student version: it never contained the hidden tests).
    """

    @web.authenticated
    def post(self, key: str) -> None:
        comment = html.escape(self.get_body_argument("comment", "").strip())
        with self.classroom.store() as (session, store):
            submission, access_kind = self.load(session, store, key)
            if access_kind != TEACH:
                raise Forbidden("teachers_only")
            title = html.escape(submission.assignment_id)
            files = {}
            for path, data in store.files_of(submission.manifest).items():
                if path.endswith(".ipynb") and "/" not in path:
                    page = (f'<!DOCTYPE html><meta charset="utf-8"><title>{title}</title>'
                            f'<h1>{title}</h1><section class="comment"><p>{comment}</p>'
                            f"</section>{render_notebook(data)}")
                    files[f"{path[:-6]}.html"] = page.encode("utf-8")
            store.release_feedback(submission, files, self.person.username)
        self.redirect(f"{self.prefix}submissions/{key}")


def gradebook_routes(prefix: str) -> list[tuple[str, type]]:
    return [
        (f"{prefix}classes/{ID}/gradebook", GradebookHandler),
        (f"{prefix}classes/{ID}/gradebook\\.(csv|xlsx)", GradebookExportHandler),
        (f"{prefix}submissions/([0-9a-f]{{32}})", SubmissionPageHandler),
        (f"{prefix}submissions/([0-9a-f]{{32}})/feedback", FeedbackFormHandler),
    ]
