"""Roster import against a real SQLite service database: good files, bad files, re-imports."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.db import ServiceDatabase
from hub.org.directory import hub_groups, hub_roles
from hub.org.grants import REGION_OPERATOR
from hub.org.models import Credential, Enrollment, Person, School, SchoolClass
from hub.org.password_reset import ResetRefused, reset_password
from hub.org.roster import ImportReport, RosterError, apply_roster, read_tables
from hub.org.slips import issue_slips, write_slips
from tests.org.rosterfiles import (
    TEMPLATE_CSV,
    TEMPLATE_XLSX,
    csv_bytes,
    template_rows,
    write_csv,
    write_xlsx,
)

USERNAME, NAME, ROLE, CLASS, GRADE, YEAR, SCHOOL_NAME = 8, 9, 10, 4, 7, 6, 1
NEXT_YEAR_CLASSES = {"s1-2026-g10c1": "s1-2027-g11c1", "s1-2026-g10c2": "s1-2027-g11c2",
                     "s2-2026-g8c1": "s2-2027-g9c1"}


@pytest.fixture
def database(tmp_path: Path) -> ServiceDatabase:
    database = ServiceDatabase(f"sqlite:///{tmp_path / 'aiclass.sqlite'}")
    yield database
    database.engine.dispose()


def import_files(database: ServiceDatabase, *paths: Path) -> ImportReport:
    with database.session() as session:
        return apply_roster(session, read_tables(paths), "region", "本区域",
                            grantor=REGION_OPERATOR)


def dump(database: ServiceDatabase) -> dict:
    """Everything an import may touch, in a comparable form."""
    with database.session() as session:
        return {
            "schools": sorted((s.id, s.name, s.locality, s.stage)
                              for s in session.scalars(select(School))),
            "classes": sorted((c.id, c.school_id, c.name, c.school_year, c.grade)
                              for c in session.scalars(select(SchoolClass))),
            "people": sorted((p.username, p.display_name, p.role, p.school_id)
                             for p in session.scalars(select(Person))),
            "enrollments": sorted((e.class_id, e.username, e.role)
                                  for e in session.scalars(select(Enrollment))),
            "credentials": sorted((c.username, c.password_hash)
                                  for c in session.scalars(select(Credential))),
        }


def test_the_template_imports_in_both_formats(database: ServiceDatabase) -> None:
    report = import_files(database, TEMPLATE_CSV)
    assert (report.schools_created, report.classes_created, report.people_created) == (2, 3, 10)
    assert report.enrollments_added == 10
    state = dump(database)
    assert ("s1-2026-g10c1", "stu-c5r8h", "student") in state["enrollments"]
    assert ("stu-c5r8h", "买买提·艾力", "student", "sample-s1") in state["people"]
    assert ("sample-s2", "样例县实验学校", "rural", "junior") in state["schools"]
    assert not import_files(database, TEMPLATE_XLSX).changed
    assert dump(database) == state
    with database.session() as session:
        groups = hub_groups(session)
        roles = {role["name"]: role for role in hub_roles(session)}
    assert groups["class-s1-2026-g10c1"] == ["stu-a3k9d", "stu-b7n2f", "stu-c5r8h"]
    assert len(groups["school-sample-s1"]) == 5
    teacher = roles["aiclass-teacher-tch-m4p8q"]["scopes"]
    assert "start:servers!group=class-s1-2026-g10c2" in teacher
    assert not any("sample-s2" in scope or "g8c1" in scope for scope in teacher)
    assert roles["aiclass-school-admin-sadm-x7k2m"]["scopes"] == [
        f"{s}!group=school-sample-s1" for s in ("list:users", "read:users", "read:servers",
                                                "start:servers", "delete:servers")]


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-16"])
def test_excel_encodings_import_identically(tmp_path: Path, encoding: str) -> None:
    rows = template_rows()
    rows[4][NAME] = "王䶮" if encoding != "gbk" else "王珺"
    results = []
    for name, enc in (("utf8", "utf-8"), (encoding, encoding)):
        database = ServiceDatabase(f"sqlite:///{tmp_path / name}.sqlite")
        delimiter = "\t" if enc == "utf-16" else ","
        import_files(database, write_csv(tmp_path / f"{name}.csv", rows, enc, delimiter))
        results.append(dump(database))
        database.engine.dispose()
    assert results[0] == results[1]
    assert any(p[1] == rows[4][NAME] for p in results[1]["people"])


def test_reimport_changes_nothing(database: ServiceDatabase) -> None:
    import_files(database, TEMPLATE_CSV)
    with database.session() as session:
        issue_slips(session, "s1-2026-g10c1")
    before = dump(database)
    report = import_files(database, TEMPLATE_CSV)
    assert not report.changed and report.rows == 11
    assert dump(database) == before


def test_a_student_left_out_of_their_class_leaves_it(database: ServiceDatabase,
                                                     tmp_path: Path) -> None:
    import_files(database, TEMPLATE_CSV)
    rows = [row for row in template_rows() if row[USERNAME] != "stu-b7n2f"]
    report = import_files(database, write_csv(tmp_path / "smaller.csv", rows))
    assert report.enrollments_removed == 1 and report.enrollments_added == 0
    with database.session() as session:
        assert "stu-b7n2f" not in hub_groups(session)["class-s1-2026-g10c1"]
        assert session.get(Person, "stu-b7n2f") is not None


def test_next_years_roster_moves_students_and_keeps_their_history(
        database: ServiceDatabase, tmp_path: Path) -> None:
    import_files(database, TEMPLATE_CSV)
    with database.session() as session:
        _class, slips = issue_slips(session, "s1-2026-g10c1")
        hashes = {c.username: c.password_hash for c in session.scalars(select(Credential))}
    assert {slip.username for slip in slips} == {"stu-a3k9d", "stu-b7n2f", "stu-c5r8h"}
    rows = template_rows()
    next_year = [rows[0]]
    for row in rows[1:]:
        row = copy.copy(row)
        if row[CLASS]:
            row[CLASS] = NEXT_YEAR_CLASSES[row[CLASS]]
            row[YEAR] = "2027-2028"
            row[GRADE] = str(int(row[GRADE]) + 1)
            row[CLASS + 1] = row[CLASS + 1].replace("高一", "高二").replace("初二", "初三")
        next_year.append(row)
    next_year[4][CLASS], next_year[4][CLASS + 1] = "s1-2027-g11c2", "高二（2）班"
    report = import_files(database, write_csv(tmp_path / "next-year.csv", next_year))
    assert report.classes_created == 3 and report.people_created == 0
    assert report.enrollments_removed == 0
    with database.session() as session:
        groups = hub_groups(session)
        old = set(session.scalars(select(Enrollment.username).where(
            Enrollment.class_id == "s1-2026-g10c1")))
        after = {c.username: c.password_hash for c in session.scalars(select(Credential))}
    assert old == {"stu-a3k9d", "stu-b7n2f", "stu-c5r8h", "tch-m4p8q"}
    assert groups["class-s1-2026-g10c1"] == []
    assert groups["class-s1-2027-g11c1"] == ["stu-b7n2f", "stu-c5r8h"]
    assert "stu-a3k9d" in groups["class-s1-2027-g11c2"]
    assert after == hashes


def test_slips_and_password_reset_for_own_students_only(database: ServiceDatabase,
                                                        tmp_path: Path) -> None:
    import_files(database, TEMPLATE_CSV)
    with database.session() as session:
        school_class, slips = issue_slips(session, "s2-2026-g8c1")
        csv_path, html_path = write_slips(tmp_path, school_class.school, school_class, slips,
                                          "http://127.0.0.1:8000/")
        assert reset_password(session, "stu-f4y7m", by="tch-r6v3x")
        with pytest.raises(ResetRefused):
            reset_password(session, "stu-f4y7m", by="tch-m4p8q")
        with pytest.raises(ResetRefused):
            reset_password(session, "tch-r6v3x", by="tch-m4p8q")
        with pytest.raises(ResetRefused):
            reset_password(session, "stu-a3k9d", by="stu-b7n2f")
        assert reset_password(session, "stu-a3k9d", by="sadm-x7k2m")
        with pytest.raises(ResetRefused):
            reset_password(session, "stu-f4y7m", by="sadm-x7k2m")
    text = csv_path.read_text(encoding="utf-8-sig")
    for slip in slips:
        assert slip.password and f"{slip.username},{slip.display_name},{slip.password}" in text
        assert slip.password in html_path.read_text(encoding="utf-8")
    assert csv_path.stat().st_mode & 0o077 == 0


def _edit(change: Callable[[list[list[str]]], None]) -> list[list[str]]:
    rows = template_rows()
    change(rows)
    return rows


def _set(row: int, column: int, value: str) -> Callable[[list[list[str]]], None]:
    def change(rows: list[list[str]]) -> None:
        rows[row - 1][column] = value
    return change


def _same_student(first: int, second: int) -> Callable[[list[list[str]]], None]:
    def change(rows: list[list[str]]) -> None:
        rows[second - 1][USERNAME] = rows[first - 1][USERNAME]
        rows[second - 1][NAME] = rows[first - 1][NAME]
    return change


def _raw(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _rows(path: Path, rows: list[list[str]]) -> Path:
    return write_csv(path, rows, "gbk")


def _unknown_school(rows: list[list[str]]) -> None:
    rows[4][0], rows[4][1] = "nowhere", ""


def _unknown_class(rows: list[list[str]]) -> None:
    rows[4][4:8] = ["s1-2026-nope", "", "", ""]


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"
BAD_FILES: dict[str, tuple[Callable[[Path], Path], int | None, str | None, str]] = {
    "empty": (lambda p: _raw(p, b""), None, None, "the file is empty"),
    "header-only": (lambda p: _raw(p, csv_bytes(template_rows()[:1])), None, None,
                    "no data rows"),
    "binary": (lambda p: _raw(p, PNG), None, None, "not a table (binary content)"),
    "prose": (lambda p: _raw(p, "这不是花名册。\n只是一段话。\n".encode()), None, None,
              "the first row has no separators"),
    "bad-encoding": (lambda p: _raw(p, "用户名,姓名,角色\n".encode("gbk") + b"\x81\x20\x81,a,b\n"),
                     None, None, "unknown text encoding"),
    "corrupt-xlsx": (lambda p: _raw(p.with_suffix(".xlsx"), b"PK\x03\x04garbage"), None, None,
                     "not a valid Excel workbook"),
    "wrong-headers": (lambda p: _rows(p, [["学号", "名字", "身份"], ["1", "王", "学生"]]), 1,
                      None, "not a roster"),
    "missing-column": (lambda p: _rows(p, [r[:10] for r in template_rows()]), 1, "角色",
                       "this column is missing"),
    "unknown-column": (lambda p: _rows(p, [r + ["备注"] for r in template_rows()]), 1, "备注",
                       "unknown column header"),
    "ragged-row": (lambda p: _rows(p, _edit(lambda r: r[5].extend(["a", "b"]))), 6, None,
                   "15 cells but there are only 13 columns"),
    "missing-username": (lambda p: _rows(p, _edit(_set(5, USERNAME, ""))), 5, "用户名",
                         "the username is empty"),
    "bad-username": (lambda p: _rows(p, _edit(_set(5, USERNAME, "Wang Li"))), 5, "用户名",
                     "may contain only lowercase letters"),
    "long-username": (lambda p: _rows(p, _edit(_set(5, USERNAME, "s" * 33))), 5, "用户名",
                      "the username is too long (33 characters, at most 32)"),
    "duplicate-username": (lambda p: _rows(p, _edit(lambda r: r.append(list(r[4])))), 13,
                           "用户名", "duplicate username “stu-a3k9d” (first in row 5)"),
    "two-classes-one-year": (lambda p: _rows(p, _edit(_same_student(5, 8))), 8,
                             "班级代码", "is in two classes of school year 2026-2027"),
    "empty-name": (lambda p: _rows(p, _edit(_set(6, NAME, ""))), 6, "姓名", "the name is empty"),
    "long-name": (lambda p: _rows(p, _edit(_set(6, NAME, "王" * 65))), 6, "姓名",
                  "the name is too long (65 characters, at most 64)"),
    "bad-name": (lambda p: _rows(p, _edit(_set(6, NAME, "<script>"))), 6, "姓名",
                 "a character that is not allowed"),
    "unknown-role": (lambda p: _rows(p, _edit(_set(7, ROLE, "校长"))), 7, "角色",
                     "unknown role “校长”"),
    "bad-grade": (lambda p: _rows(p, _edit(_set(5, GRADE, "13"))), 5, "年级",
                  "from 1 to 12, not “13”"),
    "text-grade": (lambda p: _rows(p, _edit(_set(5, GRADE, "高一"))), 5, "年级",
                   "from 1 to 12, not “高一”"),
    "bad-school-year": (lambda p: _rows(p, _edit(_set(5, YEAR, "2026/27"))), 5, "学年",
                        "must look like 2026-2027"),
    "unknown-school": (lambda p: _rows(p, _edit(_unknown_school)), 5, "学校代码",
                       "unknown school “nowhere”"),
    "unknown-class": (lambda p: _rows(p, _edit(_unknown_class)), 5, "班级代码",
                      "unknown class"),
    "class-mismatch": (lambda p: _rows(p, _edit(_set(6, GRADE, "11"))), 6, "年级",
                       "does not match row 3"),
    "school-name-mismatch": (lambda p: _rows(p, _edit(_set(6, SCHOOL_NAME, "别的中学"))), 6,
                             "学校名称",
                             "does not match the school name “样例市第一中学” in row 2"),
    "student-without-class": (lambda p: _rows(p, _edit(_set(5, CLASS, ""))), 5, "班级代码",
                              "students and teachers need a class"),
    "cohort-class-id": (lambda p: _rows(p, _edit(_set(5, CLASS, "training-1"))), 5, "班级代码",
                        "may not begin with “training-” (kept for training cohorts)"),
}




@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_bad_file_names_the_row_and_column_and_changes_nothing(
        name: str, database: ServiceDatabase, tmp_path: Path) -> None:
    import_files(database, TEMPLATE_XLSX)
    before = dump(database)
    make, row, column, english = BAD_FILES[name]
    path = make(tmp_path / f"{name}.csv")
    with pytest.raises(RosterError) as caught:
        import_files(database, path)
    problems = caught.value.problems
    assert any(english in p.en and p.row == row and p.column == column for p in problems), (
        [str(p) for p in problems])
    first = problems[0]
    assert first.source == path.name and first.zh and first.zh != first.en
    message = str(caught.value)
    if row is not None:
        assert f"第 {row} 行" in message and f"row {row}" in message
    assert dump(database) == before


def test_a_conflict_with_another_file_names_that_file_and_row(
        database: ServiceDatabase, tmp_path: Path) -> None:
    """Does a school named differently in a second file point at the first file's row?"""
    first = write_csv(tmp_path / "first.csv", template_rows())
    renamed = [template_rows()[0]] + [[*row[:SCHOOL_NAME], "别的中学", *row[SCHOOL_NAME + 1:]]
                                      for row in template_rows()[1:] if row[0] == "sample-s1"]
    second = write_csv(tmp_path / "second.csv", renamed)
    with pytest.raises(RosterError) as caught:
        import_files(database, first, second)
    problem = caught.value.problems[0]
    assert (problem.source, problem.row, problem.column) == ("second.csv", 2, "学校名称")
    assert "first.csv row 2" in problem.en and "first.csv 第 2 行" in problem.zh
    assert "row 0" not in str(caught.value)


def test_one_bad_row_among_many_good_ones_applies_nothing(tmp_path: Path) -> None:
    database = ServiceDatabase(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    rows = _edit(_set(12, GRADE, "0"))
    with pytest.raises(RosterError) as caught:
        import_files(database, write_csv(tmp_path / "late-error.csv", rows))
    assert [p.row for p in caught.value.problems] == [12]
    assert dump(database) == {k: [] for k in ("schools", "classes", "people", "enrollments",
                                              "credentials")}
    database.engine.dispose()


def test_xlsx_with_numbers_reads_like_csv(tmp_path: Path, database: ServiceDatabase) -> None:
    path = write_xlsx(tmp_path / "numbers.xlsx",
                      [[int(c) if c.isdigit() else c for c in row] for row in template_rows()])
    import_files(database, path)
    assert ("s2-2026-g8c1", "sample-s2", "初二（1）班", "2026-2027", 8) in dump(database)["classes"]
