"""The roster's XLSX writer, read back by openpyxl (as the credit office's spreadsheet
would read it): text that looks like a formula stays text, numbers stay numbers, control
characters XML cannot carry are dropped, the heading is bold and frozen."""

from __future__ import annotations

from io import BytesIO

from openpyxl import load_workbook

from hub.training.xlsx import xlsx_bytes


def test_cells_read_back_as_written_and_safe() -> None:
    body = xlsx_bytes([
        ("2026 学时汇总 Hours", ["用户名", "姓名", "学时"],
         [["tch-1", "=HYPERLINK(\"http://x\")", 12.5], ["tch-2", "王\x07老师 <b>&", 3],
          ["tch-3", None, 0]]),
        ("完成课程 Courses", [f"列{i}" for i in range(30)], [list(range(30))]),
    ])
    book = load_workbook(BytesIO(body))
    assert book.sheetnames == ["2026 学时汇总 Hours", "完成课程 Courses"]
    sheet = book.worksheets[0]
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [
        ["用户名", "姓名", "学时"], ["tch-1", "'=HYPERLINK(\"http://x\")", 12.5],
        ["tch-2", "王老师 <b>&", 3], ["tch-3", None, 0]]
    assert sheet.cell(1, 1).font.b and not sheet.cell(2, 1).font.b
    assert sheet.freeze_panes == "A2"
    wide = book.worksheets[1]
    assert wide.cell(1, 30).value == "列29" and wide.cell(2, 27).value == 26
    assert wide.cell(1, 27).column_letter == "AA"
