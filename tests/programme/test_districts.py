"""The district tier against a real SQLite service database: roster files with and without
the district columns, bad district rows, the hub groups and scoped roles districts make."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from hub.db import ServiceDatabase
from hub.org.directory import hub_groups, hub_roles
from hub.org.grants import REGION_OPERATOR, Grantor
from hub.org.models import District, Person, School
from hub.org.roster import ImportReport, RosterError, apply_roster, read_tables
from tests.org.rosterfiles import TEMPLATE_CSV, TEMPLATE_XLSX, template_rows, write_csv

OLD_COLUMNS = 11
"""The template's columns before districts: such files must still import."""


@pytest.fixture
def database(tmp_path: Path) -> ServiceDatabase:
    database = ServiceDatabase(f"sqlite:///{tmp_path / 'aiclass.sqlite'}")
    yield database
    database.engine.dispose()


def import_files(database: ServiceDatabase, *paths: Path,
                 grantor: Grantor = REGION_OPERATOR) -> ImportReport:
    with database.session() as session:
        return apply_roster(session, read_tables(paths), "region", "本区域", grantor=grantor)


def districts_of_schools(database: ServiceDatabase) -> dict[str, str | None]:
    with database.session() as session:
        return dict(session.execute(select(School.id, School.district_id)).all())


def test_the_template_puts_schools_in_districts_and_a_district_admin_gets_scoped_access(
        database: ServiceDatabase, tmp_path: Path) -> None:
    report = import_files(database, TEMPLATE_CSV)
    assert report.districts_created == 2
    assert districts_of_schools(database) == {"sample-s1": "sample-d1",
                                              "sample-s2": "sample-d2"}
    assert not import_files(database, TEMPLATE_XLSX).changed
    rows = template_rows()
    admin = [""] * len(rows[0])
    admin[8:11] = ["dadm-q7x2m", "钱区长", "区县管理员"]
    admin[11] = "sample-d1"
    import_files(database, write_csv(tmp_path / "district-admin.csv", [rows[0], admin]))
    with database.session() as session:
        person = session.get(Person, "dadm-q7x2m")
        assert (person.role, person.district_id, person.school_id) == (
            "district_admin", "sample-d1", None)
        groups = hub_groups(session)
        roles = {role["name"]: role for role in hub_roles(session)}
    assert groups["district-sample-d1"] == groups["school-sample-s1"]
    assert len(groups["district-sample-d1"]) == 5
    assert groups["district-sample-d2"] == groups["school-sample-s2"]
    scopes = roles["aiclass-district-admin-dadm-q7x2m"]["scopes"]
    assert scopes and all(scope.endswith("!group=district-sample-d1") for scope in scopes)


def test_a_roster_without_the_district_columns_still_imports(database: ServiceDatabase,
                                                            tmp_path: Path) -> None:
    rows = [row[:OLD_COLUMNS] for row in template_rows()]
    report = import_files(database, write_csv(tmp_path / "old.csv", rows))
    assert (report.schools_created, report.people_created, report.districts_created) == (2, 10, 0)
    assert districts_of_schools(database) == {"sample-s1": None, "sample-s2": None}
    import_files(database, TEMPLATE_CSV)
    assert districts_of_schools(database)["sample-s2"] == "sample-d2"
    import_files(database, write_csv(tmp_path / "old-again.csv", rows))
    assert districts_of_schools(database)["sample-s2"] == "sample-d2", \
        "a file without districts must leave the schools' districts alone"


@pytest.mark.parametrize(("district", "name", "column", "message"), [
    ("Bad District", "坏区", "区县代码", "只能由小写英文字母"),
    ("sample-d9", "", "区县代码", "未知的区县"),
    ("sample-d1", "另一个名字", "区县名称", "不一致"),
])
def test_a_bad_district_row_names_its_row_and_column_and_changes_nothing(
        database: ServiceDatabase, tmp_path: Path, district: str, name: str, column: str,
        message: str) -> None:
    rows = template_rows()
    rows[5][11:13] = [district, name]
    with pytest.raises(RosterError) as refused:
        import_files(database, write_csv(tmp_path / "bad.csv", rows))
    problem = refused.value.problems[0]
    assert (problem.row, problem.column) == (6, column), problem
    assert message in problem.zh
    with database.session() as session:
        assert session.scalars(select(District)).all() == []
        assert session.scalars(select(School)).all() == []


def test_a_school_in_two_districts_is_refused(database: ServiceDatabase,
                                              tmp_path: Path) -> None:
    rows = template_rows()
    rows[3][11:13] = ["sample-d2", "样例县"]
    with pytest.raises(RosterError) as refused:
        import_files(database, write_csv(tmp_path / "two.csv", rows))
    assert refused.value.problems[0].row == 4
    assert "sample-d1" in refused.value.problems[0].zh


def test_a_school_admin_cannot_move_their_school_or_rename_a_district(
        database: ServiceDatabase, tmp_path: Path) -> None:
    import_files(database, TEMPLATE_CSV)
    school_admin = Grantor.person("sadm-x7k2m", "school_admin", "sample-s1")
    rows = template_rows()
    own = [row for row in rows[1:] if row[0] == "sample-s1" and row[10] in ("学生", "教师")]
    for change, column in ((["sample-d2", ""], "区县代码"), (["sample-d1", "改名市"], "区县名称")):
        edited = [row[:11] + change for row in own]
        with pytest.raises(RosterError) as refused:
            import_files(database, write_csv(tmp_path / "move.csv", [rows[0], *edited]),
                         grantor=school_admin)
        assert refused.value.problems[0].column == column
    assert districts_of_schools(database)["sample-s1"] == "sample-d1"
    with database.session() as session:
        assert session.get(District, "sample-d1").name == "样例市"
    unchanged = [row[:11] + ["sample-d1", ""] for row in own]
    assert not import_files(database, write_csv(tmp_path / "same.csv", [rows[0], *unchanged]),
                            grantor=school_admin).changed
