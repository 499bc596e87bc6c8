"""Roster import: a school's spreadsheet of people and classes into the organisation model.

Everything is checked before anything changes. Each problem names the file, the row
as the spreadsheet numbers it, the column as its header reads, and what is wrong, in
Chinese and English; one problem anywhere means nothing is applied.

What a file decides: for every class it names, the file is the class list (people of
that class missing from the file leave it; their account, work and grades stay). A
student named in a class of a school year leaves their other class of that year (a
move). Enrollments of earlier years are kept as history, so next year's file moves
students on without losing what they did; the hub mirrors only each student's
latest year (see :mod:`hub.org.directory`). People not in the file are untouched.
The district columns are optional (files made before districts still import): a row
that names a district puts its school in it, or makes its district admin.
Importing the same file twice changes nothing. Whose file it is matters: each row is
also checked against what its uploader may grant (:mod:`hub.org.grants`), so a school
admin's file can touch only their own school's students and teachers.

Initial passwords are not made here: they are never stored in clear, so they are
issued when a class's sign-in slips are printed (:mod:`hub.org.slips`).

An applied import is on the audit trail (:mod:`hub.audit.trail`): the import itself, and
every person created, changed (a field, a role, a class joined or left), in the same
transaction, so a dry run that is rolled back leaves no rows either.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.orm import Session

from hub.audit.trail import AuditEntry, record_many
from hub.org.grants import Authority, Grantor, GrantRefused, Standing, check_grant
from hub.org.models import District, Enrollment, Person, Region, Role, School, SchoolClass
from hub.org.tables import Table, TableError, read_table
from hub.training.class_ids import COHORT_CLASS_PREFIX


@dataclass(frozen=True)
class Column:
    """One roster column: its key, its Chinese header (as in the template) and English name."""

    key: str
    zh: str
    en: str


COLUMNS = (
    Column("school", "学校代码", "school"),
    Column("school_name", "学校名称", "school_name"),
    Column("locality", "城乡", "locality"),
    Column("stage", "学段", "stage"),
    Column("class", "班级代码", "class"),
    Column("class_name", "班级名称", "class_name"),
    Column("school_year", "学年", "school_year"),
    Column("grade", "年级", "grade"),
    Column("username", "用户名", "username"),
    Column("display_name", "姓名", "name"),
    Column("role", "角色", "role"),
    Column("district", "区县代码", "district"),
    Column("district_name", "区县名称", "district_name"),
)
"""The district columns come last and are optional: files made before districts import."""
REQUIRED = ("username", "display_name", "role")
ROLE_NAMES = {"学生": Role.STUDENT, "教师": Role.TEACHER, "老师": Role.TEACHER,
              "学校管理员": Role.SCHOOL_ADMIN, "区县管理员": Role.DISTRICT_ADMIN,
              "区域管理员": Role.REGION_ADMIN,
              **{role.value: role for role in Role}}
LOCALITIES = {"城市": "urban", "城镇": "urban", "农村": "rural", "urban": "urban",
              "rural": "rural"}
STAGES = {"小学": "primary", "初中": "junior", "高中": "senior", "primary": "primary",
          "junior": "junior", "senior": "senior"}
USERNAME = re.compile(r"[a-z][a-z0-9_-]*")
IDENTIFIER = re.compile(r"[a-z0-9][a-z0-9_-]*")
SCHOOL_YEAR = re.compile(r"(\d{4})-(\d{4})")
NAME_PUNCTUATION = set("·・.-' ")
MAX_USERNAME = 32
MAX_ID = 60
MAX_DISPLAY_NAME = 64
MAX_NAME = 100
STAFF = ""
"""Key of :attr:`ImportReport.new_accounts` for new teachers and admins (they have no slips)."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, where it is, in both languages."""

    source: str
    row: int | None
    column: str | None
    zh: str
    en: str

    def __str__(self) -> str:
        where_zh = self.source
        where_en = self.source
        if self.row is not None:
            where_zh += f" 第 {self.row} 行"
            where_en += f" row {self.row}"
        if self.column is not None:
            where_zh += f"“{self.column}”列"
            where_en += f" column “{self.column}”"
        return f"{where_zh}：{self.zh} / {where_en}: {self.en}"


