"""The supervision indicators (督导评估) of an experimental school, and their roll-ups.

Where the platform holds the data the figure is computed from it: courses opened per
stage (current classes with at least one assignment released), periods taught against
the plan (class-hours per student against ``[reports] periods_per_year``), students
active, assignments completed, GPU hours (from the region report's snapshot,
:mod:`hub.reports.snapshot`, so the pages cost what reading one row costs, and agree
with the region report), and teachers trained, their hours and the competitions entered
(from the training and competition tables, :mod:`hub.programme.participation`), and the
AI ethics lessons taught (the periods of the library's ethics lessons released to the
school's classes, :mod:`hub.programme.ethics`). The rest the school enters itself (lab
equipment, funding); evidence files
may back any indicator, computed or entered, but a computed figure has no entry to
override it: :func:`enter` refuses one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.org.models import SchoolClass
from hub.programme import reference
from hub.programme.ethics import ethics_lessons
from hub.programme.models import IndicatorEntry
from hub.programme.participation import Participation, participation
from hub.reports.figures import Figures, ReportPolicy
from hub.reports.region import SchoolReport


@dataclass(frozen=True)
class Indicator:
    """One reference indicator: how it is named, where its figure comes from, its benchmark."""

    key: str
    zh: str
    en: str
    entered: bool
    """Entered by the school (True) or computed from the platform's data (False)."""
    benchmark: float | None
    """The programme's reference value; ``None``: recorded, not judged."""
    kind: str = "number"
    """``number`` or ``rate`` (a fraction shown as a percentage)."""
    most: float = 1_000_000
    """The largest value a school may enter."""


INDICATORS = (
    Indicator("courses_opened", "开课率（开课班级 / 班级）", "courses opened (classes with "
              "assignments / classes)", False, reference.COURSES_OPENED, "rate"),
    Indicator("periods", "人均课时 / 计划课时", "class-hours per student / planned periods",
              False, reference.PERIODS_OF_PLAN, "rate"),
    Indicator("students_active", "学生活跃率", "students active", False,
              reference.STUDENTS_ACTIVE, "rate"),
    Indicator("assignments_completed", "作业完成率", "assignments completed", False,
              reference.ASSIGNMENTS_COMPLETED, "rate"),
    Indicator("gpu_hours", "GPU 使用（小时）", "GPU use (hours)", False, None),
    Indicator("teachers_trained", "参训教师（人）", "teachers trained", False,
              reference.TEACHERS_TRAINED),
    Indicator("training_hours", "教师培训学时（人均）", "training hours per teacher", False,
              reference.TRAINING_HOURS),
    Indicator("competitions", "参加竞赛（项）", "competitions entered", False,
              reference.COMPETITIONS),
    Indicator("ethics_lessons", "人工智能伦理课（节）", "AI ethics lessons taught", False,
              reference.ETHICS_LESSONS, most=10_000),
    Indicator("lab_equipment", "实验室设备（台套）", "lab equipment (sets)", True,
              reference.LAB_EQUIPMENT, most=100_000),
    Indicator("funding", "经费投入（万元）", "funding (10,000 yuan)", True, None),
)
"""The reference indicators; their benchmarks are :mod:`hub.programme.reference`'s."""

BY_KEY = {indicator.key: indicator for indicator in INDICATORS}
ENTERED = tuple(i.key for i in INDICATORS if i.entered)
STAGE_OF_GRADE = (("primary", range(1, 7)), ("junior", range(7, 10)),
                  ("senior", range(10, 13)))


@dataclass
class Evaluation:
    """One school's (or a group's) indicator values, and courses opened per stage."""

    key: str
    name: str
    values: dict[str, float | None] = field(default_factory=dict)
    courses_by_stage: dict[str, int] = field(default_factory=dict)
    participation: Participation = field(default_factory=Participation)
    """The training and competition counts behind three of the values."""
    ethics_periods: int = 0
    """Periods of ethics lessons released to the school's (or group's) classes."""

    def met(self, key: str) -> bool | None:
        """Whether the value reaches the benchmark (``None``: not judged or not known)."""
        benchmark = BY_KEY[key].benchmark
        value = self.values.get(key)
        if benchmark is None or value is None:
            return None
        return value >= benchmark

    @property
    def met_count(self) -> int:
        return sum(bool(self.met(i.key)) for i in INDICATORS)


def _stage(grade: int) -> str:
    return next(stage for stage, grades in STAGE_OF_GRADE if grade in grades)


def _computed(figures: Figures, opened: int, classes: int, policy: ReportPolicy,
              taken: Participation, ethics: int, schools: int) -> dict[str, float | None]:
    """The computed values; ``schools`` > 1 for a group, whose trained teachers,
    competitions and ethics lessons are per school, to compare with the per-school
    benchmark."""
    return {
        "courses_opened": opened / classes if classes else None,
        "periods": figures.benchmark_ratio(policy) if figures.students else None,
        "students_active": figures.active_rate,
        "assignments_completed": figures.submission_rate,
        "gpu_hours": figures.gpu_hours,
        "teachers_trained": taken.trained / schools if schools else None,
        "training_hours": taken.hours_per_teacher,
        "competitions": taken.competitions / schools if schools else None,
        "ethics_lessons": ethics / schools if schools else None,
    }


