"""The programme's spreadsheets: the district's ranked recommendation summary (推荐汇总表)
and the evaluation export (督导评估) of a school, a district or the region.

Applications and names are typed by schools, so every cell goes through
:func:`spreadsheet_safe` (a school "plan" starting with ``=`` stays text); rates are
numbers with a percent format, so the evaluation office can compute with them.
"""

from __future__ import annotations

from io import BytesIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from grading.gradebook.export import spreadsheet_safe
from hub.programme.indicators import INDICATORS, Evaluation
from hub.programme.models import Application

STAGE_NAMES = {"primary": "小学 primary", "junior": "初中 junior", "senior": "高中 senior"}
LOCALITY_NAMES = {"urban": "城市 urban", "rural": "农村 rural"}
STATUS_NAMES = {"applied": "已申报 applied", "recommended": "已推荐 recommended",
                "approved": "已批准 approved", "declined": "未批准 declined"}
STANDING_NAMES = {"experimental_school": "实验校 experimental school",
                  "district_member": "实验区成员校 district member"}


def _sheet(workbook: Workbook, title: str, headings: list[str], rows: list[list],
           percent_columns: frozenset[int] = frozenset()) -> None:
    """One sheet, streamed (a write-only workbook: no cell objects kept, which makes the
    region's 500-school export several times faster); ``percent_columns`` (0-based) are
    rates shown as percentages."""
    sheet = workbook.create_sheet(title)
    sheet.freeze_panes = "B2"
    bold = Font(bold=True)

    def heading(text: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(sheet, value=spreadsheet_safe(text))
        cell.font = bold
        return cell

    def value(index: int, value: object) -> object:
        if index not in percent_columns or value is None:
            return spreadsheet_safe(value)
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "0%"
        return cell

    sheet.append([heading(h) for h in headings])
    for row in rows:
        sheet.append([value(index, cell) for index, cell in enumerate(row)])


def _bytes(workbook: Workbook) -> bytes:
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def recommendation_workbook(district_name: str,
                            rows: list[tuple[str, Application]]) -> bytes:
    """推荐汇总表: the district's applications, recommended ones first by rank.

    ``rows``: (school name, application)."""
    ordered = sorted(rows, key=lambda row: (row[1].rank is None, row[1].rank or 0,
                                            row[1].school_id))
    workbook = Workbook(write_only=True)
    _sheet(workbook, "推荐汇总表 Summary",
           ["推荐排名 Rank", "学校代码 School id", "学校 School", "学段 Stage",
            "城乡 Locality", "人工智能实验室 AI lab", "人工智能教师 AI teachers",
            "已有基础 IT/maker/STEM base", "实施方案 Plan", "推荐意见 Note", "状态 Status",
            f"区县 District: {district_name}"],
           [[a.rank, a.school_id, name, STAGE_NAMES.get(a.stage, a.stage),
             LOCALITY_NAMES.get(a.locality, a.locality), "有 yes" if a.has_ai_lab else "无 no",
             a.ai_teachers, a.foundation, a.plan, a.recommendation or "",
             STATUS_NAMES.get(a.status, a.status), ""] for name, a in ordered])
    return _bytes(workbook)


def evaluation_workbook(evaluations: list[Evaluation], total: Evaluation | None,
                        standings: dict[str, str]) -> bytes:
    """督导评估: one row per school (and the group's total), a column per indicator, then
    the benchmarks and how many indicators each school meets."""
    workbook = Workbook(write_only=True)
    headings = ["学校代码 School id", "学校 School", "项目身份 Standing",
                *[f"{i.zh} {i.en}" for i in INDICATORS],
                *[f"开课班级 {name}" for name in STAGE_NAMES.values()], "达标项数 Indicators met"]

    def row(evaluation: Evaluation, standing: str) -> list:
        return [evaluation.key, evaluation.name, STANDING_NAMES.get(standing, standing),
                *[evaluation.values.get(i.key) for i in INDICATORS],
                *[evaluation.courses_by_stage.get(stage, 0) for stage in STAGE_NAMES],
                evaluation.met_count]

    rows = [row(e, standings.get(e.key, "")) for e in evaluations]
    if total is not None:
        rows.append(row(total, ""))
    rows.append(["", "基准 Benchmark", "", *[i.benchmark for i in INDICATORS],
                 "", "", "", ""])
    _sheet(workbook, "督导评估 Evaluation", headings, rows,
           frozenset(3 + offset for offset, indicator in enumerate(INDICATORS)
                     if indicator.kind == "rate"))
    return _bytes(workbook)