class RosterError(Exception):
    """The input has problems; nothing was applied."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        shown = "\n".join(str(p) for p in problems[:100])
        more = len(problems) - 100
        if more > 0:
            shown += f"\n……另有 {more} 个问题 / and {more} more problems"
        super().__init__(shown)


@dataclass(frozen=True)
class Where:
    """A row of an input file, as the spreadsheet numbers it."""

    source: str
    row: int

    def zh(self, here: str) -> str:
        """This row in Chinese, naming its file only when it is not ``here`` (the row's own)."""
        return f"第 {self.row} 行" if self.source == here else f"{self.source} 第 {self.row} 行"

    def en(self, here: str) -> str:
        return f"row {self.row}" if self.source == here else f"{self.source} row {self.row}"


@dataclass(frozen=True)
class RosterRow:
    """A validated row, with where it came from."""

    source: str
    row: int
    username: str
    display_name: str
    role: Role
    school: str
    class_id: str
    district: str = ""
    """The district a district admin oversees (empty for everyone else)."""

    @property
    def where(self) -> Where:
        return Where(self.source, self.row)


@dataclass(frozen=True)
class ClassSpec:
    """A class as the input (or the database) defines it."""

    school: str
    name: str
    school_year: str
    grade: int
    defined_at: Where | None = field(default=None, compare=False)
    """The row that first defined it; ``None`` for a class already in the database."""


@dataclass(frozen=True)
class SchoolSpec:
    """A school as the input defines it."""

    name: str
    locality: str
    stage: str
    defined_at: Where | None = field(default=None, compare=False)
    """The row that first named it."""


@dataclass(frozen=True)
class DistrictSpec:
    """A district as the input names it."""

    name: str
    defined_at: Where = field(compare=False)


@dataclass(frozen=True)
class KnownPerson:
    """A person as the database holds them, in the form a row would set."""

    display_name: str
    role: str
    school: str | None
    district: str | None = None


@dataclass
class ImportReport:
    """What an import changed (or, in a dry run, would change)."""

    rows: int = 0
    districts_created: int = 0
    schools_created: int = 0
    schools_updated: int = 0
    classes_created: int = 0
    classes_updated: int = 0
    people_created: int = 0
    people_updated: int = 0
    enrollments_added: int = 0
    enrollments_removed: int = 0
    new_accounts: dict[str, list[str]] = field(default_factory=dict)
    """New usernames by class (students) or under :data:`STAFF` (teachers and admins)."""

    @property
    def changed(self) -> bool:
        return any((self.districts_created, self.schools_created, self.schools_updated,
                    self.classes_created, self.classes_updated, self.people_created,
                    self.people_updated, self.enrollments_added, self.enrollments_removed))

    def summary(self) -> str:
        return (
            f"{self.rows} 行 / rows; 区县 / districts +{self.districts_created}; "
            f"学校 / schools +{self.schools_created} "
            f"~{self.schools_updated}; 班级 / classes +{self.classes_created} "
            f"~{self.classes_updated}; 人员 / people +{self.people_created} "
            f"~{self.people_updated}; 班级成员 / enrollments +{self.enrollments_added} "
            f"-{self.enrollments_removed}"
        )


@dataclass
class _Existing:
    """The parts of the database a roster is checked against, loaded once."""

    schools: dict[str, School]
    classes: dict[str, ClassSpec]
    people: dict[str, KnownPerson]
    districts: dict[str, str]
    """Id → name of the districts already in the database."""

    @classmethod
    def load(cls, session: Session) -> _Existing:
        return cls(
            districts=dict(session.execute(select(District.id, District.name)).all()),
            schools={s.id: s for s in session.scalars(select(School))},
            classes={row.id: ClassSpec(row.school_id, row.name, row.school_year, row.grade)
                     for row in session.execute(select(SchoolClass.id, SchoolClass.school_id,
                                                       SchoolClass.name,
                                                       SchoolClass.school_year,
                                                       SchoolClass.grade))},
            people={row.username: KnownPerson(row.display_name, row.role, row.school_id,
                                              row.district_id)
                    for row in session.execute(select(Person.username, Person.display_name,
                                                      Person.role, Person.school_id,
                                                      Person.district_id))},
        )


def _header_keys(table: Table) -> tuple[dict[str, int], dict[str, str], list[Problem]]:
    by_name = {}
    for column in COLUMNS:
        by_name[column.zh] = column
        by_name[column.en] = column
        by_name[column.key] = column
    positions: dict[str, int] = {}
    headers: dict[str, str] = {}
    problems: list[Problem] = []
    if not any(h.split("/")[0].strip() in by_name or h.lower() in by_name
               for h in table.header):
        expected = "、".join(c.zh for c in COLUMNS)
        return positions, headers, [Problem(
            table.source, 1, None,
            f"不是花名册：第一行应为列名（{expected}）",
            "not a roster: the first row must be the column headers "
            f"({', '.join(c.en for c in COLUMNS)})")]
    for index, header in enumerate(table.header):
        name = header.split("/")[0].strip()
        column = by_name.get(name) or by_name.get(name.lower())
        if column is None:
            problems.append(Problem(table.source, 1, header or f"#{index + 1}",
                                    "未知的列名", "unknown column header"))
        elif column.key in positions:
            problems.append(Problem(table.source, 1, header, "列名重复", "duplicate column"))
        else:
            positions[column.key] = index
            headers[column.key] = header
    for key in REQUIRED:
        if key not in positions:
            column = next(c for c in COLUMNS if c.key == key)
            problems.append(Problem(table.source, 1, column.zh, "缺少这一列",
                                    "this column is missing"))
    return positions, headers, problems


def _display_name_problem(value: str) -> tuple[str, str] | None:
    if not value:
        return "姓名不能为空", "the name is empty"
    if len(value) > MAX_DISPLAY_NAME:
        return (f"姓名过长（{len(value)} 字，最多 {MAX_DISPLAY_NAME}）",
                f"the name is too long ({len(value)} characters, at most {MAX_DISPLAY_NAME})")
    for char in value:
        if char not in NAME_PUNCTUATION and unicodedata.category(char)[0] not in "LM":
            return (f"姓名含有不允许的字符 U+{ord(char):04X}",
                    f"the name contains a character that is not allowed: U+{ord(char):04X}")
    return None


def _identifier_problem(value: str, what_zh: str, what_en: str, pattern: re.Pattern,
                        longest: int) -> tuple[str, str] | None:
    if len(value) > longest:
        return (f"{what_zh}过长（{len(value)} 个字符，最多 {longest}）",
                f"the {what_en} is too long ({len(value)} characters, at most {longest})")
    if not pattern.fullmatch(value):
        return (f"{what_zh}只能由小写英文字母、数字、- 和 _ 组成",
                f"the {what_en} may contain only lowercase letters, digits, - and _")
    return None


def _stage_for_grade(grade: int) -> str:
    return "primary" if grade <= 6 else "junior" if grade <= 9 else "senior"


class _Validator:
    """Checks every row of every table, collecting problems instead of stopping at the first."""

    def __init__(self, existing: _Existing, grantor: Grantor) -> None:
        self.existing = existing
        self.grantor = grantor
        self.problems: list[Problem] = []
        self.rows: list[RosterRow] = []
        self.schools: dict[str, SchoolSpec] = {}
        self.classes: dict[str, ClassSpec] = {}
        self.districts: dict[str, DistrictSpec] = {}
        self.school_districts: dict[str, tuple[str, Where]] = {}
        """The district each school is put in, and the first row that says so."""
        self.seen: dict[tuple[str, str], Where] = {}
        """The first row of each (username, class)."""
        self.people: dict[str, RosterRow] = {}
        """The first row of each person."""
        self.student_years: dict[tuple[str, str], RosterRow] = {}
        """The row that put a student in a class of a school year."""
        self._where = Where("", 0)

    def problem(self, source: str, row: int | None, column: str | None, zh: str,
                en: str) -> None:
        self.problems.append(Problem(source, row, column, zh, en))

    def check_table(self, table: Table) -> None:
        positions, headers, problems = _header_keys(table)
        self.problems.extend(problems)
        if problems:
            return
        if not table.rows:
            self.problem(table.source, None, None, "只有列名，没有数据行",
                         "there are column headers but no data rows")
            return
        width = len(table.header)
        for offset, cells in enumerate(table.rows):
            number = table.first_row + offset
            if not any(cells):
                continue
            if len(cells) > width:
                self.problem(table.source, number, None,
                             f"有 {len(cells)} 个单元格，但只有 {width} 列",
                             f"has {len(cells)} cells but there are only {width} columns")
                continue
            values = {key: (cells[index] if index < len(cells) else "")
                      for key, index in positions.items()}
            self.check_row(table.source, number, values, headers)

    def check_row(self, source: str, number: int, values: dict[str, str],
                  headers: dict[str, str]) -> None:
        before = len(self.problems)
        self._where = Where(source, number)

        def bad(key: str, zh: str, en: str) -> None:
            column = headers.get(key) or next(c.zh for c in COLUMNS if c.key == key)
            self.problem(source, number, column, zh, en)

        username = values["username"]
        if not username:
            bad("username", "用户名不能为空", "the username is empty")
        elif problem := _identifier_problem(username, "用户名", "username", USERNAME,
                                            MAX_USERNAME):
            bad("username", *problem)
        display_name = values["display_name"]
        if problem := _display_name_problem(display_name):
            bad("display_name", *problem)
        role = ROLE_NAMES.get(values["role"].strip().lower()) or ROLE_NAMES.get(values["role"])
        if role is None:
            bad("role", f"未知的角色“{values['role']}”（学生、教师、学校管理员、区县管理员、"
                "区域管理员）", f"unknown role “{values['role']}” (student, teacher, "
                "school_admin, district_admin, region_admin)")
        district = self.check_district(values, bad)
        school = self.check_school(values, bad)
        if school and district:
            self.place_school(school, district, bad)
        class_id = self.check_class(values, role, school, bad)
        if role == Role.DISTRICT_ADMIN:
            if not values.get("district"):
                bad("district", "区县管理员必须填写区县代码", "a district admin needs a district")
            if values.get("school"):
                bad("school", "区县管理员不属于某一所学校，请留空",
                    "a district admin belongs to no single school; leave it empty")
        elif (role is not None and role != Role.REGION_ADMIN
              and not values.get("school")):
            bad("school", "除区域管理员和区县管理员外都要填写学校代码",
                "everyone except region and district admins needs a school")
        if role in (Role.STUDENT, Role.TEACHER) and not values.get("class"):
            bad("class", "学生和教师必须填写班级代码", "students and teachers need a class")
        if role in (Role.SCHOOL_ADMIN, Role.DISTRICT_ADMIN, Role.REGION_ADMIN) \
                and values.get("class"):
            bad("class", "管理员不属于班级，请留空", "admins do not belong to a class; leave "
                "it empty")
        if len(self.problems) > before or role is None:
            return
        self.check_person(RosterRow(source, number, username, display_name, role, school,
                                    class_id,
                                    district if role == Role.DISTRICT_ADMIN else ""), bad)

    def check_district(self, values: dict[str, str], bad) -> str:  # noqa: ANN001
        district = values.get("district", "")
        if not district:
            return ""
        if problem := _identifier_problem(district, "区县代码", "district id", IDENTIFIER,
                                          MAX_ID):
            bad("district", *problem)
            return ""
        name = values.get("district_name", "")
        if len(name) > MAX_NAME:
            bad("district_name", f"区县名称过长（最多 {MAX_NAME} 字）",
                f"the district name is too long (at most {MAX_NAME} characters)")
            return ""
        if (name and self.grantor.authority is not Authority.REGION
                and self.existing.districts.get(district) != name):
            bad("district_name", "区县只能由区域管理员创建或更名",
                "only the region admin creates or renames a district")
            return ""
        here = self._where
        earlier = self.districts.get(district)
        if name and earlier and earlier.name != name:
            bad("district_name", f"与{earlier.defined_at.zh(here.source)}的区县名称"
                f"“{earlier.name}”不一致", f"does not match the district name "
                f"“{earlier.name}” in {earlier.defined_at.en(here.source)}")
            return ""
        if name and not earlier:
            self.districts[district] = DistrictSpec(name, here)
        elif not name and not earlier and district not in self.existing.districts:
            bad("district", f"未知的区县“{district}”（新区县请填写区县名称）",
                f"unknown district “{district}” (give the district name to create it)")
            return ""
        return district

    def place_school(self, school: str, district: str, bad) -> None:  # noqa: ANN001
        """Put ``school`` in ``district``, unless another row put it elsewhere."""
        here = self._where
        earlier = self.school_districts.get(school)
        if earlier is None:
            self.school_districts[school] = (district, here)
        elif earlier[0] != district:
            bad("district", f"学校“{school}”在{earlier[1].zh(here.source)}属于区县"
                f"“{earlier[0]}”，不一致", f"school “{school}” is in district “{earlier[0]}” "
                f"in {earlier[1].en(here.source)}")

    def check_school(self, values: dict[str, str], bad) -> str:  # noqa: ANN001
        school = values.get("school", "")
        if not school:
            return ""
        if problem := _identifier_problem(school, "学校代码", "school id", IDENTIFIER, MAX_ID):
            bad("school", *problem)
            return ""
        name = values.get("school_name", "")
        locality_text = values.get("locality", "")
        stage_text = values.get("stage", "")
        locality = LOCALITIES.get(locality_text.lower()) if locality_text else None
        stage = STAGES.get(stage_text.lower()) if stage_text else None
        if locality_text and locality is None:
            bad("locality", f"城乡应为“城市”或“农村”，而不是“{locality_text}”",
                f"locality must be urban or rural, not “{locality_text}”")
        if stage_text and stage is None:
            bad("stage", f"学段应为小学、初中或高中，而不是“{stage_text}”",
                f"stage must be primary, junior or senior, not “{stage_text}”")
        if name and len(name) > MAX_NAME:
            bad("school_name", f"学校名称过长（最多 {MAX_NAME} 字）",
                f"the school name is too long (at most {MAX_NAME} characters)")
            return ""
        known = self.existing.schools.get(school)
        if name:
            here = self._where
            earlier = self.schools.get(school)
            if earlier and earlier.name != name:
                bad("school_name", f"与{earlier.defined_at.zh(here.source)}的学校名称"
                    f"“{earlier.name}”不一致", f"does not match the school name "
                    f"“{earlier.name}” in {earlier.defined_at.en(here.source)}")
            elif not earlier:
                self.schools[school] = SchoolSpec(
                    name, locality or (known.locality if known else "urban"),
                    stage or (known.stage if known else ""), defined_at=here)
        elif known is None and school not in self.schools:
            bad("school", f"未知的学校“{school}”（新学校请填写学校名称）",
                f"unknown school “{school}” (give the school name to create it)")
            return ""
        return school

    def check_class(self, values: dict[str, str], role: Role | None, school: str,
                    bad) -> str:  # noqa: ANN001
        class_id = values.get("class", "")
        if not class_id:
            return ""
        if problem := _identifier_problem(class_id, "班级代码", "class id", IDENTIFIER, MAX_ID):
            bad("class", *problem)
            return ""
        if class_id.startswith(COHORT_CLASS_PREFIX):
            bad("class", f"班级代码不能以“{COHORT_CLASS_PREFIX}”开头（留给教师研修班）",
                f"a class id may not begin with “{COHORT_CLASS_PREFIX}” (kept for training "
                "cohorts)")
            return ""
        name, year_text, grade_text = (values.get("class_name", ""),
                                       values.get("school_year", ""), values.get("grade", ""))
        grade = None
        if grade_text:
            try:
                grade = int(grade_text)
            except ValueError:
                grade = None
            if grade is None or not 1 <= grade <= 12:
                bad("grade", f"年级必须是 1 到 12 的整数，而不是“{grade_text}”",
                    f"the grade must be a whole number from 1 to 12, not “{grade_text}”")
                return ""
        if year_text:
            match = SCHOOL_YEAR.fullmatch(year_text)
            if not match or int(match.group(2)) != int(match.group(1)) + 1:
                bad("school_year", f"学年应形如 2026-2027，而不是“{year_text}”",
                    f"the school year must look like 2026-2027, not “{year_text}”")
                return ""
        if name and len(name) > MAX_NAME:
            bad("class_name", f"班级名称过长（最多 {MAX_NAME} 字）",
                f"the class name is too long (at most {MAX_NAME} characters)")
            return ""
        known = self.existing.classes.get(class_id)
        earlier = self.classes.get(class_id)
        if known is None and earlier is None:
            missing = [k for k, v in (("class_name", name), ("school_year", year_text),
                                      ("grade", grade_text)) if not v]
            if missing:
                bad("class", f"未知的班级“{class_id}”（新班级请填写班级名称、学年和年级）",
                    f"unknown class “{class_id}” (give its name, school year and grade to "
                    "create it)")
                return ""
        reference = earlier or known
        spec = ClassSpec(school, name or (reference.name if reference else ""),
                         year_text or (reference.school_year if reference else ""),
                         grade if grade is not None else (reference.grade if reference else 0),
                         defined_at=self._where)
        if reference is not None:
            here = self._where.source
            where_zh = earlier.defined_at.zh(here) if earlier else "已有的班级"
            where_en = earlier.defined_at.en(here) if earlier else "the existing class"
            for key, mine, theirs in (("school", spec.school, reference.school),
                                      ("school_year", spec.school_year, reference.school_year),
                                      ("grade", spec.grade, reference.grade)):
                if school and mine != theirs:
                    bad(key, f"班级“{class_id}”与{where_zh}不一致（{theirs}）",
                        f"class “{class_id}” does not match {where_en} ({theirs})")
                    return ""
            if earlier and spec.name != reference.name:
                bad("class_name", f"班级“{class_id}”与{where_zh}的名称不一致",
                    f"class “{class_id}” has a different name in {where_en}")
                return ""
        if earlier is None and school:
            self.classes[class_id] = spec
        return class_id


    def check_person(self, row: RosterRow, bad) -> None:  # noqa: ANN001
        here = row.source
        key = (row.username, row.class_id)
        if key in self.seen:
            first = self.seen[key]
            bad("username", f"用户名“{row.username}”重复（第一次出现在{first.zh(here)}）",
                f"duplicate username “{row.username}” (first in {first.en(here)})")
            return
        self.seen[key] = row.where
        earlier = self.people.get(row.username)
        if earlier is not None:
            first = earlier.where
            if earlier.role != row.role:
                bad("role", f"与{first.zh(here)}的角色不一致",
                    f"does not match the role in {first.en(here)}")
                return
            if earlier.display_name != row.display_name:
                bad("display_name", f"与{first.zh(here)}的姓名不一致",
                    f"does not match the name in {first.en(here)}")
                return
            if row.role in (Role.SCHOOL_ADMIN, Role.REGION_ADMIN):
                bad("username", f"用户名“{row.username}”重复（第一次出现在{first.zh(here)}）",
                    f"duplicate username “{row.username}” (first in {first.en(here)})")
                return
        else:
            self.people[row.username] = row
        known = self.existing.people.get(row.username)
        try:
            check_grant(self.grantor, row.username,
                        Standing(known.role, known.school) if known else None,
                        Standing(row.role, row.school or None))
            if self.school_districts and row.school in self.school_districts:
                self.check_placement_grant(row.school)
        except GrantRefused as refused:
            bad(refused.column, refused.zh, refused.en)
            return
        if row.role == Role.STUDENT:
            school_class = self.classes.get(row.class_id) or self.existing.classes[row.class_id]
            year = school_class.school_year
            other = self.student_years.get((row.username, year))
            if other is not None:
                bad("class", f"学生“{row.username}”在 {year} 学年同时属于两个班级（另见"
                    f"{other.where.zh(here)}的“{other.class_id}”）", f"student “{row.username}” "
                    f"is in two classes of school year {year} (see {other.where.en(here)}, "
                    f"class “{other.class_id}”)")
                return
            self.student_years[(row.username, year)] = row
        self.rows.append(row)


    def check_placement_grant(self, school: str) -> None:
        """Moving a school between districts is the region's: a school admin's row that
        names a district must name the one their school is already in."""
        district, _where = self.school_districts[school]
        if self.grantor.authority is Authority.REGION:
            return
        known = self.existing.schools.get(school)
        if known is None or known.district_id != district:
            raise GrantRefused("district", "学校的区县只能由区域管理员设置",
                               "only the region admin sets a school's district")


def validate(tables: Iterable[Table], session: Session, *, grantor: Grantor,
             existing: _Existing | None = None
             ) -> tuple[list[RosterRow], dict[str, SchoolSpec], dict[str, ClassSpec]]:
    """Check every row of every table against each other, the database and what ``grantor``
    may grant (:func:`hub.org.grants.check_grant`); raise on problems."""
    validator = _Validator(existing or _Existing.load(session), grantor)
    for table in tables:
        validator.check_table(table)
    if validator.problems:
        raise RosterError(validator.problems)
    return validator.rows, validator.schools, validator.classes


def _apply_districts(session: Session, validator: _Validator, region_id: str,
                     region_name: str, report: ImportReport) -> None:
    if (validator.districts or validator.schools) and session.get(Region, region_id) is None:
        session.add(Region(id=region_id, name=region_name))
        session.flush()
    for district_id, spec in validator.districts.items():
        district = session.get(District, district_id)
        if district is None:
            session.add(District(id=district_id, region_id=region_id, name=spec.name))
            report.districts_created += 1
        else:
            district.name = spec.name
    session.flush()


def _place_schools(session: Session, validator: _Validator, report: ImportReport) -> None:
    for school_id, (district_id, _where) in validator.school_districts.items():
        school = session.get(School, school_id)
        if school is not None and school.district_id != district_id:
            report.schools_updated += school_id in validator.existing.schools
            school.district_id = district_id
    session.flush()


def read_tables(paths: Iterable[Path]) -> list[Table]:
    """Read every file, reporting every unreadable one at once."""
    tables, problems = [], []
    for path in paths:
        try:
            tables.append(read_table(path))
        except TableError as exc:
            problems.append(Problem(exc.source or path.name, None, None, exc.zh, exc.en))
    if problems:
        raise RosterError(problems)
    return tables


def _chunks(items: list, size: int = 500) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _apply_schools(session: Session, schools: dict[str, SchoolSpec],
                   classes: dict[str, ClassSpec], region_id: str, region_name: str,
                   report: ImportReport) -> None:
    if schools and session.get(Region, region_id) is None:
        session.add(Region(id=region_id, name=region_name))
        session.flush()
    grades: dict[str, list[int]] = defaultdict(list)
    for spec in classes.values():
        grades[spec.school].append(spec.grade)
    for school_id, spec in schools.items():
        school = session.get(School, school_id)
        stage = spec.stage or _stage_for_grade(max(grades.get(school_id) or [10]))
        if school is None:
            session.add(School(id=school_id, region_id=region_id, name=spec.name,
                               locality=spec.locality, stage=stage))
            report.schools_created += 1
        elif (school.name, school.locality, school.stage) != (spec.name, spec.locality,
                                                               stage):
            school.name, school.locality, school.stage = spec.name, spec.locality, stage
            report.schools_updated += 1
    session.flush()


def _apply_classes(session: Session, classes: dict[str, ClassSpec], existing: _Existing,
                   report: ImportReport) -> None:
    new = []
    for class_id, spec in classes.items():
        known = existing.classes.get(class_id)
        if known is None:
            new.append({"id": class_id, "school_id": spec.school, "name": spec.name,
                        "school_year": spec.school_year, "grade": spec.grade})
        elif known.name != spec.name:
            session.execute(update(SchoolClass).where(SchoolClass.id == class_id)
                            .values(name=spec.name))
            report.classes_updated += 1
    if new:
        session.execute(insert(SchoolClass), new)
    report.classes_created += len(new)


def _person_changes(known: KnownPerson, wanted: KnownPerson) -> list[str]:
    """The names of the fields that differ (not their values: a name is one of them)."""
    fields = (("display_name", known.display_name, wanted.display_name),
              ("role", known.role, wanted.role), ("school", known.school, wanted.school),
              ("district", known.district, wanted.district))
    return [name for name, before, after in fields if before != after]


def _apply_people(session: Session, rows: list[RosterRow], existing: _Existing,
                  report: ImportReport, trail: list[AuditEntry]) -> None:
    new, seen = [], set()
    for row in rows:
        if row.username in seen:
            continue
        seen.add(row.username)
        wanted = KnownPerson(row.display_name, row.role.value, row.school or None,
                             row.district or None)
        known = existing.people.get(row.username)
        if known is None:
            new.append({"username": row.username, "display_name": row.display_name,
                        "role": row.role.value, "school_id": row.school or None,
                        "district_id": row.district or None})
            key = row.class_id if row.role == Role.STUDENT else STAFF
            report.new_accounts.setdefault(key, []).append(row.username)
            trail.append(AuditEntry("", "person.created", row.username, row.school,
                                    row.class_id, detail={"role": row.role.value}))
        elif known != wanted:
            trail.append(AuditEntry("", "person.changed", row.username, row.school,
                                    detail={"fields": _person_changes(known, wanted)}))
            if known.role != wanted.role:
                trail.append(AuditEntry("", "role.changed", row.username, row.school,
                                        detail={"from": known.role, "to": wanted.role}))
            session.execute(update(Person).where(Person.username == row.username).values(
                display_name=row.display_name, role=row.role.value,
                school_id=row.school or None, district_id=row.district or None))
            report.people_updated += 1
    for chunk in _chunks(new, 5000):
        session.execute(insert(Person), chunk)
    report.people_created += len(new)


def _apply_enrollments(session: Session, rows: list[RosterRow], report: ImportReport,
                       trail: list[AuditEntry]) -> None:
    desired: dict[str, dict[str, str]] = defaultdict(dict)
    for row in rows:
        if row.class_id:
            enrolled_as = Role.TEACHER if row.role == Role.TEACHER else Role.STUDENT
            desired[row.class_id][row.username] = enrolled_as.value
    years = dict(session.execute(select(SchoolClass.id, SchoolClass.school_year)).all())
    schools = dict(session.execute(select(SchoolClass.id, SchoolClass.school_id)).all())

    def audit(username: str, class_id: str, change: str, role: str) -> None:
        trail.append(AuditEntry("", "person.changed", username, schools[class_id], class_id,
                                detail={change: class_id, "as": role}))
    student_years = {(row.username, years[row.class_id]) for row in rows
                     if row.role == Role.STUDENT}
    existing: dict[tuple[str, str], Row] = {}
    removals = []
    for enrollment in session.execute(
            select(Enrollment.id, Enrollment.class_id, Enrollment.username, Enrollment.role)):
        class_id, username = enrollment.class_id, enrollment.username
        if class_id in desired:
            if username not in desired[class_id]:
                removals.append(enrollment.id)
                audit(username, class_id, "left", enrollment.role)
            else:
                existing[(class_id, username)] = enrollment
        elif (enrollment.role == Role.STUDENT
              and (username, years[class_id]) in student_years):
            removals.append(enrollment.id)
            audit(username, class_id, "left", enrollment.role)
    additions = []
    for class_id, members in desired.items():
        for username, role in members.items():
            known = existing.get((class_id, username))
            if known is None:
                additions.append({"class_id": class_id, "username": username, "role": role})
                audit(username, class_id, "joined", role)
            elif known.role != role:
                audit(username, class_id, "joined", role)
                session.execute(update(Enrollment).where(Enrollment.id == known.id)
                                .values(role=role))
                report.enrollments_added += 1
                report.enrollments_removed += 1
    for chunk in _chunks(removals):
        session.execute(delete(Enrollment).where(Enrollment.id.in_(chunk)))
    for chunk in _chunks(additions, 5000):
        session.execute(insert(Enrollment), chunk)
    report.enrollments_added += len(additions)
    report.enrollments_removed += len(removals)


def apply_roster(session: Session, tables: list[Table], region_id: str,
                 region_name: str, *, grantor: Grantor, source: str = "") -> ImportReport:
    """Validate ``tables`` as ``grantor``'s and apply them in ``session``; raise
    :class:`RosterError` first. ``source`` is the uploader's address, for the audit trail."""
    existing = _Existing.load(session)
    validator = _Validator(existing, grantor)
    for table in tables:
        validator.check_table(table)
    if validator.problems:
        raise RosterError(validator.problems)
    rows, schools, classes = validator.rows, validator.schools, validator.classes
    report = ImportReport(rows=len(rows))
    _apply_districts(session, validator, region_id, region_name, report)
    _apply_schools(session, schools, classes, region_id, region_name, report)
    _place_schools(session, validator, report)
    _apply_classes(session, classes, existing, report)
    trail: list[AuditEntry] = []
    _apply_people(session, rows, existing, report, trail)
    session.flush()
    _apply_enrollments(session, rows, report, trail)
    session.flush()
    actor = grantor.username or ""
    counts = {name: value for name, value in vars(report).items() if isinstance(value, int)}
    record_many(session, [
        AuditEntry(actor, "roster.import", school=grantor.school or "", source=source,
                   detail={"files": [Path(table.source).name for table in tables], **counts}),
        *(replace(entry, actor=actor, source=source) for entry in trail)])
    return report
