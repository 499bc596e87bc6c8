"""Names and answers that a spreadsheet would run: every export opens them as text.

A student (or a roster typo) named ``=HYPERLINK("http://…")`` or ``@SUM(…)`` becomes a
live formula in the teacher's Excel or WPS unless the export neutralises it. Each test
writes the real export, reads it back as a spreadsheet would, and fails if a cell
starts like a formula or is stored as one; negative numbers must stay numbers.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from grading.gradebook.export import FORMULA_START, Table, spreadsheet_safe, to_csv, to_xlsx
from hub.db import ServiceDatabase
from hub.org.models import Enrollment, Person, Region, Role, School, SchoolClass
from hub.org.slips import issue_slips, write_slips
from hub.reports.export import region_workbook
from hub.reports.figures import ReportPolicy
from hub.reports.region import region_report

HOSTILE = ["=HYPERLINK(\"http://127.0.0.1:9/\"&A1,\"点我\")", "+1+cmd|' /C calc'!A0",
           "-2+3+cmd|' /C calc'!A0", "@SUM(1,1)", "\t=1+1", "\r=1+1"]


def runs_as_formula(value: object) -> bool:
    """Text a spreadsheet would evaluate: starts like a formula and is not a plain number."""
    if not isinstance(value, str) or not value.startswith(FORMULA_START):
        return False
    try:
        float(value)
    except ValueError:
        return True
    return False


def test_the_one_function_makes_formulas_text_and_leaves_numbers_alone() -> None:
    """Is every formula start neutralised, while numbers and plain text stay as they were?"""
    for text in HOSTILE:
        assert spreadsheet_safe(text) == "'" + text
    assert spreadsheet_safe(-3) == -3 and spreadsheet_safe(-2.5) == -2.5
    assert spreadsheet_safe("张三") == "张三" and spreadsheet_safe(None) is None


def test_gradebook_csv_and_xlsx_carry_hostile_names_and_answers_as_text() -> None:
    """Do names and column titles (notebook names come from the submission) stay text?"""
    table = Table(header=["学生 / student", "姓名 / name", *HOSTILE],
                  rows=[[text, text, -3, 2.5, *([None] * (len(HOSTILE) - 2))]
                        for text in HOSTILE])
    rows = list(csv.reader(io.StringIO(to_csv(table).decode("utf-8-sig"), newline="")))
    cells = [cell for row in rows for cell in row]
    assert not [cell for cell in cells if runs_as_formula(cell)]
    assert rows[1][:2] == ["'" + HOSTILE[0]] * 2 and rows[1][2] == "-3"
    sheet = load_workbook(io.BytesIO(to_xlsx(table, "c1"))).active
    assert not [c.coordinate for row in sheet.iter_rows() for c in row
                if c.data_type == "f" or runs_as_formula(c.value)]
    assert sheet["C2"].value == -3 and sheet["C2"].data_type == "n"
    assert sheet["A5"].value == "'@SUM(1,1)"


@pytest.fixture
def database(tmp_path: Path) -> ServiceDatabase:
    database = ServiceDatabase(f"sqlite:///{tmp_path / 'aiclass.sqlite'}")
    with database.session() as session:
        session.add(Region(id="r", name="测试区"))
        session.add(School(id="s1", region_id="r", name=HOSTILE[0], locality="urban",
                           stage="senior"))
        session.flush()
        session.add(SchoolClass(id="c1", school_id="s1", name=HOSTILE[3],
                                school_year="2026-2027", grade=10))
        session.flush()
        for index, text in enumerate(HOSTILE):
            session.add(Person(username=f"stu-{index}", display_name=text, role=Role.STUDENT,
                               school_id="s1"))
            session.flush()
            session.add(Enrollment(class_id="c1", username=f"stu-{index}", role=Role.STUDENT))
    yield database
    database.engine.dispose()


def test_region_workbook_school_and_class_names_are_text(database: ServiceDatabase) -> None:
    """Does a school or class named like a formula open as text in the region workbook?"""
    policy = ReportPolicy(term_start=date(2026, 9, 1), periods_per_year=8, period_minutes=45,
                          pass_fraction=0.6, gpu_hours_per_school=10.0)
    with database.session() as session:
        report = region_report(session, "测试区", policy, {}, date(2026, 9, 20))
    workbook = load_workbook(io.BytesIO(region_workbook(report)))
    formulas = [(sheet.title, c.coordinate) for sheet in workbook for row in sheet.iter_rows()
                for c in row if c.data_type == "f" or runs_as_formula(c.value)]
    assert formulas == []
    schools = list(workbook["学校 Schools"].iter_rows(values_only=True))
    assert schools[1][1] == "'" + HOSTILE[0]
    classes = list(workbook["班级 Classes"].iter_rows(values_only=True))
    assert classes[1][1] == "'" + HOSTILE[3]


def test_sign_in_slips_csv_names_are_text(database: ServiceDatabase, tmp_path: Path) -> None:
    """Does a student whose roster name starts with = + - @ tab or CR print as text?"""
    with database.session() as session:
        school_class, slips = issue_slips(session, "c1")
        csv_path, _html = write_slips(tmp_path, school_class.school, school_class, slips,
                                      "http://127.0.0.1:8000/")
    with csv_path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert not [cell for row in rows for cell in row if runs_as_formula(cell)]
    assert sorted(row[1] for row in rows[1:]) == sorted("'" + text for text in HOSTILE)
