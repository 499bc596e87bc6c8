"""Read a spreadsheet a school sends in (CSV or XLSX) into rows of text cells.

Excel in China saves CSV as GBK (GB18030 is its superset), newer versions as UTF-8
with a byte-order mark, and "Unicode text" as UTF-16 with tabs. The encoding is
decided by rules that cannot guess wrong rather than by statistics: a byte-order
mark names it; otherwise text that decodes as strict UTF-8 is UTF-8 (GBK-encoded
Chinese practically never does); otherwise strict GB18030. Bytes that fit none of
them, NUL bytes or a ZIP that is not a workbook are "not a table", never mojibake.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from openpyxl import load_workbook

XLSX_MAGIC = b"PK\x03\x04"
BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


class TableError(Exception):
    """A file that cannot be read as a table, said in Chinese and in English."""

    def __init__(self, zh: str, en: str, source: str = "") -> None:
        self.zh, self.en, self.source = zh, en, source
        prefix = f"{source}: " if source else ""
        super().__init__(f"{prefix}{zh} / {en}")


@dataclass(frozen=True)
class Table:
    """The header row and the data rows of one sheet; ``first_row`` numbers rows as Excel does."""

    source: str
    header: list[str]
    rows: list[list[str]]
    encoding: str
    first_row: int = 2


def detect_encoding(data: bytes) -> str:
    """The encoding of a CSV file's bytes, by byte-order mark, then strict UTF-8, then GB18030."""
    for bom, encoding in BOMS:
        if data.startswith(bom):
            return encoding
    if b"\x00" in data:
        raise TableError("不是表格文件（含二进制内容）", "not a table (binary content)")
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        data.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError as exc:
        raise TableError(
            f"无法识别的文字编码（第 {exc.start} 字节），请另存为 UTF-8 或 GBK 的 CSV",
            f"unknown text encoding (byte {exc.start}); save as UTF-8 or GBK CSV",
        ) from exc


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _trim(rows: list[list[str]]) -> list[list[str]]:
    """Drop trailing empty rows and trailing empty cells, which spreadsheets leave behind."""
    trimmed = []
    for row in rows:
        while row and not row[-1]:
            row = row[:-1]
        trimmed.append(row)
    while trimmed and not trimmed[-1]:
        trimmed.pop()
    return trimmed


def read_csv(data: bytes, source: str) -> Table:
    """Parse CSV (comma, semicolon or tab separated) in any of the encodings Excel writes."""
    encoding = detect_encoding(data)
    text = data.decode(encoding)
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise TableError("文件为空", "the file is empty")
    first_line = text.splitlines()[0]
    delimiter = max(",\t;", key=first_line.count)
    if first_line.count(delimiter) == 0:
        raise TableError("不是表格：第一行没有分隔符（逗号或制表符）",
                         "not a table: the first row has no separators (comma or tab)")
    try:
        rows = [[cell.strip() for cell in row]
                for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error as exc:
        raise TableError(f"不是有效的 CSV：{exc}", f"not valid CSV: {exc}") from exc
    rows = _trim(rows)
    return Table(source, rows[0], rows[1:], encoding)


def read_xlsx(data: bytes, source: str, sheet: str | None = None) -> Table:
    """Read the first (or the named) sheet of a workbook."""
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise TableError(f"不是有效的 Excel 工作簿：{exc}",
                         f"not a valid Excel workbook: {exc}") from exc
    try:
        worksheet = workbook[sheet] if sheet else workbook.worksheets[0]
        rows = _trim([[_cell_text(value) for value in row]
                      for row in worksheet.iter_rows(values_only=True)])
    finally:
        workbook.close()
    if not rows:
        raise TableError("文件为空", "the file is empty")
    return Table(source, rows[0], rows[1:], "xlsx")


def read_table(path: Path) -> Table:
    """Read ``path`` as a table; XLSX is recognised by its content, not only its name."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TableError("无法读取", f"cannot be read: {exc.strerror}", path.name) from exc
    try:
        if not data:
            raise TableError("文件为空", "the file is empty")
        if data.startswith(XLSX_MAGIC) or path.suffix.lower() == ".xlsx":
            return read_xlsx(data, path.name)
        return read_csv(data, path.name)
    except TableError as exc:
        raise TableError(exc.zh, exc.en, path.name) from exc
