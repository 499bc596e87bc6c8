"""A teacher's pages: their classes, the library and releasing, preparing a class, progress.

Releases go through :meth:`Classroom.release <hub.service.classroom.Classroom.release>`,
the same call as the REST API's (nbgrader's ``generate_assignment`` makes the student
version); preparing a class starts the
students' servers through the hub's REST API with the service's own token, after the
organisation model said the caller teaches the class.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from tornado import web

from grading.exchange.archive import MIB, unpack
from grading.exchange.deadlines import is_late
from grading.exchange.errors import ExchangeRefused
from grading.exchange.models import Fetch, Release, Submission
from grading.exchange.store import ExchangeStore, check_assignment_id
from grading.gradebook.queue import progress as grading_progress
from grading.gradebook.similarity import class_similarity
from hub.audit.events import class_event
from hub.auth.throttle import client_address
from hub.hub_api import HubAPI, server_state
from hub.library import BANDS, load_library
from hub.org.directory import classes_taught
from hub.org.models import Enrollment, Person, Role, School, SchoolClass
from hub.reports.class_gradebook import ClassGradebook, class_gradebook
from hub.service import access
from hub.service.pages.base import TEACH, Forbidden, PageHandler
from hub.service.pages.timefmt import localtime, parse_local
from hub.service.pages.uploads import FormUploadHandler
from hub.service.prepare import prepare_class

ID = r"([A-Za-z0-9][A-Za-z0-9._-]*)"


class IndexHandler(PageHandler):
    """The classes the caller teaches (admins: those of their school, district or region)."""

    @web.authenticated
    def get(self) -> None:
        with self.classroom.database.session() as session:
            query = select(SchoolClass).order_by(SchoolClass.id)
            if self.person.role == Role.TEACHER:
                query = query.join(Enrollment, Enrollment.class_id == SchoolClass.id).where(
                    Enrollment.username == self.person.username,
                    Enrollment.role == Role.TEACHER)
            elif self.person.role == Role.SCHOOL_ADMIN:
                query = query.where(SchoolClass.school_id == self.person.school_id)
            elif self.person.role == Role.DISTRICT_ADMIN:
                query = query.join(School, School.id == SchoolClass.school_id).where(
                    School.district_id == self.person.district_id)
            elif self.person.role == Role.STUDENT:
                query = query.where(SchoolClass.id.is_(None))
            classes = list(session.scalars(query))
            ids = [c.id for c in classes]
            students = dict(session.execute(
                select(Enrollment.class_id, func.count())
                .where(Enrollment.class_id.in_(ids), Enrollment.role == Role.STUDENT)
                .group_by(Enrollment.class_id)).all())
            assignments = dict(session.execute(
                select(Release.class_id, func.count(func.distinct(Release.assignment_id)))
                .where(Release.class_id.in_(ids)).group_by(Release.class_id)).all())
            rows = [{"id": c.id, "name": c.name, "grade": c.grade,
                     "students": students.get(c.id, 0), "assignments": assignments.get(c.id, 0)}
                    for c in classes]
        self.render_page("index.html", classes=rows)


class LibraryHandler(PageHandler):
    """The library's lessons, filtered by grade band and module, with the release form."""

    @web.authenticated
    def get(self) -> None:
        self.require_staff()
        band = self.get_query_argument("band", "")
        module = self.get_query_argument("module", "")
        lessons = load_library(self.classroom.library_dir)
        zh = self.locale_name == "zh_CN"
        modules = sorted({a.module_zh if zh else a.module_en for a in lessons})
        shown = [a for a in lessons if (not band or a.grade_band == band)
                 and (not module or module in (a.module_zh, a.module_en))]
        with self.classroom.database.session() as session:
            classes = [{"id": c.id, "name": c.name}
                       for c in classes_taught(session, self.person.username)]
        self.render_page("library.html", lessons=shown, band=band, module=module,
                         modules=modules, classes=classes,
                         bands=[(k, v[1] if zh else v[2]) for k, v in BANDS.items()],
                         band_names={k: v[1] if zh else v[2] for k, v in BANDS.items()},
                         released=self.get_query_arguments("released"),
                         chosen=self.get_query_arguments("class"))


