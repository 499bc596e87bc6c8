"""The year's training roster (年度研修学时汇总表) as XLSX, for the continuing-education
credit system: one row per teacher with their hours, then one row per teacher and course.

Names and cohort titles are typed by people; :mod:`hub.training.xlsx` makes every cell
safe (a name starting with ``=`` stays text). Hours are numbers, so the credit office can
sum them.
"""

from __future__ import annotations

from hub.training.hours import YearTotal
from hub.training.xlsx import xlsx_bytes

TRACK_NAMES = {"leadership": "领导力 leadership", "lead_teacher": "骨干教师 lead teacher",
               "general": "通识 general"}
SUMMARY = ["用户名 Username", "姓名 Name", "学校 School", "研修班 Cohorts", "研修方向 Tracks",
           "课程学时 Course hours", "活动学时 Session hours", "总学时 Total hours",
           "完成课程数 Courses completed"]
COURSES = ["用户名 Username", "研修班 Cohort", "课程 Course", "学时 Hours", "得分率 Score"]


def roster_workbook(year: int, totals: list[YearTotal], schools: dict[str, str]) -> bytes:
    """``totals``: the year's teachers; ``schools``: school id → name."""
    summary = [[t.person.username, t.person.display_name,
                schools.get(t.person.school_id or "", ""),
                "；".join(row.cohort.name for row in t.cohorts),
                "；".join(dict.fromkeys(TRACK_NAMES.get(r.cohort.track, r.cohort.track)
                                       for r in t.cohorts)),
                t.course_hours, t.session_hours, t.total,
                sum(len(row.completed) for row in t.cohorts)] for t in totals]
    courses = [[t.person.username, row.cohort.name, course.course.title_zh, course.hours,
                round(course.fraction or 0, 3)]
               for t in totals for row in t.cohorts for course in row.completed]
    return xlsx_bytes([(f"{year} 学时汇总 Hours", SUMMARY, summary),
                       ("完成课程 Courses", COURSES, courses)])
