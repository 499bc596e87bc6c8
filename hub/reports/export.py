"""The region report as an XLSX workbook: districts, schools, classes, comparisons and weeks.

Rates are stored as numbers with a percent format, so that the evaluation office can
compute with them in Excel/WPS; headings carry both languages. School and class names
come from rosters: the cells of those sheets go through :func:`spreadsheet_safe`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from grading.gradebook.export import spreadsheet_safe
from hub.reports.columns import FIGURE_COLUMNS
from hub.reports.figures import Figures, ReportPolicy
from hub.reports.region import RegionReport

LOCALITY_NAMES = {"urban": "城市 urban", "rural": "农村 rural"}
STAGE_NAMES = {"primary": "小学 primary", "junior": "初中 junior", "senior": "高中 senior"}


def _figure_cells(figures: Figures, policy: ReportPolicy) -> list:
    return [column.value(figures, policy) for column in FIGURE_COLUMNS]


def _sheet(workbook: Workbook, title: str, headings: list[str], rows: list[list]) -> Worksheet:
    sheet = workbook.create_sheet(title)
    sheet.append([spreadsheet_safe(heading) for heading in headings])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([spreadsheet_safe(value) for value in row])
    first_figure = len(headings) - len(FIGURE_COLUMNS) + 1
    for offset, column in enumerate(FIGURE_COLUMNS):
        if column.kind in ("rate", "hours"):
            number_format = "0%" if column.kind == "rate" else "0.0"
            for (cell,) in sheet.iter_rows(min_row=2, min_col=first_figure + offset,
                                           max_col=first_figure + offset):
                cell.number_format = number_format
    sheet.freeze_panes = "B2"
    return sheet


@dataclass(frozen=True)
class DistrictRow:
    """One district's roll-up: its figures summed over its schools, with the programme's
    counts the report itself does not hold (given by the programme, which owns them)."""

    figures: Figures
    schools: int
    experimental_schools: int
    teachers_trained: float | None
    """The teachers its schools entered as trained, summed; ``None``: none entered."""


DISTRICT_HEADINGS = ["区县代码 District id", "区县 District", "学校数 Schools",
                     "实验校数 Experimental schools", "学生数 Students",
                     "活跃学生 Students active", "学生活跃率 Share active",
                     "作业完成率 Assignments completed", "平均得分 Average score",
                     "参训教师 Teachers trained"]
DISTRICT_RATES = (6, 7, 8)
"""The district sheet's columns (0-based) that are rates."""


def _district_sheet(workbook: Workbook, districts: Sequence[DistrictRow]) -> None:
    sheet = workbook.create_sheet("区县 Districts")
    sheet.append([spreadsheet_safe(heading) for heading in DISTRICT_HEADINGS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in districts:
        f = row.figures
        sheet.append([spreadsheet_safe(f.key), spreadsheet_safe(f.name), row.schools,
                      row.experimental_schools, f.students, f.active_students, f.active_rate,
                      f.submission_rate, f.average_score, row.teachers_trained])
    for column in DISTRICT_RATES:
        for (cell,) in sheet.iter_rows(min_row=2, min_col=column + 1, max_col=column + 1):
            cell.number_format = "0%"
    sheet.freeze_panes = "C2"


def region_workbook(report: RegionReport, districts: Sequence[DistrictRow] = ()) -> bytes:
    """The workbook's bytes; the district sheet comes first when ``districts`` are given,
    the weekly one only when the report has weeks (a district's cut has none)."""
    policy = report.policy
    figure_headings = [f"{c.zh} {c.en}" for c in FIGURE_COLUMNS]
    workbook = Workbook()
    workbook.remove(workbook.active)
    if districts:
        _district_sheet(workbook, districts)
    _sheet(workbook, "学校 Schools",
           ["学校代码 School id", "学校 School", "城乡 Locality", "学段 Stage", *figure_headings],
           [[s.school.key, s.school.name, LOCALITY_NAMES.get(s.locality, s.locality),
             STAGE_NAMES.get(s.stage, s.stage), *_figure_cells(s.school, policy)]
            for s in report.schools])
    _sheet(workbook, "班级 Classes",
           ["班级代码 Class id", "班级 Class", "学校代码 School id", *figure_headings],
           [[c.key, c.name, s.school.key, *_figure_cells(c, policy)]
            for s in report.schools for c in s.classes])
    comparison = [[LOCALITY_NAMES.get(k, k), *_figure_cells(f, policy)]
                  for k, f in report.by_locality.items()]
    comparison += [[STAGE_NAMES.get(k, k), *_figure_cells(f, policy)]
                   for k, f in report.by_stage.items()]
    comparison.append([f"合计 {report.region.name}", *_figure_cells(report.region, policy)])
    _sheet(workbook, "对比 Comparison", ["分组 Group", *figure_headings], comparison)
    if report.weeks:
        _weekly_sheet(workbook, report)
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _weekly_sheet(workbook: Workbook, report: RegionReport) -> None:
    policy = report.policy
    weekly = workbook.create_sheet("每周 Weekly")
    weekly.append(["周一 Week of", "课时 Class-hours", "提交 Submissions",
                   *[f"课时 {LOCALITY_NAMES[k]}" for k in LOCALITY_NAMES]])
    for week in report.weeks:
        weekly.append([week.week_start, week.active_minutes / policy.period_minutes,
                       week.submissions,
                       *[week.minutes_by_locality.get(k, 0) / policy.period_minutes
                         for k in LOCALITY_NAMES]])