class ReleaseFormHandler(PageHandler):
    """Release a library lesson, or an uploaded source assignment, to the chosen classes."""

    def chosen_classes(self) -> list[str]:
        """The form's classes, each one the caller teaches (else refused)."""
        class_ids = self.get_body_arguments("class")
        if not class_ids:
            raise web.HTTPError(400, "class")
        with self.classroom.database.session() as session:
            for class_id in class_ids:
                self.require_teaching(session, class_id)
        return class_ids

    async def release(self, assignment_id: str, source: Path | dict[str, bytes]) -> None:
        class_ids = self.chosen_classes()
        try:
            due_at = parse_local(self.get_body_argument("due", ""))
        except ValueError as exc:
            raise web.HTTPError(400, "due") from exc
        await self.classroom.release(class_ids, assignment_id, source, self.person.username,
                                     due_at, self.get_body_argument("grade_on", ""),
                                     address=client_address(self.request))
        self.redirect(f"{self.prefix}library?released={assignment_id}")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, ExchangeRefused):
            self.set_status(422 if error.code == "generate_failed" else 400)
            message = error.zh if self.locale_name == "zh_CN" else error.en
            self.finish(self.settings["page_templates"].get_template("error.html").render(
                t=self.text, lang=self.locale_name, prefix=self.prefix, person=None, xsrf="",
                path=self.request.path, status=self.get_status(), message=message))
            return
        super().write_error(status_code, **kwargs)


class LibraryReleaseHandler(ReleaseFormHandler):
    @web.authenticated
    async def post(self) -> None:
        name = self.get_body_argument("library", "")
        source = self.classroom.library_assignment(name)
        await self.release(source.name, source)


class UploadReleaseHandler(FormUploadHandler, ReleaseFormHandler):
    """A teacher's own source assignment: notebooks, or one zip of the assignment folder.

    Only someone who teaches a class may send one (checked before the body is read),
    and the chosen classes are checked before a zip is unpacked.
    """

    def max_upload_bytes(self) -> int:
        return self.classroom.max_submission_bytes + MIB

    def authorise_upload(self) -> None:
        with self.classroom.database.session() as session:
            if not classes_taught(session, self.person.username):
                raise Forbidden("teachers_only")

    @web.authenticated
    async def post(self) -> None:
        self.parse_form()
        assignment_id = check_assignment_id(self.get_body_argument("assignment", ""))
        self.chosen_classes()
        uploads = self.request.files.get("source", [])
        files: dict[str, bytes] = {}
        for upload in uploads:
            if upload.filename.lower().endswith(".zip"):
                files.update(unpack(upload.body, self.classroom.archive_limits))
            else:
                files[Path(upload.filename).name] = upload.body
        if not any(path.endswith(".ipynb") for path in files):
            raise ExchangeRefused("bad_request", "请上传至少一个 .ipynb 笔记本",
                                  "upload at least one .ipynb notebook")
        await self.release(assignment_id, files)


class ClassHandler(PageHandler):
    """One class: its actions, the heatmap of its scores, its assignments and students.

    The page is the teacher's start of every lesson, so preparing is a button here, a
    release is the library with this class ticked, and grading and feedback are one click
    on a heatmap cell (the submission's page): each at most two clicks away.
    """

    @web.authenticated
    async def get(self, class_id: str) -> None:
        with self.classroom.store() as (session, store):
            school_class, access_kind = self.class_access(session, class_id)
            session.expunge(school_class)
            students = list(session.scalars(
                select(Person).join(Enrollment, Enrollment.username == Person.username)
                .where(Enrollment.class_id == class_id, Enrollment.role == Role.STUDENT)
                .order_by(Person.username)))
            for person in students:
                session.expunge(person)
            releases = store.current_releases([class_id])
            for release in releases:
                session.expunge(release)
            heatmap = score_heatmap(class_gradebook(session, store, class_id,
                                                    lambda moment: localtime(moment)[5:]))
            if heatmap["graded"]:  # scores on screen: on the audit trail like the gradebook
                class_event(session, "grades.viewed", self.person.username,
                            client_address(self.request), class_id, {"page": "class"})
        states = await server_states(self, [p.username for p in students])
        self.render_page("class.html", school_class=school_class, students=students,
                         releases=releases, can_teach=access_kind == TEACH, heatmap=heatmap,
                         ready=sum(1 for s in states.values() if s == "ready"))


