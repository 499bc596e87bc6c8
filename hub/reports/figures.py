"""The figures of one report row (a class, a school, or a group of schools) and their rates.

Rows hold counts only; rates are derived, so that adding two rows (a school is the
sum of its classes, urban schools the sum of those schools) stays exact.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date

from hub.settings import ReportsSettings


@dataclass(frozen=True)
class ReportPolicy:
    """What the programme measures against, from ``[reports]`` in the settings."""

    term_start: date
    periods_per_year: int = 8
    period_minutes: int = 45
    pass_fraction: float = 0.6
    gpu_hours_per_school: float = 0.0

    @classmethod
    def from_settings(cls, settings: ReportsSettings) -> ReportPolicy:
        return cls(term_start=date.fromisoformat(settings.term_start),
                   periods_per_year=settings.periods_per_year,
                   period_minutes=settings.period_minutes,
                   pass_fraction=settings.pass_percent / 100,
                   gpu_hours_per_school=settings.gpu_hours_per_school)

    @property
    def periods_per_term(self) -> float:
        """The benchmark for one term: a school year has two."""
        return self.periods_per_year / 2

    @property
    def school_year(self) -> str:
        """The school year the term belongs to (it starts in August or September)."""
        first = self.term_start.year if self.term_start.month >= 8 else self.term_start.year - 1
        return f"{first}-{first + 1}"


def _rate(part: float, whole: float) -> float | None:
    return None if not whole else part / whole


@dataclass
class Figures:
    """Counts for one row; ``None`` rates mean "nothing to measure yet", not zero."""

    key: str
    name: str
    students: int = 0
    active_students: int = 0
    active_minutes: int = 0
    gpu_minutes: int = 0
    assignments: int = 0
    expected: int = 0
    submitted: int = 0
    on_time: int = 0
    graded: int = 0
    passed: int = 0
    teachers: int = 0
    teachers_releasing: int = 0
    gpu_hours_allocated: float = 0.0
    score_total: float = 0.0
    """The graded submissions' fractions of their points, summed (so that the average
    score of a group is exact; snapshots older than this field read it as 0)."""

    COUNTS = ("students", "active_students", "active_minutes", "gpu_minutes", "assignments",
              "expected", "submitted", "on_time", "graded", "passed", "teachers",
              "teachers_releasing", "gpu_hours_allocated", "score_total")

    def add(self, other: Figures) -> None:
        """Add another row's counts to this one."""
        for name in self.COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def class_hours_per_student(self, policy: ReportPolicy) -> float:
        if not self.students:
            return 0.0
        return self.active_minutes / policy.period_minutes / self.students

    def benchmark_ratio(self, policy: ReportPolicy) -> float:
        """Class-hours per student against the programme's periods for one term."""
        return self.class_hours_per_student(policy) / policy.periods_per_term

    @property
    def active_rate(self) -> float | None:
        return _rate(self.active_students, self.students)

    @property
    def submission_rate(self) -> float | None:
        return _rate(self.submitted, self.expected)

    @property
    def on_time_rate(self) -> float | None:
        return _rate(self.on_time, self.submitted)

    @property
    def pass_rate(self) -> float | None:
        return _rate(self.passed, self.graded)

    @property
    def average_score(self) -> float | None:
        """The mean fraction of the points the graded submissions got."""
        return _rate(self.score_total, self.graded)

    @property
    def gpu_hours(self) -> float:
        return self.gpu_minutes / 60

    @property
    def gpu_use_rate(self) -> float | None:
        return _rate(self.gpu_hours, self.gpu_hours_allocated)

    @property
    def releasing_rate(self) -> float | None:
        return _rate(self.teachers_releasing, self.teachers)

    def as_dict(self, policy: ReportPolicy) -> dict:
        """JSON-ready counts and rates."""
        body = {f.name: getattr(self, f.name) for f in fields(self)}
        body.update(class_hours_per_student=self.class_hours_per_student(policy),
                    benchmark_ratio=self.benchmark_ratio(policy),
                    active_rate=self.active_rate, submission_rate=self.submission_rate,
                    on_time_rate=self.on_time_rate, pass_rate=self.pass_rate,
                    average_score=self.average_score,
                    gpu_hours=self.gpu_hours, gpu_use_rate=self.gpu_use_rate,
                    releasing_rate=self.releasing_rate)
        return body
