"""The programme's pages: the school's application, the district's recommendation, the
region's decision, and the supervision evaluation with its exports and evidence files.

Who may see and change what is :mod:`hub.programme.scope` and :mod:`hub.programme.workflow`;
a refusal there is a 403 here that reads the same for a school that does not exist, so
ids cannot be probed. Figures come from the region report's snapshot, with the schools'
districts and programme standing read live (both change on these very pages).
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from tornado import web

from hub.audit.trail import record
from hub.org.models import District, Person, Role, School
from hub.programme import reference
from hub.programme.indicators import BY_KEY, INDICATORS, Evaluation, enter, roll_up
from hub.programme.models import Application, Evidence, Status
from hub.programme.overview import district_overview, region_overview, school_evaluations
from hub.programme.scope import OutOfScope, district_in_scope, school_ids_query, school_in_scope
from hub.programme.workbooks import evaluation_workbook, recommendation_workbook
from hub.programme.workflow import (
    ApplicationForm,
    FormProblem,
    applications_by_school,
    decide,
    recommend,
    submit,
)
from hub.reports.region import RegionReport
from hub.service.pages.base import XLSX, Forbidden
from hub.service.pages.programme_texts import PROGRAMME_TEXTS
from hub.service.pages.reports_pages import ReportPage, build_region_report
from hub.service.pages.teacher import ID
from hub.service.pages.uploads import FormUploadHandler

MIB = 1024 * 1024
FORM_MARGIN = MIB
"""What a form adds around its file (boundaries, headers, the other fields)."""
DRAIN_FACTOR = 5
"""A body declared larger than the limit is still read (and dropped) up to this many
times the limit, so that the school admin gets the page that names the limit rather than
a cut connection; a larger one is cut off unread."""
EVIDENCE_SUFFIXES = (".pdf", ".jpg", ".jpeg", ".png", ".xlsx", ".docx")
EVIDENCE_DIR = "programme-evidence"
RANK = re.compile(r"rank_(.+)")
CHART_BENCHMARK = round(reference.PERIODS_OF_PLAN * 100, 1)
"""The charts' benchmark line: the periods indicator's reference value, in percent."""


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class ProgrammePage(ReportPage):
    """What the programme pages share: their texts, scope checks and figures."""

    def render_programme(self, template: str, **context: object) -> None:
        self.render_page(template, pt=PROGRAMME_TEXTS[self.locale_name], indicators=INDICATORS,
                         policy=self.policy, chart_benchmark=CHART_BENCHMARK, **context)

    def school(self, session: Session, school_id: str) -> School:
        try:
            return school_in_scope(session, self.person, school_id)
        except OutOfScope:
            raise Forbidden("forbidden") from None

    def district(self, session: Session, district_id: str) -> District:
        try:
            return district_in_scope(session, self.person, district_id)
        except OutOfScope:
            raise Forbidden("forbidden") from None

    def region(self) -> RegionReport:
        """The report snapshot, read (or computed and stored) before the page's own session
        opens: a SQLite session that has read cannot write after another one wrote."""
        region, _computed_at = build_region_report(self)
        return region

    def standings(self, session: Session, school_ids: list[str]) -> dict[str, str]:
        return {school_id: a.standing for school_id, a in
                applications_by_school(session, school_ids).items()
                if a.status == Status.APPROVED and a.standing}

    def send_xlsx(self, body: bytes, name: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%d")
        self.send_file(body, f"{name}-{stamp}.xlsx", XLSX)

    def problem(self, template: str, problem: FormProblem, **context: object) -> None:
        self.set_status(422)
        self.render_programme(template, problem=problem, **context)


def _chart(evaluations: list[Evaluation]) -> list[list]:
    """Bars of class-hours per student against the plan, in percent (benchmark line:
    :data:`CHART_BENCHMARK`)."""
    return [[e.name, round((e.values.get("periods") or 0) * 100, 1)] for e in evaluations]


class ApplyHandler(ProgrammePage):
    """The school admin's application and its status."""

    def check(self) -> str:
        if self.person.role != Role.SCHOOL_ADMIN or not self.person.school_id:
            raise Forbidden("admins_only")
        return self.person.school_id

    def show(self, problem: FormProblem | None = None) -> None:
        school_id = self.check()
        with self.classroom.database.session() as session:
            application = session.scalar(select(Application)
                                         .where(Application.school_id == school_id))
            if application is not None:
                session.expunge(application)
        if problem is not None:
            self.set_status(422)
        self.render_programme("programme_apply.html", application=application, problem=problem,
                              school_id=school_id)

    @web.authenticated
    def get(self) -> None:
        self.show()

    @web.authenticated
    def post(self) -> None:
        school_id = self.check()
        form = ApplicationForm(*(self.get_body_argument(name, "") for name in (
            "stage", "locality", "foundation", "has_ai_lab", "ai_teachers", "plan")))
        try:
            with self.classroom.database.session() as session:
                submit(session, self.person, school_id, form)
        except FormProblem as problem:
            self.show(problem)
            return
        except OutOfScope:
            raise Forbidden("forbidden") from None
        self.redirect(f"{self.prefix}programme/apply", status=303)


