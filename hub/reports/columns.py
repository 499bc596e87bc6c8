"""The columns of a report table: heading in both languages and how to read the value.

The region page, the printable report and the XLSX export show the same columns in the
same order, so they are declared once here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hub.reports.figures import Figures, ReportPolicy


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    value: Callable[[Figures, ReportPolicy], float | int | str | None]
    kind: str = "count"  # count | rate | hours

    def heading(self, locale: str) -> str:
        return self.zh if locale == "zh_CN" else self.en


FIGURE_COLUMNS = (
    Column("students", "学生数", "students", lambda f, p: f.students),
    Column("active_rate", "活跃学生比例", "active students", lambda f, p: f.active_rate, "rate"),
    Column("class_hours", "生均课时", "class-hours per student",
           lambda f, p: f.class_hours_per_student(p), "hours"),
    Column("benchmark", "达到学期基准", "of the term benchmark",
           lambda f, p: f.benchmark_ratio(p), "rate"),
    Column("assignments", "发布作业数", "assignments released", lambda f, p: f.assignments),
    Column("submission_rate", "提交率", "submission rate", lambda f, p: f.submission_rate,
           "rate"),
    Column("on_time_rate", "按时率", "on-time rate", lambda f, p: f.on_time_rate, "rate"),
    Column("pass_rate", "及格率", "pass rate", lambda f, p: f.pass_rate, "rate"),
    Column("gpu_hours", "GPU 小时", "GPU hours", lambda f, p: f.gpu_hours, "hours"),
    Column("gpu_allocated", "分配 GPU 小时", "GPU hours allocated",
           lambda f, p: f.gpu_hours_allocated, "hours"),
    Column("teachers_releasing", "发布作业的教师", "teachers releasing",
           lambda f, p: f"{f.teachers_releasing}/{f.teachers}"),
)


def formatted(column: Column, figures: Figures, policy: ReportPolicy) -> str:
    """The value as the pages print it: rates in percent, hours with one decimal."""
    value = column.value(figures, policy)
    if value is None:
        return "—"
    if column.kind == "rate":
        return f"{value * 100:.0f}%"
    if column.kind == "hours":
        return f"{value:.1f}"
    return str(value)
