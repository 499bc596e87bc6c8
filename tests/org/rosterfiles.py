"""Roster files for the tests: the shipped template's rows, and files written from rows."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from openpyxl import Workbook

TEMPLATES = Path(__file__).resolve().parents[2] / "hub" / "org" / "templates"
TEMPLATE_CSV = TEMPLATES / "roster-template.csv"
TEMPLATE_XLSX = TEMPLATES / "roster-template.xlsx"


def template_rows() -> list[list[str]]:
    """The template's header and rows, as text."""
    with TEMPLATE_CSV.open(encoding="utf-8-sig", newline="") as handle:
        return [row for row in csv.reader(handle)]


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8",
              delimiter: str = ",") -> Path:
    path.write_bytes(csv_bytes(rows, encoding, delimiter))
    return path


def write_xlsx(path: Path, rows: list[list[str]]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path