class DistrictHandler(ProgrammePage):
    """A district's schools, their applications and the ranking form, and its roll-up."""

    def show(self, district_id: str, problem: FormProblem | None = None) -> None:
        region = self.region()
        with self.classroom.database.session() as session:
            district = self.district(session, district_id)
            overview = district_overview(session, region, district, self.policy)
            name = district.name
        if problem is not None:
            self.set_status(422)
        self.render_programme(
            "programme_district.html", district_id=district_id, district_name=name,
            overview=overview, chart=_chart(overview.evaluations), problem=problem,
            rows=[*((e, f"{self.prefix}programme/schools/{e.key}/evaluation")
                    for e in overview.evaluations), (overview.total, "")],
            may_recommend=self.person.role == Role.DISTRICT_ADMIN)

    @web.authenticated
    def get(self, district_id: str) -> None:
        self.show(district_id)

    @web.authenticated
    def post(self, district_id: str) -> None:
        ranked = []
        for name in self.request.body_arguments:
            match = RANK.fullmatch(name)
            value = self.get_body_argument(name, "").strip()
            if match and value:
                if not value.isdigit():
                    self.show(district_id, FormProblem(
                        "rank", f"排名应为正整数，而不是“{value}”",
                        f"a rank must be a positive whole number, not “{value}”"))
                    return
                school_id = match.group(1)
                ranked.append((int(value), school_id,
                               self.get_body_argument(f"note_{school_id}", "")))
        ranked.sort()
        try:
            with self.classroom.database.session() as session:
                recommend(session, self.person, district_id,
                          [(school_id, note) for _rank, school_id, note in ranked])
        except OutOfScope:
            raise Forbidden("forbidden") from None
        except FormProblem as problem:
            self.show(district_id, problem)
            return
        self.redirect(f"{self.prefix}programme/districts/{district_id}", status=303)


class RecommendationSummaryHandler(ProgrammePage):
    """推荐汇总表 of a district, as XLSX."""

    @web.authenticated
    def get(self, district_id: str) -> None:
        with self.classroom.database.session() as session:
            district = self.district(session, district_id)
            names = dict(session.execute(select(School.id, School.name)
                                         .where(School.district_id == district_id)).all())
            applications = applications_by_school(session, list(names))
            body = recommendation_workbook(district.name, [
                (names[school_id], a) for school_id, a in applications.items()])
            record(session, actor=self.person.username, action="export.made",
                   source="programme", detail={"file": "recommendations",
                                               "district": district_id})
        self.send_xlsx(body, f"recommendations-{district_id}")


class RegionProgrammeHandler(ProgrammePage):
    """The region's view: districts rolled up, applications to decide, experimental schools."""

    @web.authenticated
    def get(self) -> None:
        if self.person.role != Role.REGION_ADMIN:
            raise Forbidden("admins_only")
        region = self.region()
        with self.classroom.database.session() as session:
            overview = region_overview(session, region, self.settings["region_name"],
                                       self.policy)
        self.render_programme(
            "programme_region.html", overview=overview, chart=_chart(overview.districts),
            year=datetime.now(UTC).year,
            rows=[*((e, f"{self.prefix}programme/districts/{e.key}")
                    for e in overview.districts), (overview.region, "")])


class DecisionHandler(ProgrammePage):
    """The region's decision on one recommended application."""

    @web.authenticated
    def post(self, school_id: str) -> None:
        try:
            with self.classroom.database.session() as session:
                decide(session, self.person, school_id,
                       approve=self.get_body_argument("decision", "") == "approve",
                       standing=self.get_body_argument("standing", ""),
                       phase=self.get_body_argument("phase", ""),
                       year=self.get_body_argument("year", ""))
        except OutOfScope:
            raise Forbidden("admins_only") from None
        except FormProblem as problem:
            self.set_status(422)
            self.render_programme("programme_problem.html", problem=problem,
                                  back=f"{self.prefix}programme/region")
            return
        self.redirect(f"{self.prefix}programme/region", status=303)


