"""The gradebook REST API (``/api/v1``): regrade, progress, grades, feedback, export, similarity.

Only teachers of the class may call it (students read their feedback through the
exchange API). Each handler checks the caller in the organisation model, then
calls ``grading/`` with plain ids; refusals are the exchange's JSON errors. Reading a
submission's grades, changing one, releasing feedback and exporting are on the audit
trail (:mod:`hub.audit.events`), as from the pages.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from grading.exchange.errors import ExchangeRefused
from grading.exchange.models import Submission
from grading.exchange.store import check_assignment_id
from grading.gradebook.export import class_table, to_csv, to_xlsx
from grading.gradebook.feedback import release_feedback
from grading.gradebook.late_policy import LatePolicy, submission_total
from grading.gradebook.manual import (
    GradeRefused,
    find_cell,
    history,
    lost_points,
    set_comment,
    set_manual_score,
    set_override,
)
from grading.gradebook.models import CellGrade, NotebookGrade
from grading.gradebook.queue import progress, regrade
from grading.gradebook.similarity import class_similarity
from hub.audit.events import class_event, submission_event
from hub.auth.throttle import client_address
from hub.org.models import Role
from hub.service import access
from hub.service.api_base import APIHandler, iso
from hub.service.exchange_api import API_VERSION, ASSIGNMENT, ID, SubmissionBase


class GradingHandler(APIHandler):
    """Teachers of the class only; JSON bodies; grading refusals become 400s."""

    @property
    def late_policy(self) -> LatePolicy:
        return LatePolicy()


class RegradeHandler(GradingHandler):
    """Queue a regrade of the counted submissions (all students, or those named)."""

    def post(self, class_id: str, assignment_id: str) -> None:
        check_assignment_id(assignment_id)
        body = self.json_body()
        with self.classroom.store() as (session, store):
            self.require(session, class_id, Role.TEACHER)
            students = access.students_of(session, class_id)
            wanted = body.get("students")
            if wanted is not None:
                if not isinstance(wanted, list) or not set(wanted) <= set(students):
                    unknown = sorted(set(map(str, wanted or [])) - set(students))
                    raise ExchangeRefused("not_found", f"班级 {class_id} 中没有学生 {unknown}",
                                          f"class {class_id} has no students {unknown}")
                students = sorted(wanted)
            store.require_release(class_id, assignment_id)
            jobs = regrade(session, store, class_id, assignment_id, students, self.username)
            body = {"queued": len(jobs), "progress": progress(session, class_id,
                                                              assignment_id)}
        self.write_json(body, 202)


class ProgressHandler(GradingHandler):
    """Grading jobs of the assignment by state."""

    def get(self, class_id: str, assignment_id: str) -> None:
        check_assignment_id(assignment_id)
        with self.classroom.store() as (session, _store):
            self.require(session, class_id, Role.TEACHER)
            body = progress(session, class_id, assignment_id)
        self.write_json(body)


class SimilarityHandler(GradingHandler):
    """Pairs of students whose own code is nearly identical after normalisation."""

    def get(self, class_id: str, assignment_id: str) -> None:
        check_assignment_id(assignment_id)
        try:
            threshold = float(self.get_argument("threshold", "0.8"))
            if not 0 < threshold <= 1:
                raise ValueError(threshold)
        except ValueError as exc:
            raise ExchangeRefused("bad_request", "threshold 须在 0 到 1 之间",
                                  "threshold must be in (0, 1]") from exc
        with self.classroom.store() as (session, store):
            self.require(session, class_id, Role.TEACHER)
            pairs = class_similarity(store, class_id, assignment_id,
                                     access.students_of(session, class_id), threshold)
        self.write_json({"threshold": threshold, "pairs": [
            {"students": [p.first, p.second], "similarity": p.similarity} for p in pairs]})


class ExportHandler(GradingHandler):
    """The class gradebook with per-question columns, as CSV or XLSX."""

    def get(self, class_id: str, extension: str) -> None:
        with self.classroom.store() as (session, store):
            self.require(session, class_id, Role.TEACHER)
            table = class_table(session, store, class_id, access.students_of(session, class_id),
                                self.late_policy)
            stamp = datetime.now(UTC).strftime("%Y%m%d")
            file_name = f"grades-{class_id}-{stamp}.{extension}"
            class_event(session, "export.made", self.username, client_address(self.request),
                        class_id, {"file": file_name, "names": False})
        if extension == "csv":
            data, kind = to_csv(table), "text/csv; charset=UTF-8"
        else:
            data = to_xlsx(table, class_id)
            kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        self.set_header("Content-Type", kind)
        self.set_header("Content-Disposition", f'attachment; filename="{file_name}"')
        self.finish(data)


def grades_json(session, store, submission: Submission,  # noqa: ANN001
                policy: LatePolicy) -> dict:
    cells = session.scalars(select(CellGrade).where(CellGrade.submission_id == submission.id)
                            .order_by(CellGrade.notebook, CellGrade.position))
    notebooks = {n.notebook: n for n in session.scalars(
        select(NotebookGrade).where(NotebookGrade.submission_id == submission.id))}
    total = submission_total(session, store, submission, policy)
    reasons = lost_points(session, submission.id)
    return {
        "submission": submission.key,
        "student": submission.username,
        "notebooks": [{"notebook": name, "flags": row.flags, "graded_at": iso(row.graded_at)}
                      for name, row in sorted(notebooks.items())],
        "cells": [{"notebook": c.notebook, "grade_id": c.grade_id, "kind": c.kind,
                   "max_score": c.max_score, "auto_score": c.auto_score,
                   "manual_score": c.manual_score, "override_score": c.override_score,
                   "score": c.score, "comment": c.comment,
                   "lost_points": reasons.get((c.notebook, c.grade_id))} for c in cells],
        "total": {"raw": total.raw, "max_score": total.max_score,
                  "late_penalty_percent": total.penalty_percent, "final": total.final,
                  "ungraded_cells": total.ungraded_cells},
        "history": [{**change, "at": iso(change["at"])}
                    for change in history(session, submission.id)],
    }


class GradesHandler(SubmissionBase, GradingHandler):
    """A submission's grades, totals and audit trail (teachers)."""

    def get(self, key: str) -> None:
        with self.classroom.store() as (session, store):
            submission = self.submission_for(session, store, key, teacher_only=True)
            body = grades_json(session, store, submission, self.late_policy)
            submission_event(session, "grades.viewed", self.username,
                             client_address(self.request), submission, {"page": "api"})
        self.write_json(body)


