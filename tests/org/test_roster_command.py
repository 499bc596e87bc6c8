"""``aiclass roster template`` and ``aiclass roster slips`` as an admin runs them: the
installed command, in a process of its own, on a data dir with the template imported.

Are the templates the ones the import reads (headers first, Chinese)? Does a class's slips
hold exactly that class's students, each with a password that signs in (the stored hash
verifies it), nobody from the class next door, and are the files private to their owner?
"""

from __future__ import annotations

import csv
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from hub.db import ServiceDatabase
from hub.org.credentials import verify_password
from hub.org.models import Credential
from hub.settings import load_settings
from tests.org.rosterfiles import TEMPLATE_CSV, template_rows

AICLASS = Path(sys.executable).parent / "aiclass"
CLASS, NEIGHBOUR = "s1-2026-g10c1", "s1-2026-g10c2"


def aiclass(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(AICLASS), *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def roster_people(class_id: str, role: str) -> dict[str, str]:
    """username → name of the template's ``role`` rows in ``class_id``."""
    header, *rows = template_rows()
    column = {name: index for index, name in enumerate(header)}
    return {row[column["用户名"]]: row[column["姓名"]] for row in rows
            if row[column["班级代码"]] == class_id and row[column["角色"]] == role}


def stored_hashes(data_dir: Path, usernames: object) -> dict[str, str | None]:
    """username → stored password hash (None: no password yet), from the service database."""
    database = ServiceDatabase(load_settings(data_dir).database_url)
    try:
        with database.session() as session:
            credentials = {name: session.get(Credential, name) for name in usernames}
            return {name: c.password_hash if c else None for name, c in credentials.items()}
    finally:
        database.engine.dispose()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with the shipped template imported, no hub running."""
    data = tmp_path_factory.mktemp("roster-data")
    imported = aiclass("roster", "import", TEMPLATE_CSV, "--no-mirror", "--data", data)
    assert imported.returncode == 0, imported.stderr
    return data


def test_template_writes_both_files_with_the_import_headers(tmp_path: Path) -> None:
    out = tmp_path / "templates"
    done = aiclass("roster", "template", "--out", out)
    assert done.returncode == 0, done.stderr
    written = sorted(path.name for path in out.iterdir())
    assert written == ["roster-template.csv", "roster-template.xlsx"]
    assert done.stdout.split() == [str(out / name) for name in written]

    with (out / "roster-template.csv").open(encoding="utf-8-sig", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    assert header[:2] == ["学校代码", "学校名称"]
    assert {"班级代码", "用户名", "姓名", "角色"} <= set(header)
    assert rows, "the template has example rows to follow"
    sheet = load_workbook(out / "roster-template.xlsx", read_only=True).active
    first = [cell for cell in next(sheet.iter_rows(max_row=1, values_only=True)) if cell]
    assert first == header, "the CSV and XLSX templates name the same columns"


def test_the_written_template_imports(tmp_path: Path) -> None:
    """What ``template`` writes is a roster ``import`` accepts as it is."""
    assert aiclass("roster", "template", "--out", tmp_path).returncode == 0
    data = tmp_path / "data"
    data.mkdir()
    checked = aiclass("roster", "import", tmp_path / "roster-template.csv", "--dry-run",
                      "--data", data)
    assert checked.returncode == 0, checked.stderr
    assert "dry run" in checked.stdout


def test_slips_hold_the_class_and_only_the_class(data_dir: Path, tmp_path: Path) -> None:
    students, neighbours = roster_people(CLASS, "学生"), roster_people(NEIGHBOUR, "学生")
    assert students and neighbours
    before = stored_hashes(data_dir, neighbours)
    out = tmp_path / "slips"
    done = aiclass("roster", "slips", CLASS, "--data", data_dir, "--out", out)
    assert done.returncode == 0, done.stderr
    assert f"{len(students)} 名学生，新初始密码 {len(students)} 个" in done.stdout

    slips_csv, slips_html = out / f"{CLASS}-slips.csv", out / f"{CLASS}-slips.html"
    with slips_csv.open(encoding="utf-8-sig", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    assert header == ["用户名", "姓名", "初始密码", "登录地址"]
    assert {row[0]: row[1] for row in rows} == students
    page = slips_html.read_text(encoding="utf-8")
    for username, name in students.items():
        assert username in page and name in page
    for username, name in neighbours.items():
        assert username not in page and name not in page
    for path in (slips_csv, slips_html):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, f"{path.name} readable by others"

    hashes = stored_hashes(data_dir, students)
    for username, _name, password, _url in rows:
        assert verify_password(hashes[username], password), f"{username}'s slip does not sign in"
    assert stored_hashes(data_dir, neighbours) == before, "the class next door was changed"


def test_slips_again_replace_the_passwords(data_dir: Path, tmp_path: Path) -> None:
    """A lost slip is replaced by printing again: the old password stops working."""
    def passwords(out: Path) -> dict[str, str]:
        assert aiclass("roster", "slips", CLASS, "--data", data_dir, "--out", out).returncode == 0
        with (out / f"{CLASS}-slips.csv").open(encoding="utf-8-sig", newline="") as handle:
            return {row[0]: row[2] for row in list(csv.reader(handle))[1:]}

    first, second = passwords(tmp_path / "a"), passwords(tmp_path / "b")
    assert first.keys() == second.keys()
    for username, stored in stored_hashes(data_dir, first).items():
        assert verify_password(stored, second[username])
        assert not verify_password(stored, first[username])


def test_slips_of_an_unknown_class_are_status_1_and_write_nothing(data_dir: Path,
                                                                  tmp_path: Path) -> None:
    out = tmp_path / "slips"
    done = aiclass("roster", "slips", "no-such-class", "--data", data_dir, "--out", out)
    assert done.returncode == 1
    assert "未知的班级 / unknown class: no-such-class" in done.stderr
    assert not out.exists()