class EvaluationHandler(ProgrammePage):
    """A school's indicators; its own admin enters the figures the platform cannot know."""

    def show(self, school_id: str, problem: FormProblem | None = None) -> None:
        region = self.region()
        with self.classroom.database.session() as session:
            school = self.school(session, school_id)
            evaluations, _reports = school_evaluations(session, region, [school_id],
                                                       self.policy)
            evidence = list(session.scalars(select(Evidence).where(
                Evidence.school_id == school_id).order_by(Evidence.id)))
            for item in evidence:
                session.expunge(item)
            standing = self.standings(session, [school_id]).get(school_id, "")
            name = school.name
        if problem is not None:
            self.set_status(422)
        evaluation = evaluations[0] if evaluations else Evaluation(school_id, name)
        self.render_programme("programme_evaluation.html", school_id=school_id,
                              school_name=name, evaluation=evaluation, evidence=evidence,
                              standing=standing, problem=problem,
                              may_enter=self.may_enter(school_id))

    def may_enter(self, school_id: str) -> bool:
        return self.person.role == Role.SCHOOL_ADMIN and self.person.school_id == school_id

    @web.authenticated
    def get(self, school_id: str) -> None:
        self.show(school_id)

    @web.authenticated
    def post(self, school_id: str) -> None:
        if not self.may_enter(school_id):
            raise Forbidden("forbidden")
        # Every indicator the form names, computed ones too: a forged field for a
        # computed figure is refused by name, not silently dropped.
        values = {key: self.get_body_argument(key, "") for key in self.request.body_arguments
                  if key in BY_KEY}
        try:
            with self.classroom.database.session() as session:
                changed = enter(session, school_id, values, self.person.username, _now())
                record(session, actor=self.person.username, action="programme.indicator",
                       school=school_id, source="programme", detail=changed)
        except ValueError as bad:
            self.show(school_id, FormProblem(*bad.args))
            return
        self.redirect(f"{self.prefix}programme/schools/{school_id}/evaluation", status=303)


class EvaluationExportHandler(ProgrammePage):
    """督导评估 XLSX of a school, a district or the region, for whoever may see it."""

    @web.authenticated
    def get(self, kind: str, key: str = "") -> None:
        region = self.region()
        with self.classroom.database.session() as session:
            if kind == "schools":
                self.school(session, key)
                ids, name = [key], key
            elif kind == "districts":
                name = self.district(session, key).name
                ids = list(session.scalars(select(School.id).where(School.district_id == key)))
            else:
                if self.person.role != Role.REGION_ADMIN:
                    raise Forbidden("admins_only")
                ids = list(session.scalars(school_ids_query(self.person)))
                key, name = "region", self.settings["region_name"]
            evaluations, reports = school_evaluations(session, region, ids, self.policy)
            total = roll_up(key, name, evaluations, reports, self.policy) \
                if kind != "schools" else None
            body = evaluation_workbook(evaluations, total, self.standings(session, ids))
            record(session, actor=self.person.username, action="export.made",
                   school=key if kind == "schools" else "", source="programme",
                   detail={"file": "evaluation", "scope": kind, "key": key})
        self.send_xlsx(body, f"evaluation-{key}")


class EvidenceTooLarge(web.HTTPError):
    """The evidence file is over ``[programme] max_evidence_mb``; nothing is stored."""

    def __init__(self) -> None:
        super().__init__(413)


def _too_large_problem(megabytes: int) -> FormProblem:
    return FormProblem("evidence", f"佐证材料文件不能超过 {megabytes} MB，本次上传未保存",
                       f"an evidence file may be at most {megabytes} MB; this upload was not "
                       "saved")


def _school_may_change_evidence(person: Person, school_id: str) -> bool:
    """Only the school's own admin adds or removes its evidence files."""
    return person.role == Role.SCHOOL_ADMIN and person.school_id == school_id


