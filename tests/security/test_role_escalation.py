"""A school admin tries to grant upwards through the roster; the real hub refuses.

The uploader is a school admin of the demo region's first school, signed in on the real
hub through the login form. Each attack is a CSV sent through the roster page's form the
way they would (their XSRF value, their cookies): a harmless first row, then the row that
tries to escalate. The answer must name the file and the attacking row, and the service
database must be exactly as before (the harmless row is not applied either). The same
files from the region admin, and from the operator's ``aiclass roster import``, apply.
"""

from __future__ import annotations

import html
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.hub.hubprocess import RunningHub, running_hub
from tests.org.orghub import aiclass, new_password
from tests.pages.pagesession import PagePerson, sign_in

pytestmark = pytest.mark.integration

HEADER = "学校代码,学校名称,城乡,学段,班级代码,班级名称,学年,年级,用户名,姓名,角色\n"
UPLOADER = "sadm-demo1"
OWN_CLASS = "demo-s1-g10c1"
OTHER_CLASS = "demo-s2-g8c1"
HARMLESS = f"demo-s1,,,,{OWN_CLASS},,,,stu-decoy,新同学,学生\n"
"""Row 2 of every attack: a new student of the uploader's own school, allowed on its own."""


@dataclass
class Region:
    hub: RunningHub
    school_admin: PagePerson
    region_admin: PagePerson
    region_admin_name: str
    other_teacher: str
    other_student: str
    own_teacher: str

    def people(self) -> dict[str, tuple[str, str | None]]:
        return {username: (role, school) for username, role, school in self.rows(
            "SELECT username, role, school_id FROM people")}

    def snapshot(self) -> dict[str, list[tuple]]:
        """Everything a roster changes, straight from the service database."""
        return {table: sorted(self.rows(query)) for table, query in (
            ("people", "SELECT username, display_name, role, school_id FROM people"),
            ("enrollments", "SELECT class_id, username, role FROM enrollments"),
            ("classes", "SELECT id, school_id, name, school_year, grade FROM classes"),
            ("schools", "SELECT id, name, locality, stage FROM schools"))}

    def rows(self, query: str) -> list[tuple]:
        database = self.hub.data_dir / "aiclass.sqlite"
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            return connection.execute(query).fetchall()


@pytest.fixture(scope="module")
def region() -> Iterator[Region]:
    with running_hub("aiclass-escalation-", "[demo]\nstudents = 6\n") as hub:
        base = hub.data_dir.parent
        admin_row = base / "school-admin.csv"
        admin_row.write_text(HEADER + f"demo-s1,,,,,,,,{UPLOADER},周建国,学校管理员\n",
                             encoding="utf-8")
        created = aiclass(hub, "roster", "import", admin_row)
        assert created.returncode == 0, created.stderr
        uploader = {"username": UPLOADER, "password": new_password(hub, UPLOADER)}
        region_admin = hub.account("region_admin")
        teachers = {a["school"]: a["username"] for a in hub.accounts if a["role"] == "teacher"}
        other_student = next(a["username"] for a in hub.accounts
                             if a["role"] == "student" and a["class"] == OTHER_CLASS)
        yield Region(hub, sign_in(hub, uploader), sign_in(hub, region_admin),
                     region_admin["username"], teachers["demo-s2"], other_student,
                     teachers["demo-s1"])


def upload(person: PagePerson, text: str, name: str = "escalate.csv") -> requests.Response:
    """Send a file through the roster form as a browser does (``_xsrf`` in its action URL)."""
    xsrf = person.form_xsrf("roster")
    return person.post("roster", {"_xsrf": xsrf, "action": "dry_run"}, params={"_xsrf": xsrf},
                       files={"roster": (name, text.encode("utf-8"))})