def entries_by_school(session: Session, school_ids: list[str]
                      ) -> dict[str, dict[str, float]]:
    """What each school entered, by school and indicator (only indicators the school
    enters now: a figure typed in before the platform computed it stays unread)."""
    entered: dict[str, dict[str, float]] = {}
    for school_id, key, value in session.execute(
            select(IndicatorEntry.school_id, IndicatorEntry.indicator, IndicatorEntry.value)
            .where(IndicatorEntry.school_id.in_(school_ids),
                   IndicatorEntry.indicator.in_(ENTERED))):
        entered.setdefault(school_id, {})[key] = value
    return entered


def evaluate(session: Session, reports: list[SchoolReport], policy: ReportPolicy
             ) -> list[Evaluation]:
    """Each school's evaluation, from its report (snapshot), its training and competitions
    and its entries."""
    ids = [r.school.key for r in reports]
    entered = entries_by_school(session, ids)
    taken = participation(session, ids, policy)
    ethics = ethics_lessons(session, ids, policy.school_year)
    grades = dict(session.execute(select(SchoolClass.id, SchoolClass.grade).where(
        SchoolClass.school_id.in_(ids), SchoolClass.school_year == policy.school_year)).all())
    evaluations = []
    for report in reports:
        by_stage: dict[str, int] = {}
        opened = 0
        for figures in report.classes:
            if figures.assignments:
                opened += 1
                stage = _stage(grades.get(figures.key, 10))
                by_stage[stage] = by_stage.get(stage, 0) + 1
        counts = taken[report.school.key]
        evaluation = Evaluation(report.school.key, report.school.name,
                                _computed(report.school, opened, len(report.classes), policy,
                                          counts, ethics[report.school.key], 1),
                                by_stage, counts, ethics[report.school.key])
        for key in ENTERED:
            evaluation.values[key] = entered.get(report.school.key, {}).get(key)
        evaluations.append(evaluation)
    return evaluations


def roll_up(key: str, name: str, evaluations: list[Evaluation],
            reports: Mapping[str, SchoolReport], policy: ReportPolicy) -> Evaluation:
    """A group of schools (a district, the region): computed figures from the summed
    counts (trained teachers, competitions and ethics lessons per school), entered ones
    as the schools' mean (over the schools that entered them)."""
    total = Figures(key, name)
    taken = Participation()
    opened = classes = ethics = 0
    by_stage: dict[str, int] = {}
    for evaluation in evaluations:
        report = reports[evaluation.key]
        total.add(report.school)
        taken.add(evaluation.participation)
        ethics += evaluation.ethics_periods
        classes += len(report.classes)
        for stage, count in evaluation.courses_by_stage.items():
            by_stage[stage] = by_stage.get(stage, 0) + count
            opened += count
    group = Evaluation(key, name, _computed(total, opened, classes, policy, taken, ethics,
                                            len(evaluations)), by_stage, taken, ethics)
    for indicator in ENTERED:
        values = [e.values[indicator] for e in evaluations
                  if e.values.get(indicator) is not None]
        group.values[indicator] = sum(values) / len(values) if values else None
    return group


def enter(session: Session, school_id: str, values: Mapping[str, str], username: str,
          now: datetime) -> dict[str, float]:
    """Check and store a school's entered figures; return what changed. Raises
    ``ValueError`` with (field, zh, en) for the first bad value before storing any."""
    checked: dict[str, float] = {}
    for key, text in values.items():
        indicator = BY_KEY.get(key)
        if indicator is None:
            raise ValueError(key, f"没有指标“{key[:32]}”", f"there is no indicator “{key[:32]}”")
        if not indicator.entered:
            raise ValueError(key, f"“{indicator.zh}”由平台根据实际记录计算，不能填报",
                             f"“{indicator.en}” is computed by the platform from its records "
                             "and cannot be entered")
        if not text.strip():
            continue
        try:
            value = float(text)
        except ValueError:
            value = None
        if value is None or not 0 <= value <= indicator.most or value != value:
            raise ValueError(key, f"{indicator.zh}应为 0 到 {indicator.most:g} 之间的数，"
                             f"而不是“{text}”", f"{indicator.en} must be a number from 0 to "
                             f"{indicator.most:g}, not “{text}”")
        checked[key] = value
    existing = {e.indicator: e for e in session.scalars(
        select(IndicatorEntry).where(IndicatorEntry.school_id == school_id))}
    for key, value in checked.items():
        entry = existing.get(key)
        if entry is None:
            session.add(IndicatorEntry(school_id=school_id, indicator=key, value=value,
                                       entered_by=username, entered_at=now))
        else:
            entry.value, entry.entered_by, entry.entered_at = value, username, now
    session.flush()
    return checked
