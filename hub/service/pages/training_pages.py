"""The teacher-training pages: cohorts and their rosters for the admins who run them, a
trainee's own hours and certificates, certificate verification and the year's XLSX roster.
An admin releases a cohort's course here through :meth:`Classroom.release
<hub.service.classroom.Classroom.release>`, the classes' own way, to the cohort's class id;
trainees fetch and submit it from their lab (:mod:`hub.training.coursework`).

Who may see and change what is :mod:`hub.training.cohorts`; a refusal there is a 403 here
that reads the same for a cohort that does not exist. A trainee's pages are built from
their own rows only (:func:`hub.training.cohorts.own_hours`), never by filtering a
cohort's roster in the template, so another trainee's hours are not in the response.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from tornado import web

from grading.exchange.store import ExchangeStore
from hub.audit.trail import record
from hub.auth.throttle import client_address
from hub.org.models import Person, Role, School
from hub.programme.scope import OutOfScope
from hub.programme.workflow import FormProblem
from hub.service.pages.base import XLSX, Forbidden, PageHandler
from hub.service.pages.timefmt import parse_local
from hub.service.pages.training_texts import TRAINING_TEXTS
from hub.training.class_ids import cohort_class_id
from hub.training.cohorts import (
    RUNS_TRAINING,
    CohortForm,
    SessionForm,
    certificate,
    cohort_in_scope,
    cohorts_query,
    create_cohort,
    enrol,
    own_hours,
    record_session,
    runs,
)
from hub.training.coursework import counted_keys, course_to_release
from hub.training.hours import cohort_hours, teacher_courses, year_totals
from hub.training.models import Certificate, Cohort, CohortCourse, LiveSession, Track
from hub.training.workbook import roster_workbook

NUMBER = r"([0-9]{1,9})"
COURSE = r"([a-z0-9][a-z0-9-]{0,63})"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class TrainingPage(PageHandler):
    """What the training pages share: texts, and refusing pupils before anything else."""

    def render_training(self, template: str, **context: object) -> None:
        self.render_page(template, tt=TRAINING_TEXTS[self.locale_name],
                         tracks=list(Track), **context)

    def staff(self) -> None:
        if self.person.role == Role.STUDENT:
            raise Forbidden("staff_only")

    def year(self) -> int:
        value = self.get_query_argument("year", "")
        return int(value) if value.isdigit() and len(value) == 4 else datetime.now(UTC).year

    def show_cohort(self, cohort_id: int, problem: FormProblem | None = None) -> None:
        self.staff()
        with self.classroom.database.session() as session:
            try:
                cohort = cohort_in_scope(session, self.person, cohort_id)
            except OutOfScope:
                raise Forbidden("forbidden") from None
            running = runs(self.person, cohort)
            rows = cohort_hours(session, [cohort],
                                None if running else [self.person.username])
            sessions = list(session.scalars(select(LiveSession).where(
                LiveSession.cohort_id == cohort_id).order_by(LiveSession.held_on)))
            library = teacher_courses()
            courses = [library[c] for c in session.scalars(
                select(CohortCourse.assignment_id).where(CohortCourse.cohort_id == cohort_id)
                .order_by(CohortCourse.id)) if c in library]
            released = {r.assignment_id: r for r in ExchangeStore(
                session, self.classroom.content).current_releases([cohort_class_id(cohort_id)])}
            submissions = counted_keys(session, cohort_id) if running else {}
            session.expunge_all()
        if problem is not None:
            self.set_status(422)
        self.render_training("training_cohort.html", cohort=cohort, rows=rows, running=running,
                             sessions=sessions, problem=problem,
                             courses=courses, released=released, submissions=submissions)


class TrainingHandler(TrainingPage):
    """The cohorts the caller runs (with the form for a new one) or is a trainee of."""

    def show(self, problem: FormProblem | None = None) -> None:
        self.staff()
        with self.classroom.database.session() as session:
            cohorts = list(session.scalars(cohorts_query(self.person)
                                           .order_by(Cohort.year.desc(), Cohort.id)))
            for cohort in cohorts:
                session.expunge(cohort)
        if problem is not None:
            self.set_status(422)
        self.render_training("training_index.html", cohorts=cohorts, problem=problem,
                             may_run=self.person.role in RUNS_TRAINING,
                             courses=list(teacher_courses().values()),
                             year=datetime.now(UTC).year)

    @web.authenticated
    def get(self) -> None:
        self.show()

    @web.authenticated
    def post(self) -> None:
        self.staff()
        form = CohortForm(self.get_body_argument("name", ""), self.get_body_argument("track", ""),
                          self.get_body_argument("year", ""),
                          tuple(self.get_body_arguments("course")))
        try:
            with self.classroom.database.session() as session:
                cohort_id = create_cohort(session, self.person, form, _now()).id
        except OutOfScope:
            raise Forbidden("admins_only") from None
        except FormProblem as problem:
            self.show(problem)
            return
        self.redirect(f"{self.prefix}training/cohorts/{cohort_id}", status=303)


class CohortHandler(TrainingPage):
    """A cohort: its roster with everyone's hours for those who run it; for a trainee, the
    cohort's courses and sessions with only their own hours."""

    @web.authenticated
    def get(self, cohort_id: str) -> None:
        self.show_cohort(int(cohort_id))