class EvidenceUploadHandler(FormUploadHandler, ProgrammePage):
    """Evidence files: only the school's own admin uploads, checked before the body is read;
    a file over the limit is refused with a page that names the limit, and nothing kept."""

    @property
    def max_evidence_bytes(self) -> int:
        """``[programme] max_evidence_mb``, in bytes."""
        return self.settings["aiclass_settings"].programme.max_evidence_mb * MIB

    def max_upload_bytes(self) -> int:
        return self.max_evidence_bytes + FORM_MARGIN

    def authorise_upload(self) -> None:
        school_id = self.path_args[0] if self.path_args else ""
        if not _school_may_change_evidence(self.person, school_id):
            raise Forbidden("forbidden")

    async def prepare(self) -> None:
        await super().prepare()
        declared = self.request.headers.get("Content-Length", "")
        if (self._finished or self.request.method != "POST" or self._refusal is not None
                or not declared.isdigit() or int(declared) <= self.max_upload_bytes()):
            return
        self._refusal = EvidenceTooLarge()
        if int(declared) <= DRAIN_FACTOR * self.max_evidence_bytes:
            self.request.connection.set_max_body_size(int(declared))

    def refuse_too_large(self, school_id: str) -> None:
        self.set_status(413)
        limit = self.settings["aiclass_settings"].programme.max_evidence_mb
        self.render_programme("programme_problem.html", problem=_too_large_problem(limit),
                              back=f"{self.prefix}programme/schools/{school_id}/evaluation")

    @web.authenticated
    def post(self, school_id: str) -> None:
        try:
            self.parse_form()
        except EvidenceTooLarge:
            self.refuse_too_large(school_id)
            return
        indicator = self.get_body_argument("indicator", "")
        files = self.request.files.get("evidence", [])
        if indicator not in {i.key for i in INDICATORS} or not files:
            raise web.HTTPError(400, "evidence")
        upload = files[0]
        if len(upload.body) > self.max_evidence_bytes:
            self.refuse_too_large(school_id)
            return
        name = Path(upload.filename.replace("\\", "/")).name[:200]
        if not name.lower().endswith(EVIDENCE_SUFFIXES) or not upload.body:
            raise web.HTTPError(400, "evidence type")
        digest = hashlib.sha256(upload.body).hexdigest()
        folder = Path(self.classroom.data_dir) / EVIDENCE_DIR
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        stored = folder / digest
        if not stored.exists():
            stored.touch(mode=0o600)
            stored.write_bytes(upload.body)
        with self.classroom.database.session() as session:
            session.add(Evidence(school_id=school_id, indicator=indicator, filename=name,
                                 sha256=digest, size=len(upload.body),
                                 uploaded_by=self.person.username, uploaded_at=_now()))
            record(session, actor=self.person.username, action="programme.evidence",
                   school=school_id, source="programme",
                   detail={"indicator": indicator, "sha256": digest, "bytes": len(upload.body)})
        self.redirect(f"{self.prefix}programme/schools/{school_id}/evaluation", status=303)


class EvidenceDeleteHandler(ProgrammePage):
    """The school's own admin removes one of its evidence files (audited); the stored bytes
    go with the last row that names them (identical files are stored once)."""

    @web.authenticated
    def post(self, evidence_id: str) -> None:
        with self.classroom.database.session() as session:
            evidence = session.get(Evidence, int(evidence_id))
            if evidence is None or not _school_may_change_evidence(self.person,
                                                                   evidence.school_id):
                raise Forbidden("forbidden")
            school_id, digest = evidence.school_id, evidence.sha256
            record(session, actor=self.person.username, action="programme.evidence_deleted",
                   school=school_id, source="programme",
                   detail={"indicator": evidence.indicator, "sha256": digest})
            session.delete(evidence)
            session.flush()
            still_used = session.scalar(select(Evidence.id).where(Evidence.sha256 == digest)
                                        .limit(1)) is not None
        if not still_used:
            (Path(self.classroom.data_dir) / EVIDENCE_DIR / digest).unlink(missing_ok=True)
        self.redirect(f"{self.prefix}programme/schools/{school_id}/evaluation", status=303)


class EvidenceHandler(ProgrammePage):
    """One evidence file, for whoever may see its school's evaluation."""

    @web.authenticated
    def get(self, evidence_id: str) -> None:
        with self.classroom.database.session() as session:
            evidence = session.get(Evidence, int(evidence_id))
            if evidence is None:
                raise Forbidden("forbidden")
            self.school(session, evidence.school_id)
            digest, name = evidence.sha256, evidence.filename
        body = (Path(self.classroom.data_dir) / EVIDENCE_DIR / digest).read_bytes()
        self.set_header("X-Content-Type-Options", "nosniff")
        self.send_file(body, f"evidence-{evidence_id}{Path(name).suffix}",
                       "application/octet-stream")


def programme_routes(prefix: str) -> list[tuple[str, type]]:
    base = f"{prefix}programme/"
    return [
        (f"{base}apply", ApplyHandler),
        (f"{base}region", RegionProgrammeHandler),
        (f"{base}(region)/evaluation\\.xlsx", EvaluationExportHandler),
        (f"{base}districts/{ID}", DistrictHandler),
        (f"{base}districts/{ID}/recommendations\\.xlsx", RecommendationSummaryHandler),
        (f"{base}(districts|schools)/{ID}/evaluation\\.xlsx", EvaluationExportHandler),
        (f"{base}schools/{ID}/evaluation", EvaluationHandler),
        (f"{base}schools/{ID}/evidence", EvidenceUploadHandler),
        (f"{base}schools/{ID}/decision", DecisionHandler),
        (f"{base}evidence/([0-9]{{1,12}})", EvidenceHandler),
        (f"{base}evidence/([0-9]{{1,12}})/delete", EvidenceDeleteHandler),
    ]