def apply(person: PagePerson, checked: requests.Response) -> requests.Response:
    """Press the checked page's apply button."""
    token = re.search(r'name="upload" value="([^"]+)"', checked.text)
    assert token, checked.text[-2000:]
    xsrf = person.form_xsrf("roster")
    return person.post("roster", {"_xsrf": xsrf, "action": "apply", "upload": token.group(1)},
                       params={"_xsrf": xsrf})


def problems(page: requests.Response) -> list[tuple[str, str, str, str]]:
    """The problem table's rows: file, row, column, message."""
    table = re.search(r'<table class="grid" id="problem-rows">(.*?)</table>', page.text, re.S)
    assert table, page.text[-2000:]
    return [tuple(html.unescape(cell) for cell in row) for row in re.findall(
        r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", table.group(1))]


ATTACKS = {
    "make self region admin": (lambda r: f"demo-s1,,,,,,,,{UPLOADER},周建国,区域管理员\n",
                               "用户名", "不能更改你自己的账号"),
    "change own role to teacher": (lambda r: f"demo-s1,,,,{OWN_CLASS},,,,{UPLOADER},周建国,教师\n",
                                   "用户名", "不能更改你自己的账号"),
    "demote the region admin": (lambda r: f"demo-s1,,,,{OWN_CLASS},,,,{r.region_admin_name},"
                                          "王五,学生\n", "用户名", "是管理员账号"),
    "steal another school's teacher": (lambda r: f"demo-s1,,,,{OWN_CLASS},,,,{r.other_teacher},"
                                                 "赵老师,教师\n", "用户名", "属于另一所学校"),
    "create a school admin": (lambda r: "demo-s1,,,,,,,,sadm-friend,钱多多,学校管理员\n",
                              "角色", "只能设置学生和教师"),
    "create a region admin": (lambda r: ",,,,,,,,adm-friend,钱多多,区域管理员\n",
                              "角色", "只能设置学生和教师"),
    "move another school's student in": (lambda r: f"demo-s1,,,,{OWN_CLASS},,,,"
                                                   f"{r.other_student},孙同学,学生\n",
                                         "用户名", "属于另一所学校"),
    "rewrite another school's class list": (lambda r: f"demo-s2,,,,{OTHER_CLASS},,,,"
                                                      f"{r.other_student},孙同学,学生\n",
                                            "用户名", "属于另一所学校"),
    "create a student in another school": (lambda r: f"demo-s2,,,,{OTHER_CLASS},,,,stu-planted,"
                                                     "孙同学,学生\n", "学校代码", "只能导入本校"),
}


@pytest.mark.parametrize("attack", ATTACKS)
def test_a_school_admin_cannot_grant_upwards_or_outside_their_school(region: Region,
                                                                     attack: str) -> None:
    """Is each escalating row refused by name, with nothing of its file applied?"""
    row, column, words = ATTACKS[attack]
    before = region.snapshot()
    refused = upload(region.school_admin, HEADER + HARMLESS + row(region))
    assert refused.status_code == 422, refused.text[-2000:]
    assert 'id="apply-form"' not in refused.text
    [(source, number, named_column, message)] = problems(refused)
    assert (source, number, named_column) == ("escalate.csv", "3", column)
    assert words in message
    assert region.snapshot() == before
    assert "stu-decoy" not in region.people()


def test_after_the_attacks_the_pages_still_see_the_old_roles(region: Region) -> None:
    """Does a later page show the uploader still a school admin and the region admin still one?"""
    assert region.school_admin.get("region").status_code == 403
    assert region.region_admin.get("region").status_code == 200
    people = region.people()
    assert people[UPLOADER] == ("school_admin", "demo-s1")
    assert people[region.region_admin_name] == ("region_admin", None)
    assert people[region.other_teacher] == ("teacher", "demo-s2")
    assert people[region.other_student] == ("student", "demo-s2")


def test_the_harmless_row_alone_applies(region: Region) -> None:
    """Is a school admin's own student still theirs to create (the refusals are not blanket)?"""
    checked = upload(region.school_admin, HEADER + HARMLESS)
    assert checked.status_code == 200, checked.text[-2000:]
    applied = apply(region.school_admin, checked)
    assert applied.status_code == 200 and 'id="roster-summary"' in applied.text
    assert region.people()["stu-decoy"] == ("student", "demo-s1")


def test_a_row_checked_then_moved_away_is_refused_at_apply(region: Region,
                                                           tmp_path: Path) -> None:
    """Does applying re-check the rule, so a teacher moved to another school after the dry
    run is not pulled back by the school admin's confirmation?"""
    row = f"demo-s1,,,,{OWN_CLASS},,,,{region.own_teacher},李老师,教师\n"
    checked = upload(region.school_admin, HEADER + row)
    assert checked.status_code == 200, checked.text[-2000:]
    moved = tmp_path / "move.csv"
    moved.write_text(HEADER + f"demo-s2,,,,{OTHER_CLASS},,,,{region.own_teacher},李老师,教师\n",
                     encoding="utf-8")
    result = aiclass(region.hub, "roster", "import", moved, "--no-mirror")
    assert result.returncode == 0, result.stderr
    before = region.snapshot()
    refused = apply(region.school_admin, checked)
    assert refused.status_code == 422
    [(_source, number, _column, message)] = problems(refused)
    assert number == "2" and "属于另一所学校" in message
    assert region.snapshot() == before


def test_the_cli_for_a_school_refuses_the_same_rows(region: Region, tmp_path: Path) -> None:
    """Does ``aiclass roster import --school`` hold a school's file to its admin's rule, naming
    the file and row, and change nothing?"""
    before = region.snapshot()
    for attack, (row, _column, _words) in ATTACKS.items():
        path = tmp_path / "school-file.csv"
        path.write_text(HEADER + HARMLESS + row(region), encoding="utf-8")
        result = aiclass(region.hub, "roster", "import", path, "--school", "demo-s1",
                         "--no-mirror")
        assert result.returncode == 1, attack
        assert "school-file.csv row 3" in result.stderr, (attack, result.stderr)
        assert "row 2" not in result.stderr, attack
    assert region.snapshot() == before
    unknown = aiclass(region.hub, "roster", "import", path, "--school", "no-such-school")
    assert unknown.returncode == 2 and "unknown school" in unknown.stderr


def test_the_region_admin_may_do_all_of_it(region: Region) -> None:
    """Do the same escalating rows apply when the region admin uploads them?"""
    rows = (f",,,,,,,,{UPLOADER},周建国,区域管理员\n"
            f"demo-s1,,,,{OWN_CLASS},,,,{region.other_teacher},赵老师,教师\n"
            "demo-s2,,,,,,,,sadm-friend,钱多多,学校管理员\n"
            f"demo-s1,,,,{OWN_CLASS},,,,{region.other_student},孙同学,学生\n")
    checked = upload(region.region_admin, HEADER + rows)
    assert checked.status_code == 200, checked.text[-2000:]
    assert apply(region.region_admin, checked).status_code == 200
    people = region.people()
    assert people[UPLOADER] == ("region_admin", None)
    assert people[region.other_teacher] == ("teacher", "demo-s1")
    assert people["sadm-friend"] == ("school_admin", "demo-s2")
    assert people[region.other_student] == ("student", "demo-s1")
    assert region.school_admin.get("region").status_code == 200


def test_the_operator_cli_is_region_level(region: Region, tmp_path: Path) -> None:
    """Does the operator's import, without ``--school``, apply an admin row (it acts for the
    region: whoever runs it can already write the database)?"""
    path = tmp_path / "operator.csv"
    path.write_text(HEADER + "demo-s1,,,,,,,,sadm-second,吴老师,学校管理员\n", encoding="utf-8")
    result = aiclass(region.hub, "roster", "import", path, "--no-mirror")
    assert result.returncode == 0, result.stderr
    assert region.people()["sadm-second"] == ("school_admin", "demo-s1")
