"""The class gradebook as CSV and XLSX: one row per student, one column per question.

Columns are ``assignment/notebook/grade_id`` in the assignments' order, then each
assignment's total, late penalty and final score. Usernames are pseudonymous; real
names are added only when the teacher asks (``names``), as display data. Text that a
spreadsheet would run as a formula is prefixed with ``'`` by :func:`spreadsheet_safe`,
the one function every export of the project (gradebook, region workbook, sign-in
slips) passes its cells through.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from grading.exchange.store import ExchangeStore
from grading.gradebook.late_policy import LatePolicy, submission_total
from grading.gradebook.models import CellGrade

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Table:
    header: list[str]
    rows: list[list[object]]


def class_table(session: Session, store: ExchangeStore, class_id: str, students: list[str],
                policy: LatePolicy, names: dict[str, str] | None = None) -> Table:
    """Scores of the submission that counts, per student and graded cell, for every assignment."""
    assignments = [r.assignment_id for r in store.current_releases([class_id])]
    columns: dict[str, list[tuple[str, str]]] = {}
    for assignment_id in assignments:
        seen = session.execute(
            select(CellGrade.notebook, CellGrade.grade_id).where(
                CellGrade.class_id == class_id, CellGrade.assignment_id == assignment_id)
            .group_by(CellGrade.notebook, CellGrade.grade_id)
            .order_by(CellGrade.notebook, CellGrade.grade_id)).all()
        positions = dict(session.execute(
            select(CellGrade.grade_id, CellGrade.position).where(
                CellGrade.class_id == class_id, CellGrade.assignment_id == assignment_id)).all())
        columns[assignment_id] = sorted(seen, key=lambda c: (c[0], positions.get(c[1], 0)))
    header = ["学生 / student"] + (["姓名 / name"] if names is not None else [])
    for assignment_id in assignments:
        header += [f"{assignment_id}/{nb}/{grade_id}" for nb, grade_id in columns[assignment_id]]
        header += [f"{assignment_id} 原始分 / raw", f"{assignment_id} 迟交扣分% / late %",
                   f"{assignment_id} 总分 / final", f"{assignment_id} 满分 / max"]
    rows = []
    for student in students:
        row: list[object] = [student] + ([names.get(student, "")] if names is not None else [])
        for assignment_id in assignments:
            [(_name, submission, _due)] = store.collect(class_id, assignment_id, [student])
            cells = {}
            if submission is not None:
                cells = {(c.notebook, c.grade_id): c.score for c in session.scalars(
                    select(CellGrade).where(CellGrade.submission_id == submission.id))}
            row += [cells.get(key) for key in columns[assignment_id]]
            if submission is None or not cells:
                row += [None, None, None, None]
            else:
                total = submission_total(session, store, submission, policy)
                row += [total.raw, total.penalty_percent, total.final, total.max_score]
        rows.append(row)
    return Table(header, rows)


def spreadsheet_safe(value: object) -> object:
    """``value`` as a spreadsheet cell that cannot run: text starting like a formula
    (``=``, ``+``, ``-``, ``@``, tab, carriage return: what Excel, WPS and LibreOffice
    evaluate, e.g. a student named ``=HYPERLINK(…)``) gets a leading ``'``, which makes
    it text; numbers, dates and empty cells stay as they are, so ``-3`` stays a number."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def to_csv(table: Table) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel opens the Chinese headers correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([spreadsheet_safe(v) for v in table.header])
    for row in table.rows:
        writer.writerow(["" if v is None else spreadsheet_safe(v) for v in row])
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(table: Table, sheet_title: str) -> bytes:
    """One sheet, header row frozen; numbers stay numbers."""
    book = Workbook()
    sheet = book.active
    sheet.title = sheet_title[:31]
    sheet.append([spreadsheet_safe(v) for v in table.header])
    for row in table.rows:
        sheet.append([spreadsheet_safe(v) for v in row])
    sheet.freeze_panes = "B2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