def heat_level(fraction: float) -> int:
    """The colour step of a score on the heatmap: fifths of the points (100% in the top)."""
    return min(int(fraction * 5), 4)


def score_heatmap(book: ClassGradebook) -> dict[str, Any]:
    """The class's gradebook as the heatmap draws it: per student, per assignment, a cell.

    A cell is ``missing`` (nothing submitted), ``pending`` (submitted, not graded yet) or
    ``graded`` with its percentage and colour step; each submitted cell links to the
    submission, where the teacher grades and releases feedback.
    """
    rows = []
    for row in book.rows:
        cells = []
        for cell in row.cells:
            fraction = cell.score.fraction if cell.score is not None else None
            if cell.key is None:
                cells.append({"state": "missing"})
            elif fraction is None:
                cells.append({"state": "pending", "key": cell.key})
            else:
                cells.append({"state": "graded", "key": cell.key, "level": heat_level(fraction),
                              "percent": round(fraction * 100)})
        rows.append({"username": row.username, "display_name": row.display_name,
                     "cells": cells})
    graded = any(c["state"] == "graded" for r in rows for c in r["cells"])
    return {"assignments": book.assignments, "rows": rows, "graded": graded}


async def server_states(handler: PageHandler, usernames: list[str]) -> dict[str, str]:
    """Each user's default server as the hub sees it: ready, pending, stopped or unknown."""
    api = HubAPI(handler.hub_auth.api_url, handler.hub_auth.api_token)

    async def one(name: str) -> str:
        model = await api.user_model(name)
        return "unknown" if model is None else server_state(model)

    states = await asyncio.gather(*(one(name) for name in usernames))
    return dict(zip(usernames, states, strict=True))


class ServersHandler(PageHandler):
    """The live count the class page polls while servers start."""

    @web.authenticated
    async def get(self, class_id: str) -> None:
        with self.classroom.database.session() as session:
            self.class_access(session, class_id)
            names = access.students_of(session, class_id)
        states = await server_states(self, names)
        counts = Counter(states.values())
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps({"ready": counts["ready"], "pending": counts["pending"],
                                "stopped": counts["stopped"], "students": len(names)}))


class PrepareHandler(PageHandler):
    """Start every student's server of the class before the lesson (returns at once)."""

    @web.authenticated
    async def post(self, class_id: str) -> None:
        with self.classroom.database.session() as session:
            self.require_teaching(session, class_id)
            names = access.students_of(session, class_id)
        auth = self.hub_auth
        task = asyncio.create_task(asyncio.to_thread(
            prepare_class, auth.api_url, auth.api_token, names, wait=False))
        self.settings.setdefault("background_tasks", set()).add(task)
        task.add_done_callback(self.settings["background_tasks"].discard)
        self.redirect(f"{self.prefix}classes/{class_id}")


