"""The application workflow (申报 → 推荐 → 批准): a school applies, its district
recommends it with a rank, the region approves or declines; each step is audited.

Every step names the person acting and checks their role and scope here, not only on
the page, so the rule holds for any caller: only a school's own admin applies for it
(and may resubmit until the district has recommended it); only the admin of the
school's district recommends; only a region admin decides. Bad input raises
:class:`FormProblem` naming the field, in Chinese and English, before anything changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit.trail import record
from hub.messages import FieldProblem
from hub.org.models import Person, Role, School
from hub.programme.models import Application, Standing, Status
from hub.programme.scope import OutOfScope, district_in_scope, school_in_scope

STAGES = ("primary", "junior", "senior")
LOCALITIES = ("urban", "rural")
MAX_TEXT = 4000
MAX_TEACHERS = 1000
PHASES = (1, 2, 3)
YEARS = range(2020, 2101)


class FormProblem(FieldProblem):
    """One field of a programme form is wrong; nothing was changed."""


@dataclass(frozen=True)
class ApplicationForm:
    """The fields of a school's application, as the form sends them (text)."""

    stage: str
    locality: str
    foundation: str
    has_ai_lab: str
    ai_teachers: str
    plan: str


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _text(field: str, value: str, zh: str, en: str) -> str:
    value = value.strip()
    if not value:
        raise FormProblem(field, f"请填写{zh}", f"the {en} is empty")
    if len(value) > MAX_TEXT:
        raise FormProblem(field, f"{zh}过长（最多 {MAX_TEXT} 字）",
                          f"the {en} is too long (at most {MAX_TEXT} characters)")
    return value


def _whole_number(field: str, value: str, low: int, high: int, zh: str, en: str) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise FormProblem(field, f"{zh}必须是 {low} 到 {high} 的整数，而不是“{value}”",
                          f"the {en} must be a whole number from {low} to {high}, "
                          f"not “{value}”")
    return number


def submit(session: Session, person: Person, school_id: str, form: ApplicationForm
           ) -> Application:
    """The school admin's application for their school (a new one or a resubmission)."""
    if person.role != Role.SCHOOL_ADMIN or person.school_id != school_id:
        raise OutOfScope(school_id)
    school_in_scope(session, person, school_id)
    if form.stage not in STAGES:
        raise FormProblem("stage", "学段应为小学、初中或高中", "the stage must be primary, "
                          "junior or senior")
    if form.locality not in LOCALITIES:
        raise FormProblem("locality", "城乡应为城市或农村", "the locality must be urban or rural")
    foundation = _text("foundation", form.foundation, "信息技术、创客和 STEM 基础",
                       "IT, maker and STEM base")
    teachers = _whole_number("ai_teachers", form.ai_teachers, 0, MAX_TEACHERS,
                             "人工智能教师人数", "number of AI teachers")
    plan = _text("plan", form.plan, "实施方案", "plan")
    if form.has_ai_lab not in ("yes", "no"):
        raise FormProblem("has_ai_lab", "请选择是否已有人工智能实验室",
                          "say whether there is an AI lab")
    application = session.scalar(select(Application).where(Application.school_id == school_id))
    if application is not None and application.status not in (Status.APPLIED, Status.DECLINED):
        raise FormProblem("status", "区县已推荐这份申报，不能再修改",
                          "the district has recommended this application; it can no longer "
                          "be changed")
    if application is None:
        application = Application(school_id=school_id)
        session.add(application)
    application.status = Status.APPLIED
    application.stage, application.locality = form.stage, form.locality
    application.foundation, application.plan = foundation, plan
    application.has_ai_lab = form.has_ai_lab == "yes"
    application.ai_teachers = teachers
    application.submitted_by, application.submitted_at = person.username, _now()
    application.rank = application.recommendation = None
    application.recommended_by = application.recommended_at = None
    application.standing = application.phase = application.year = None
    application.decided_by = application.decided_at = None
    session.flush()
    record(session, actor=person.username, action="programme.applied", school=school_id,
           source="programme", detail={"stage": form.stage, "locality": form.locality})
    return application


def recommend(session: Session, person: Person, district_id: str,
              ranking: list[tuple[str, str]]) -> list[Application]:
    """The district's ranked recommendation: ``(school id, note)`` in rank order.

    Every school must be one of the district's with an application awaiting the
    district (applied, or recommended and so re-ranked); the district's admin only.
    """
    if person.role != Role.DISTRICT_ADMIN:
        raise OutOfScope(district_id)
    district_in_scope(session, person, district_id)
    if not ranking:
        raise FormProblem("rank", "请至少推荐一所学校", "recommend at least one school")
    seen: set[str] = set()
    applications = []
    for position, (school_id, note) in enumerate(ranking, start=1):
        school = session.get(School, school_id)
        if school is None or school.district_id != district_id:
            raise OutOfScope(school_id)
        if school_id in seen:
            raise FormProblem("rank", f"第 {position} 名的学校重复", f"rank {position} "
                              "repeats a school")
        seen.add(school_id)
        application = session.scalar(select(Application)
                                     .where(Application.school_id == school_id))
        if application is None or application.status not in (Status.APPLIED,
                                                              Status.RECOMMENDED):
            raise FormProblem("rank", f"第 {position} 名的学校没有待推荐的申报",
                              f"the school ranked {position} has no application awaiting "
                              "the district")
        if len(note) > MAX_TEXT:
            raise FormProblem("note", f"推荐意见过长（最多 {MAX_TEXT} 字）",
                              f"the note is too long (at most {MAX_TEXT} characters)")
        applications.append((position, application, note.strip()))
    now = _now()
    for position, application, note in applications:
        application.status = Status.RECOMMENDED
        application.rank, application.recommendation = position, note
        application.recommended_by, application.recommended_at = person.username, now
        record(session, actor=person.username, action="programme.recommended",
               school=application.school_id, source="programme", detail={"rank": position})
    session.flush()
    return [application for _position, application, _note in applications]


def decide(session: Session, person: Person, school_id: str, *, approve: bool,
           standing: str, phase: str, year: str) -> Application:
    """The region's decision on a recommended application."""
    if person.role != Role.REGION_ADMIN:
        raise OutOfScope(school_id)
    school_in_scope(session, person, school_id)
    application = session.scalar(select(Application).where(Application.school_id == school_id))
    if application is None or application.status != Status.RECOMMENDED:
        raise FormProblem("status", "这所学校没有区县推荐的申报",
                          "this school has no application recommended by its district")
    if approve:
        if standing not in set(Standing):
            raise FormProblem("standing", "请选择实验校或实验区成员校",
                              "choose experimental school or district member")
        application.phase = _whole_number("phase", phase, 1, 3, "批次", "phase")
        application.year = _whole_number("year", year, YEARS.start, YEARS.stop - 1, "年度",
                                         "year")
        application.standing = standing
    application.status = Status.APPROVED if approve else Status.DECLINED
    application.decided_by, application.decided_at = person.username, _now()
    session.flush()
    record(session, actor=person.username, action="programme.decided", school=school_id,
           source="programme", detail={"approved": approve, "standing": application.standing,
                                       "phase": application.phase, "year": application.year})
    return application


def applications_by_school(session: Session, school_ids: list[str]) -> dict[str, Application]:
    """The applications of these schools, by school id."""
    return {a.school_id: a for a in session.scalars(
        select(Application).where(Application.school_id.in_(school_ids)))}
