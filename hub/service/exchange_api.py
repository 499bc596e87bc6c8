"""The assignment exchange REST API (``/api/v1``), described in ``openapi.yaml``.

Teachers of a class release to it, collect from it, grant extensions and return
feedback; its students list, fetch and submit, and read only their own feedback.
Uploads and downloads are zip archives of an assignment folder.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session
from tornado import web

from grading.exchange.archive import MIB, check_relative_path, pack, unpack
from grading.exchange.deadlines import lateness
from grading.exchange.errors import ExchangeRefused
from grading.exchange.models import Feedback, Release, Submission
from grading.exchange.store import (
    ExchangeStore,
    NewSubmission,
    check_assignment_id,
    check_idempotency_key,
)
from grading.gradebook.late_policy import LatePolicy
from grading.gradebook.queue import check_queue_share, release_grade_on
from hub.audit.events import submission_event
from hub.auth.throttle import client_address
from hub.competitions.in_exchange import competition_rows
from hub.org.models import Role
from hub.service import access
from hub.service.api_base import APIHandler, iso, parse_time
from hub.service.classroom import FetchWrite, SubmitWrite
from hub.service.competition_api import day_start
from hub.service.competition_api import now as competition_time

API_VERSION = "v1"


def release_json(release: Release, fetched: int | None = None) -> dict:
    return {
        "class_id": release.class_id,
        "assignment_id": release.assignment_id,
        "version": release.version,
        "released_at": iso(release.released_at),
        "due_at": iso(release.due_at),
        "notebooks": [e["path"][:-6] for e in release.manifest
                      if e["path"].endswith(".ipynb") and "/" not in e["path"]],
        "fetched_version": fetched,
    }


_LOOK_UP = object()


def submission_json(submission: Submission, store: ExchangeStore | None, *,
                    due: datetime | None | object = _LOOK_UP,
                    feedback: Feedback | None | object = _LOOK_UP) -> dict:
    """A submission as the API shows it; ``due`` and ``feedback`` are looked up unless given."""
    if due is _LOOK_UP:
        due = store.due_for(submission.class_id, submission.assignment_id, submission.username)
    if feedback is _LOOK_UP:
        feedback = store.feedback_of(submission)
    late = lateness(submission.submitted_at, due)
    return {
        "id": submission.key,
        "class_id": submission.class_id,
        "assignment_id": submission.assignment_id,
        "student": submission.username,
        "submitted_at": iso(submission.submitted_at),
        "release_version": submission.release_version,
        "files": [{"path": e["path"], "sha256": e["sha256"], "size": e["size"]}
                  for e in submission.manifest],
        "due_at": iso(due),
        "late": late is not None,
        "late_seconds": late.total_seconds() if late is not None else 0.0,
        "chosen": submission.chosen,
        "feedback": None if feedback is None else {
            "released_at": iso(feedback.released_at),
            "files": [{"path": e["path"], "sha256": e["sha256"]} for e in feedback.manifest],
        },
    }


def submission_rules(max_submissions: int, submissions_per_minute: int) -> dict:
    """The rules a student is shown before submitting (the "我的作业" panel): how late counts
    and costs (the gradebook's :class:`LatePolicy`), and how often they may resubmit."""
    policy = LatePolicy()
    return {"max_submissions": max_submissions,
            "submissions_per_minute": submissions_per_minute,
            "grace_minutes": policy.grace_minutes,
            "late_percent_per_day": policy.percent_per_day,
            "late_cap_percent": policy.cap_percent}


class InfoHandler(APIHandler):
    """Who the caller is in the organisation, and the upload limits."""

    def get(self) -> None:
        with self.classroom.store() as (session, _store):
            body = {
                "api": API_VERSION,
                "user": self.username,
                "student_classes": access.classes_as(session, self.username, Role.STUDENT),
                "teacher_classes": access.classes_as(session, self.username, Role.TEACHER),
                "limits": {"max_submission_bytes": self.classroom.max_submission_bytes,
                           "max_file_bytes": self.classroom.max_file_bytes,
                           "max_files": self.classroom.max_files},
                "rules": submission_rules(self.classroom.max_submissions,
                                          self.classroom.submissions_per_minute),
            }
        self.write_json(body)


class AssignmentsHandler(APIHandler):
    """Assignments released to the caller's classes (as a student or a teacher), then the
    open competitions the caller may enter (:mod:`hub.competitions.in_exchange`)."""

    def get(self) -> None:
        moment = competition_time()
        with self.classroom.store() as (session, store):
            student = access.classes_as(session, self.username, Role.STUDENT)
            teacher = access.classes_as(session, self.username, Role.TEACHER)
            fetched = store.fetched_versions(self.username)
            body = [
                {**release_json(r, fetched.get((r.class_id, r.assignment_id))),
                 "role": "student" if r.class_id in student else "teacher",
                 "own_due_at": iso(store.due_for(r.class_id, r.assignment_id, self.username, r))
                 if r.class_id in student else None}
                for r in store.current_releases(sorted(set(student) | set(teacher)))
            ]
            body += competition_rows(session, self.username, moment, day_start(moment))
        self.write_json({"assignments": body})


@web.stream_request_body
class UploadHandler(APIHandler):
    """A handler that receives a zip body, refusing an oversize one without storing it.

    The body is streamed (``stream_request_body``), so :meth:`prepare` runs when the
    headers have arrived and before any of the body has: the caller is authenticated
    and :meth:`authorise_upload` decides whether they may upload here at all, so that
    a student posting to a teacher's endpoint is refused before the service has kept,
    let alone inflated, a byte of what they sent. The refused body is read and dropped
    as it arrives and the refusal answered after it: a service that answers and hangs
    up mid-body makes the hub's proxy answer 503 instead of the refusal.
    """

    async def prepare(self) -> None:
        self._chunks: list[bytes] = []
        self._received = 0
        self._refusal: ExchangeRefused | None = None
        self.request.connection.set_max_body_size(2 * self.classroom.max_submission_bytes
                                                  + MIB)
        await super().prepare()
        if self.request.method in ("POST", "PUT"):
            try:
                with self.classroom.reader() as (session, store):
                    self.authorise_upload(session, store, *self.path_args)
            except ExchangeRefused as refusal:
                self._refusal = refusal

    def authorise_upload(self, session: Session, store: ExchangeStore, *path_args: str) -> None:
        """Refuse unless the caller may upload to this URL (from the URL and headers only)."""
        raise NotImplementedError

    def upload_allowed(self) -> None:
        """Raise the refusal :meth:`prepare` decided on, if any (first thing an upload does)."""
        if self._refusal is not None:
            raise self._refusal

    def data_received(self, chunk: bytes) -> None:
        self._received += len(chunk)
        if self._refusal is None and self._received <= self.classroom.max_submission_bytes + MIB:
            self._chunks.append(chunk)
        else:
            self._chunks = []

    def body_files(self, *, notebooks_required: bool = True) -> dict[str, bytes]:
        self.upload_allowed()
        if self._received > self.classroom.max_submission_bytes + MIB:
            limit = self.classroom.max_submission_bytes // MIB
            raise ExchangeRefused("too_large", f"提交内容超过 {limit} MB 的上限",
                                  f"the upload is over the {limit} MB limit")
        return unpack(b"".join(self._chunks), self.classroom.archive_limits,
                      notebooks_required=notebooks_required)


class ReleaseHandler(UploadHandler):
    """Release a source assignment (uploaded, or from the library) to classes."""

    def authorise_upload(self, session: Session, store: ExchangeStore, *path_args: str) -> None:
        class_ids = self.get_query_arguments("class")
        if not class_ids:
            raise ExchangeRefused("bad_request", "请至少指定一个班级（class=…）",
                                  "name at least one class (class=…)")
        for class_id in class_ids:
            self.require(session, class_id, Role.TEACHER)

    async def post(self, assignment_id: str) -> None:
        """The caller teaches every class (:meth:`authorise_upload`, before the body)."""
        self.upload_allowed()
        check_assignment_id(assignment_id)
        class_ids = self.get_query_arguments("class")
        due = self.get_argument("due", "")
        due_at = parse_time(due, "due") if due else None
        library = self.get_argument("library", "")
        source = self.classroom.library_assignment(library) if library else self.body_files()
        releases = await self.classroom.release(class_ids, assignment_id, source, self.username,
                                                due_at, self.get_argument("grade_on", ""),
                                                address=client_address(self.request))
        self.write_json({"releases": [release_json(r) for r in releases]}, 201)


class FetchHandler(APIHandler):
    """The current student version of an assignment, as a zip."""

    async def get(self, class_id: str, assignment_id: str) -> None:
        """Two indexed reads, the fetch recorded with other requests' writes, the archive
        from memory: all on the event loop, each step far shorter than a thread hand-off."""
        check_assignment_id(assignment_id)
        with self.classroom.reader() as (session, store):
            role = access.role_in(session, class_id, self.username)
            if role not in (Role.TEACHER, Role.STUDENT):
                self.require(session, class_id, Role.STUDENT)
            version, _due, archive_sha256 = store.require_release_head(class_id, assignment_id)
        if role == Role.STUDENT:
            await self.classroom.commits.write(
                FetchWrite((class_id, assignment_id, self.username, version)))
        self.set_header("X-Aiclass-Version", str(version))
        self.write_zip(self.classroom.content.read_cached(archive_sha256), f"{assignment_id}.zip")


class SubmissionsHandler(UploadHandler):
    """Submit (a student) or list submissions (a student's own; all for a teacher)."""

    def authorise_upload(self, session: Session, store: ExchangeStore, *path_args: str) -> None:
        """Everything a submission is refused for before its body, in one read.

        The caller is a student of the class, the assignment is released, the idempotency
        key is well formed, the flood limits and the student's share of the grading queue
        leave room (a refused submission is never even received); a key already used
        answers the submission it made. What :meth:`post` needs is kept on the handler.
        """
        class_id, assignment_id = path_args
        self.require(session, class_id, Role.STUDENT)
        check_assignment_id(assignment_id)
        release = store.require_release_head(class_id, assignment_id)
        key = self.request.headers.get("Idempotency-Key", "")
        check_idempotency_key(key)
        existing = store.find_submission(self.username, key)
        if existing is not None:
            self._answer = submission_json(existing, store)
            return
        self._answer = None
        store.check_flood(class_id, assignment_id, self.username,
                          self.classroom.submission_limits)
        grade_on = release_grade_on(session, class_id, assignment_id, release.version)
        if grade_on == "submit":
            check_queue_share(session, class_id, assignment_id, self.username,
                              self.classroom.queued_per_student)
        self._checked = (release.version, key, grade_on,
                         store.due_for(class_id, assignment_id, self.username, release))

    async def post(self, class_id: str, assignment_id: str) -> None:
        """Store the files, then hand the row to the classroom's group commit.

        Checked before the body arrived (:meth:`authorise_upload`). The files are flushed
        to disk before the transaction that inserts the row naming them
        (:class:`GroupCommit`, with other requests' rows); the flood limits and the
        idempotency key are checked again in that transaction, so two submissions at
        once can neither slip under the limits nor both be stored.
        """
        self.upload_allowed()
        if self._answer is not None:
            self.write_json(self._answer, 200)
            return
        version, key, grade_on, due = self._checked
        manifest, unflushed = await self.classroom.handle_upload(self._received, self._store)
        submission, created = await self.classroom.commits.write(SubmitWrite(
            NewSubmission(class_id, assignment_id, self.username, version, manifest, key),
            grade_on, due, unflushed))
        if not created:  # the same key, submitted at the same moment
            with self.classroom.reader() as (_session, store):
                self.write_json(submission_json(submission, store), 200)
            return
        self.write_json(submission_json(submission, None, due=due, feedback=None), 201)

    def _store(self) -> tuple[list[dict], tuple[Path, ...]]:
        """The upload checked and its files written (not yet flushed): the manifest and
        the files the group commit must flush."""
        manifest, unflushed = [], []
        for path, data in sorted(self.body_files().items()):
            sha256, written = self.classroom.content.write(data)
            manifest.append({"path": path, "sha256": sha256, "size": len(data)})
            if written is not None:
                unflushed.append(written)
        return manifest, tuple(unflushed)

    def get(self, class_id: str, assignment_id: str) -> None:
        check_assignment_id(assignment_id)
        with self.classroom.store() as (session, store):
            if access.enrolled_as(session, class_id, self.username, Role.TEACHER):
                students = access.students_of(session, class_id)
            else:
                self.require(session, class_id, Role.STUDENT)
                students = [self.username]
            body = [submission_json(s, store) for name in students
                    for s in store.submissions_of(class_id, assignment_id, name)]
        self.write_json({"submissions": body})


class MySubmissionsHandler(APIHandler):
    """The caller's own submissions in every class (their history)."""

    def get(self) -> None:
        with self.classroom.store() as (session, store):
            body = [submission_json(s, store)
                    for class_id in access.classes_as(session, self.username, Role.STUDENT)
                    for s in store.submissions_of(class_id, None, self.username)]
        self.write_json({"submissions": body})


class CollectionHandler(APIHandler):
    """For each student of the class: the submission that counts, its time and lateness."""

    def get(self, class_id: str, assignment_id: str) -> None:
        check_assignment_id(assignment_id)
        with self.classroom.store() as (session, store):
            self.require(session, class_id, Role.TEACHER)
            rows = store.collect(class_id, assignment_id, access.students_of(session, class_id))
            body = [{"student": name, "due_at": iso(due),
                     "submission": submission_json(s, store) if s else None}
                    for name, s, due in rows]
        self.write_json({"class_id": class_id, "assignment_id": assignment_id,
                         "students": body})


class ExtensionHandler(APIHandler):
    """Grant one student a new due date, before or after the original one."""

    def put(self, class_id: str, assignment_id: str, student: str) -> None:
        check_assignment_id(assignment_id)
        body = self.json_body()
        due_at = parse_time(str(body.get("due_at", "")), "due_at")
        with self.classroom.store() as (session, store):
            self.require(session, class_id, Role.TEACHER)
            if not access.enrolled_as(session, class_id, student, Role.STUDENT):
                raise ExchangeRefused("not_found", f"班级 {class_id} 中没有学生 {student}",
                                      f"class {class_id} has no student {student}")
            extension = store.grant_extension(class_id, assignment_id, student, due_at,
                                              self.username)
            result = {"student": student, "due_at": iso(extension.due_at)}
        self.write_json(result)


class SubmissionBase(APIHandler):
    """Handlers on one submission: its student or a teacher of its class only."""

    def submission_for(self, session: Session, store: ExchangeStore, key: str, *,
                       teacher_only: bool = False) -> Submission:
        submission = store.submission(key)
        if submission is not None:
            teaches = access.enrolled_as(session, submission.class_id, self.username,
                                         Role.TEACHER)
            if teaches or (not teacher_only and submission.username == self.username):
                return submission
            if teacher_only and submission.username == self.username:
                raise ExchangeRefused("forbidden", "只有老师可以这样做",
                                      "only a teacher may do this")
        raise ExchangeRefused("not_found", "找不到这次提交", "no such submission")


class SubmissionFilesHandler(SubmissionBase):
    def get(self, key: str) -> None:
        with self.classroom.store() as (session, store):
            submission = self.submission_for(session, store, key)
            archive = pack(store.files_of(submission.manifest))
        self.write_zip(archive, f"{submission.assignment_id}.zip")


class ChoiceHandler(SubmissionBase):
    """Make this submission the one that counts instead of the latest."""

    def post(self, key: str) -> None:
        with self.classroom.store() as (session, store):
            submission = self.submission_for(session, store, key, teacher_only=True)
            store.choose(submission)
            body = submission_json(submission, store)
        self.write_json(body)


@web.stream_request_body
class FeedbackHandler(UploadHandler, SubmissionBase):
    """Release feedback for a submission (a teacher), or read it (its student)."""

    def authorise_upload(self, session: Session, store: ExchangeStore, *path_args: str) -> None:
        self.submission_for(session, store, path_args[0], teacher_only=True)

    def put(self, key: str) -> None:
        files = self.body_files(notebooks_required=False)
        for path in files:
            check_relative_path(path)
        with self.classroom.store() as (session, store):
            submission = self.submission_for(session, store, key, teacher_only=True)
            store.release_feedback(submission, files, self.username)
            submission_event(session, "feedback.released", self.username,
                             client_address(self.request), submission, {"graded": False})
            body = submission_json(submission, store)
        self.write_json(body)

    def get(self, key: str) -> None:
        with self.classroom.store() as (session, store):
            submission = self.submission_for(session, store, key)
            feedback = store.feedback_of(submission)
            if feedback is None:
                raise ExchangeRefused("not_found", "这次提交还没有反馈",
                                      "no feedback for this submission yet")
            archive = pack(store.files_of(feedback.manifest))
        self.write_zip(archive, "feedback.zip")


class OpenAPIHandler(web.RequestHandler):
    """The API's OpenAPI document (public: it describes, it reveals no data)."""

    def get(self) -> None:
        self.set_header("Content-Type", "application/yaml; charset=UTF-8")
        self.finish((Path(__file__).parent / "openapi.yaml").read_bytes())


ID = r"([A-Za-z0-9][A-Za-z0-9._-]*)"
ASSIGNMENT = r"([^/]+)"


def exchange_routes(prefix: str) -> list[tuple[str, type]]:
    """The API's URL patterns under the service prefix."""
    api = f"{prefix}api/{API_VERSION}"
    return [
        (f"{api}/?", InfoHandler),
        (f"{api}/openapi.yaml", OpenAPIHandler),
        (f"{api}/assignments", AssignmentsHandler),
        (f"{api}/assignments/{ASSIGNMENT}/releases", ReleaseHandler),
        (f"{api}/classes/{ID}/assignments/{ASSIGNMENT}/release", FetchHandler),
        (f"{api}/classes/{ID}/assignments/{ASSIGNMENT}/submissions", SubmissionsHandler),
        (f"{api}/classes/{ID}/assignments/{ASSIGNMENT}/collection", CollectionHandler),
        (f"{api}/classes/{ID}/assignments/{ASSIGNMENT}/extensions/{ID}", ExtensionHandler),
        (f"{api}/submissions", MySubmissionsHandler),
        (f"{api}/submissions/([0-9a-f]{{32}})/files", SubmissionFilesHandler),
        (f"{api}/submissions/([0-9a-f]{{32}})/choice", ChoiceHandler),
        (f"{api}/submissions/([0-9a-f]{{32}})/feedback", FeedbackHandler),
    ]