class ProgressHandler(PageHandler):
    """Who fetched, who submitted, who is late, how far grading got, and similar pairs.

    The work grows with the class and its submissions (the similarity check tokenizes
    every counted notebook and compares every pair), so it runs on one of the
    classroom's few worker threads, reading without the writers' turn: a teacher
    opening this page holds up neither the event loop nor the class's submits.
    """

    @web.authenticated
    async def get(self, class_id: str, assignment_id: str) -> None:
        page = await asyncio.get_running_loop().run_in_executor(
            self.classroom.executor, self.progress_page, class_id, assignment_id)
        self.render_page("progress.html", **page)

    def progress_page(self, class_id: str, assignment_id: str) -> dict[str, Any]:
        """The page's context (blocking: a worker thread's job)."""
        with self.classroom.reader() as (session, store):
            school_class, access_kind = self.class_access(session, class_id)
            release = store.latest_release(class_id, assignment_id)
            if release is None:
                raise Forbidden("not_found")
            people = dict(session.execute(
                select(Person.username, Person.display_name)
                .join(Enrollment, Enrollment.username == Person.username)
                .where(Enrollment.class_id == class_id, Enrollment.role == Role.STUDENT)
                .order_by(Person.username)).all())
            fetched = set(session.scalars(select(Fetch.username).where(
                Fetch.class_id == class_id, Fetch.assignment_id == assignment_id)))
            rows = []
            for name, submission, due in store.collect(class_id, assignment_id, list(people)):
                status = "missing"
                if submission is not None:
                    status = "late" if is_late(submission.submitted_at, due) else "on_time"
                    session.expunge(submission)
                rows.append({"username": name, "display_name": people[name],
                             "fetched": name in fetched, "submission": submission,
                             "status": status, "due": due})
            timeline = submission_timeline(store, class_id, assignment_id)
            counts = Counter(row["status"] for row in rows)
            jobs = grading_progress(session, class_id, assignment_id)
            summary = {"fetched": len(fetched & set(people)),
                       "submitted": counts["on_time"] + counts["late"], "late": counts["late"],
                       "missing": counts["missing"], "graded": jobs["done"],
                       "grading_failed": jobs["failed"]}
            similar = class_similarity(store, class_id, assignment_id, list(people))
            name = school_class.name
            due_at = release.due_at
        graded_percent = round(100 * jobs["done"] / max(sum(jobs.values()), 1))
        return {"school_class": {"id": class_id, "name": name}, "assignment_id": assignment_id,
                "due": due_at, "rows": rows, "counts": summary,
                "graded_percent": graded_percent, "timeline": timeline, "similar": similar,
                "can_teach": access_kind == TEACH}


def submission_timeline(store: ExchangeStore, class_id: str, assignment_id: str
                        ) -> list[tuple[str, int]]:
    """Submissions per hour (school time), for the timeline chart."""
    times = store.session.scalars(select(Submission.submitted_at).where(
        Submission.class_id == class_id, Submission.assignment_id == assignment_id)
        .order_by(Submission.submitted_at))
    return sorted(Counter(localtime(t)[:13] + ":00" for t in times).items())


class ExtensionFormHandler(PageHandler):
    @web.authenticated
    def post(self, class_id: str, assignment_id: str, student: str) -> None:
        try:
            due_at = parse_local(self.get_body_argument("due", ""))
        except ValueError as exc:
            raise web.HTTPError(400, "due") from exc
        if due_at is None:
            raise web.HTTPError(400, "due")
        with self.classroom.store() as (session, store):
            self.require_teaching(session, class_id)
            if not access.enrolled_as(session, class_id, student, Role.STUDENT):
                raise Forbidden("not_found")
            store.grant_extension(class_id, assignment_id, student, due_at,
                                  self.person.username)
        self.redirect(f"{self.prefix}classes/{class_id}/assignments/{assignment_id}")


def teacher_routes(prefix: str) -> list[tuple[str, type]]:
    """The teacher pages under the service prefix."""
    return [
        (f"{prefix}", IndexHandler),
        (f"{prefix}library", LibraryHandler),
        (f"{prefix}library/release", LibraryReleaseHandler),
        (f"{prefix}library/upload", UploadReleaseHandler),
        (f"{prefix}classes/{ID}", ClassHandler),
        (f"{prefix}classes/{ID}/servers", ServersHandler),
        (f"{prefix}classes/{ID}/prepare", PrepareHandler),
        (f"{prefix}classes/{ID}/assignments/([^/]+)", ProgressHandler),
        (f"{prefix}classes/{ID}/assignments/([^/]+)/extensions/{ID}", ExtensionFormHandler),
    ]
