"""The region report as an XLSX workbook: districts, schools, classes, comparisons and weeks.

Rates are stored as numbers with a percent format, so that the evaluation office can
compute with them in Excel/WPS; headings carry both languages. School and class names
come from rosters: the cells of those sheets go through :func:`spreadsheet_safe`. The
workbook is streamed (write-only: each cell's format is set as the row is written, no
cell objects kept), which makes the region's export of 500 schools and their thousands
of classes several times faster.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from grading.gradebook.export import spreadsheet_safe
from hub.reports.columns import FIGURE_COLUMNS
from hub.reports.figures import Figures, ReportPolicy
from hub.reports.region import RegionReport

LOCALITY_NAMES = {"urban": "城市 urban", "rural": "农村 rural"}
STAGE_NAMES = {"primary": "小学 primary", "junior": "初中 junior", "senior": "高中 senior"}


def _figure_cells(figures: Figures, policy: ReportPolicy) -> list:
    return [column.value(figures, policy) for column in FIGURE_COLUMNS]


NUMBER_FORMATS = {"rate": "0%", "hours": "0.0"}


def _sheet(workbook: Workbook, title: str, headings: list[str], rows: list[list],
           formats: dict[int, str] | None = None, freeze: str = "B2") -> None:
    """One sheet, streamed: bold headings, then the rows; ``formats`` maps a 0-based
    column to its number format (by default the figure columns', which come last)."""
    sheet = workbook.create_sheet(title)
    sheet.freeze_panes = freeze
    if formats is None:
        first_figure = len(headings) - len(FIGURE_COLUMNS)
        formats = {first_figure + offset: NUMBER_FORMATS[column.kind]
                   for offset, column in enumerate(FIGURE_COLUMNS)
                   if column.kind in NUMBER_FORMATS}
    bold = Font(bold=True)

    def heading(text: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(sheet, value=spreadsheet_safe(text))
        cell.font = bold
        return cell

    def value(index: int, value: object) -> object:
        number_format = formats.get(index)
        if number_format is None or value is None:
            return spreadsheet_safe(value)
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = number_format
        return cell

    sheet.append([heading(h) for h in headings])
    for row in rows:
        sheet.append([value(index, cell) for index, cell in enumerate(row)])


@dataclass(frozen=True)
class DistrictRow:
    """One district's roll-up: its figures summed over its schools, with the programme's
    counts the report itself does not hold (given by the programme, which owns them)."""

    figures: Figures
    schools: int
    experimental_schools: int
    teachers_trained: int
    """The teachers of its schools trained in the year (computed by the programme)."""


DISTRICT_HEADINGS = ["区县代码 District id", "区县 District", "学校数 Schools",
                     "实验校数 Experimental schools", "学生数 Students",
                     "活跃学生 Students active", "学生活跃率 Share active",
                     "作业完成率 Assignments completed", "平均得分 Average score",
                     "参训教师 Teachers trained"]
DISTRICT_RATES = (6, 7, 8)
"""The district sheet's columns (0-based) that are rates."""


def _district_sheet(workbook: Workbook, districts: Sequence[DistrictRow]) -> None:
    _sheet(workbook, "区县 Districts", DISTRICT_HEADINGS,
           [[row.figures.key, row.figures.name, row.schools, row.experimental_schools,
             row.figures.students, row.figures.active_students, row.figures.active_rate,
             row.figures.submission_rate, row.figures.average_score, row.teachers_trained]
            for row in districts], dict.fromkeys(DISTRICT_RATES, "0%"), freeze="C2")


def region_workbook(report: RegionReport, districts: Sequence[DistrictRow] = ()) -> bytes:
    """The workbook's bytes; the district sheet comes first when ``districts`` are given,
    the weekly one only when the report has weeks (a district's cut has none)."""
    policy = report.policy
    figure_headings = [f"{c.zh} {c.en}" for c in FIGURE_COLUMNS]
    workbook = Workbook(write_only=True)
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