class CohortChangeHandler(TrainingPage):
    """Enrolling trainees and recording a live session: only for those who run the cohort."""

    def change(self, session: Session, cohort_id: int) -> None:
        """Make the change in ``session``; :class:`OutOfScope` or :class:`FormProblem`."""
        raise NotImplementedError

    @web.authenticated
    def post(self, cohort_id: str) -> None:
        self.staff()
        try:
            with self.classroom.database.session() as session:
                self.change(session, int(cohort_id))
        except OutOfScope:
            raise Forbidden("forbidden") from None
        except FormProblem as problem:
            self.show_cohort(int(cohort_id), problem)
            return
        self.redirect(f"{self.prefix}training/cohorts/{cohort_id}", status=303)


class EnrolHandler(CohortChangeHandler):
    def change(self, session: Session, cohort_id: int) -> None:
        enrol(session, self.person, cohort_id,
              self.get_body_argument("usernames", "").splitlines(), _now())


class SessionHandler(CohortChangeHandler):
    def change(self, session: Session, cohort_id: int) -> None:
        record_session(session, self.person, cohort_id, SessionForm(
            self.get_body_argument("title", ""), self.get_body_argument("held_on", ""),
            self.get_body_argument("hours", ""), tuple(self.get_body_arguments("attended"))),
            _now())


def _release_due(value: str) -> datetime | None:
    """The release form's due date as naive UTC, ``None`` when left empty; a
    :class:`FormProblem` for text that is no time."""
    try:
        return parse_local(value)
    except ValueError:
        raise FormProblem("due", f"截止时间“{value}”不是有效的时间",
                          f"due date “{value}” is not a valid time") from None


class CourseReleaseHandler(TrainingPage):
    """Release one of the cohort's courses to its trainees (again: a new version), from the
    library, as a teacher releases a lesson to a class; only for those who run the cohort.
    An optional due date (school time) marks later submissions late, as a class's does."""

    @web.authenticated
    async def post(self, cohort_id: str) -> None:
        self.staff()
        try:
            with self.classroom.database.session() as session:
                course = course_to_release(session, self.person, int(cohort_id),
                                           self.get_body_argument("course", ""))
            due_at = _release_due(self.get_body_argument("due", ""))
        except OutOfScope:
            raise Forbidden("forbidden") from None
        except FormProblem as problem:
            self.show_cohort(int(cohort_id), problem)
            return
        await self.classroom.release([cohort_class_id(int(cohort_id))], course.id,
                                     course.folder, self.person.username, due_at, "submit",
                                     address=client_address(self.request))
        self.redirect(f"{self.prefix}training/cohorts/{cohort_id}", status=303)


class HoursHandler(TrainingPage):
    """The caller's own hours of a year, per cohort and in total, with certificate links."""

    @web.authenticated
    def get(self) -> None:
        self.staff()
        year = self.year()
        with self.classroom.database.session() as session:
            rows = own_hours(session, self.person, year)
            session.expunge_all()
        self.render_training("training_hours.html", rows=rows, year=year,
                             total=sum(r.total for r in rows))


class CertificateHandler(TrainingPage):
    """A printable certificate of one of the caller's own completed courses."""

    @web.authenticated
    def get(self, cohort_id: str, course_id: str) -> None:
        self.staff()
        try:
            with self.classroom.database.session() as session:
                row, issued = certificate(session, self.person, int(cohort_id), course_id, _now())
                session.expunge_all()
        except OutOfScope:
            raise Forbidden("forbidden") from None
        self.render_training("training_certificate.html", row=row, issued=issued,
                             course=teacher_courses()[course_id])


class VerifyHandler(TrainingPage):
    """Checks a printed certificate's code: who, which course, how many hours."""

    @web.authenticated
    def get(self) -> None:
        self.staff()
        code = self.get_query_argument("code", "").strip().upper()[:16]
        found = None
        if code:
            with self.classroom.database.session() as session:
                issued = session.scalar(select(Certificate).where(Certificate.code == code))
                if issued is not None:
                    found = (issued, session.get(Person, issued.username).display_name,
                             session.get(Cohort, issued.cohort_id).name)
                    session.expunge_all()
        course = teacher_courses().get(found[0].assignment_id) if found else None
        self.render_training("training_verify.html", code=code, found=found, course=course)


class RosterExportHandler(TrainingPage):
    """年度研修学时汇总表: the year's trainees of the cohorts the caller runs, as XLSX."""

    @web.authenticated
    def get(self) -> None:
        if self.person.role not in RUNS_TRAINING:
            raise Forbidden("admins_only")
        year = self.year()
        with self.classroom.database.session() as session:
            cohorts = list(session.scalars(cohorts_query(self.person)
                                           .where(Cohort.year == year).order_by(Cohort.id)))
            cohorts = [c for c in cohorts if runs(self.person, c)]
            totals = year_totals(cohort_hours(session, cohorts))
            schools = dict(session.execute(select(School.id, School.name)).all())
            body = roster_workbook(year, totals, schools)
            record(session, actor=self.person.username, action="export.made",
                   source="training", detail={"file": "training-roster", "year": year,
                                              "trainees": len(totals)})
        self.send_file(body, f"training-roster-{year}.xlsx", XLSX)


def training_routes(prefix: str) -> list[tuple[str, type]]:
    base = f"{prefix}training"
    return [
        (base, TrainingHandler),
        (f"{base}/cohorts/{NUMBER}", CohortHandler),
        (f"{base}/cohorts/{NUMBER}/trainees", EnrolHandler),
        (f"{base}/cohorts/{NUMBER}/sessions", SessionHandler),
        (f"{base}/cohorts/{NUMBER}/releases", CourseReleaseHandler),
        (f"{base}/hours", HoursHandler),
        (f"{base}/certificates/{NUMBER}/{COURSE}", CertificateHandler),
        (f"{base}/verify", VerifyHandler),
        (f"{base}/roster\\.xlsx", RosterExportHandler),
    ]