class CellGradeHandler(SubmissionBase, GradingHandler):
    """Grade an open answer, override a score, or comment on one cell (teachers)."""

    def put(self, key: str, notebook: str, grade_id: str) -> None:
        body = self.json_body()
        with self.classroom.store() as (session, store):
            submission = self.submission_for(session, store, key, teacher_only=True)
            try:
                cell = find_cell(session, submission.id, notebook, grade_id)
                reason = str(body.get("reason", ""))
                changed = []
                if "manual_score" in body and set_manual_score(
                        session, cell, body["manual_score"], self.username, reason):
                    changed.append("manual")
                if "override_score" in body and set_override(
                        session, cell, body["override_score"], self.username, reason):
                    changed.append("override")
                if "comment" in body and set_comment(session, cell, body["comment"],
                                                     self.username):
                    changed.append("comment")
                for field_name in changed:
                    submission_event(session, "grade.changed", self.username,
                                     client_address(self.request), submission,
                                     {"notebook": notebook, "grade_id": grade_id,
                                      "field": field_name})
            except GradeRefused as exc:
                raise ExchangeRefused("bad_score", str(exc), str(exc)) from exc
            result = grades_json(session, store, submission, self.late_policy)
        self.write_json(result)


class FeedbackReleaseHandler(SubmissionBase, GradingHandler):
    """Render feedback from the gradebook and release it to the student (teachers)."""

    def post(self, key: str) -> None:
        with self.classroom.store() as (session, store):
            submission = self.submission_for(session, store, key, teacher_only=True)
            try:
                feedback = release_feedback(session, store, submission, self.username)
            except ValueError as exc:
                raise ExchangeRefused("not_graded", str(exc), str(exc)) from exc
            submission_event(session, "feedback.released", self.username,
                             client_address(self.request), submission, {"graded": True})
            body = {"submission": submission.key, "released_at": iso(feedback.released_at),
                    "files": [e["path"] for e in feedback.manifest]}
        self.write_json(body)


NAME = r"([^/]+)"


def grading_routes(prefix: str) -> list[tuple[str, type]]:
    """The gradebook API's URL patterns under the service prefix."""
    api = f"{prefix}api/{API_VERSION}"
    submission = f"{api}/submissions/([0-9a-f]{{32}})"
    return [
        (f"{api}/classes/{ID}/assignments/{ASSIGNMENT}/regrade", RegradeHandler),
        (f"{api}/classes/{ID}/assignments/{ASSIGNMENT}/grading", ProgressHandler),
        (f"{api}/classes/{ID}/assignments/{ASSIGNMENT}/similarity", SimilarityHandler),
        (f"{api}/classes/{ID}/grades\\.(csv|xlsx)", ExportHandler),
        (f"{submission}/grades", GradesHandler),
        (f"{submission}/grades/{NAME}/{NAME}", CellGradeHandler),
        (f"{submission}/feedback/release", FeedbackReleaseHandler),
    ]
