"""The year's training roster (年度研修学时汇总表) as XLSX, for the continuing-education
credit system: one row per teacher with their hours, then one row per teacher and course.

Names and cohort titles are typed by people, so every cell goes through
:func:`spreadsheet_safe`; hours are numbers, so the credit office can sum them.
"""

from __future__ import annotations

from io import BytesIO

from openpyxl import Workbook

from grading.gradebook.export import spreadsheet_safe
from hub.training.hours import YearTotal

TRACK_NAMES = {"leadership": "领导力 leadership", "lead_teacher": "骨干教师 lead teacher",
               "general": "通识 general"}


def roster_workbook(year: int, totals: list[YearTotal], schools: dict[str, str]) -> bytes:
    """``totals``: the year's teachers; ``schools``: school id → name."""
    workbook = Workbook(write_only=True)
    summary = workbook.create_sheet(f"{year} 学时汇总 Hours")
    summary.append(["用户名 Username", "姓名 Name", "学校 School", "研修班 Cohorts",
                    "研修方向 Tracks", "课程学时 Course hours", "活动学时 Session hours",
                    "总学时 Total hours", "完成课程数 Courses completed"])
    detail = workbook.create_sheet("完成课程 Courses")
    detail.append(["用户名 Username", "研修班 Cohort", "课程 Course", "学时 Hours",
                   "得分率 Score"])
    for total in totals:
        person = total.person
        summary.append([spreadsheet_safe(v) for v in (
            person.username, person.display_name, schools.get(person.school_id or "", ""),
            "；".join(row.cohort.name for row in total.cohorts),
            "；".join(dict.fromkeys(TRACK_NAMES.get(r.cohort.track, r.cohort.track)
                                   for r in total.cohorts)))]
                       + [total.course_hours, total.session_hours, total.total,
                          sum(len(row.completed) for row in total.cohorts)])
        for row in total.cohorts:
            for course in row.completed:
                detail.append([spreadsheet_safe(person.username),
                               spreadsheet_safe(row.cohort.name),
                               spreadsheet_safe(course.course.title_zh), course.hours,
                               round(course.fraction or 0, 3)])
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
