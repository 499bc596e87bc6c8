"""The ``aiclass`` command line: one exit status per kind of error, whichever command met it."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.cli import exit_status, main
from hub.org.roster import RosterError
from hub.settings import SettingsError

TEMPLATE = Path(__file__).resolve().parents[2] / "hub" / "org" / "templates" / "roster-template.csv"


@pytest.mark.parametrize("command", [["roster", "import", str(TEMPLATE)],
                                     ["roster", "slips", "s1-2026-g10c1"],
                                     ["roster", "reset-password", "stu-a3k9d"]])
def test_a_missing_data_dir_is_a_settings_error_for_every_roster_action(
        tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture) -> None:
    """Does every roster action answer 2 and say "settings error" when the data dir is absent?"""
    assert main([*command, "--data", str(tmp_path / "absent")]) == 2
    assert "settings error" in capsys.readouterr().err


def test_errors_map_by_type_not_by_message(tmp_path: Path,
                                           capsys: pytest.CaptureFixture) -> None:
    """Are a bad roster (1), an unknown class (1) and a dry run (0) told apart by type?"""
    data = tmp_path / "data"
    data.mkdir()
    bad = tmp_path / "bad.csv"
    bad.write_text("用户名,姓名,角色\nX,a,b\n", encoding="utf-8")
    assert main(["roster", "import", str(bad), "--data", str(data)]) == 1
    assert "nothing was changed" in capsys.readouterr().err
    assert main(["roster", "import", str(TEMPLATE), "--data", str(data), "--dry-run"]) == 0
    assert main(["roster", "slips", "s1-2026-g10c1", "--data", str(data)]) == 1
    assert "unknown class" in capsys.readouterr().err


def test_the_table_puts_settings_before_everything() -> None:
    """Is a settings error 2 and a roster problem 1 in the one table?"""
    assert exit_status(SettingsError("x"))[0] == 2
    assert exit_status(RosterError([]))[0] == 1
    assert exit_status(KeyError("x")) is None
