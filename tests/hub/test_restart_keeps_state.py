"""A local-mode hub stopped and started again on the same data dir, with the same command.

``make run`` is ``aiclass up --demo``; a teacher's laptop restarts it with that command every
morning. Does the second start seed nothing (same accounts file, same password hashes, no
new first admin), keep the password a student chose, refuse the initial one, and give the
hub the same groups and roles? (A lab adopted after a *killed* hub is
``tests/hub/test_stopping.py``'s; a SIGTERM stops local servers by design, and the student's
files wait in their home.)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from hub.db import ServiceDatabase
from hub.org.models import Credential, Person
from hub.settings import load_settings
from tests.hub.hubprocess import (
    Browser,
    RunningHub,
    running_hub,
)
from tests.org.orghub import mirror_api

pytestmark = pytest.mark.integration
CHOSEN = "chongqi-2026"
MARK = "写于重启之前 / written before the restart\n"


@dataclass
class State:
    """What the second start must leave as the first left it."""

    groups: dict[str, list[str]]
    roles: dict[str, dict]
    people: int
    password_hashes: dict[str, str]
    accounts_file: tuple[bytes, int]


def state(hub: RunningHub) -> State:
    api = mirror_api(hub)
    database = ServiceDatabase(load_settings(hub.data_dir).database_url)
    try:
        with database.session() as session:
            people = session.query(Person).count()
            hashes = {c.username: c.password_hash for c in session.query(Credential)}
    finally:
        database.engine.dispose()
    accounts = hub.data_dir / "demo-accounts.csv"
    return State(api.groups(), api.roles(), people, hashes,
                 (accounts.read_bytes(), accounts.stat().st_mtime_ns))


@dataclass
class Restart:
    hub: RunningHub
    student: dict[str, str]
    before: State
    after: State
    log_before: int


@pytest.fixture(scope="module")
def restart() -> Iterator[Restart]:
    with running_hub("aiclass-restart-test-") as hub:
        student = hub.own_account("restart")
        browser = Browser(hub)
        browser.sign_in(student, CHOSEN)
        browser.open_lab(student["username"])
        home = hub.data_dir / "homes" / student["username"]
        written = browser.session.put(
            f"{hub.url}/user/{student['username']}/api/contents/before-restart.txt",
            json={"type": "file", "format": "text", "content": MARK},
            headers={"X-XSRFToken": browser.xsrf(f"/user/{student['username']}/")}, timeout=60)
        assert written.status_code in (200, 201), written.text
        before = state(hub)

        hub.stop()
        log_before = hub.start_again("--demo")
        assert (home / "before-restart.txt").read_text(encoding="utf-8") == MARK
        yield Restart(hub, student, before, state(hub), log_before)


def test_the_second_start_seeds_nothing(restart: Restart) -> None:
    before, after = restart.before, restart.after
    assert after.accounts_file == before.accounts_file, "demo-accounts.csv was written again"
    assert after.people == before.people
    assert after.password_hashes == before.password_hashes, "passwords were issued again"
    assert "region admin:" not in restart.hub.log()[restart.log_before:]


def test_the_chosen_password_signs_in_and_the_initial_one_does_not(restart: Restart) -> None:
    student = restart.student
    refused = Browser(restart.hub).login(student["username"], student["password"])
    assert refused.status != 302 and not refused.asks_new_password, refused
    signed_in = Browser(restart.hub).login(student["username"], CHOSEN)
    assert signed_in.status == 302, signed_in


def test_groups_and_roles_are_as_before(restart: Restart) -> None:
    before, after = restart.before, restart.after
    username = restart.student["username"]
    assert username in before.groups[f"class-{restart.student['class']}"]
    assert any(name.startswith("aiclass-") for name in before.roles), before.roles
    assert after.groups == before.groups
    assert after.roles == before.roles
