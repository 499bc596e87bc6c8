"""One person's groups and role, as a sign-in puts them in the hub, against the mirror's.

:func:`hub.org.directory.person_access` answers for one person what :func:`hub_groups` and
:func:`hub_roles` answer for the whole region; a sign-in writes the first, the mirror the
second, so where the two disagreed a sign-in and the mirror's next run would undo each
other.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from hub.db import ServiceDatabase
from hub.org.directory import hub_groups, hub_roles, person_access
from hub.org.grants import REGION_OPERATOR
from hub.org.models import Person
from hub.org.roster import apply_roster, read_tables
from tests.org.rosterfiles import TEMPLATE_CSV, template_rows, write_csv


@pytest.fixture
def database(tmp_path: Path) -> ServiceDatabase:
    database = ServiceDatabase(f"sqlite:///{tmp_path / 'aiclass.sqlite'}")
    yield database
    database.engine.dispose()


def test_each_persons_share_is_the_mirrors(database: ServiceDatabase, tmp_path: Path) -> None:
    """Does every person of the template (and a district admin, and next year's class of a
    student, which replaces this year's) get from person_access exactly the groups and
    roles the mirror gives them?"""
    rows = template_rows()
    admin = [""] * len(rows[0])
    admin[8:12] = ["dadm-q7x2m", "钱区长", "区县管理员", "sample-d1"]
    student = next(row for row in rows[1:] if row[10] == "学生")
    next_year = [*student[:4], "s1-2027-g11c1", "高二（1）班", "2027-2028", "11", *student[8:]]
    extra = write_csv(tmp_path / "more.csv", [rows[0], admin, next_year])
    with database.session() as session:
        apply_roster(session, read_tables([TEMPLATE_CSV, extra]), "region", "本区域",
                     grantor=REGION_OPERATOR)
    with database.session() as session:
        groups = hub_groups(session)
        roles = hub_roles(session)
        people = list(session.scalars(select(Person.username)))
        shares = {username: person_access(session, username) for username in people}
        nobody = person_access(session, "not-on-the-roster")
    assert len(people) > 10
    for username, share in shares.items():
        assert share.groups == {g for g, members in groups.items() if username in members}, \
            username
        assert list(share.roles) == [r for r in roles if username in r["users"]], username
    moved = shares[student[8]].groups
    assert "class-s1-2027-g11c1" in moved and f"class-{student[4]}" not in moved
    assert [r["name"] for r in shares["dadm-q7x2m"].roles] == ["aiclass-district-admin-dadm-q7x2m"]
    assert not nobody.groups and not nobody.roles
