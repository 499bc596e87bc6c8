"""Revision 0005 on a database of revision 0004 that holds a region's data: the data stays,
schools and people gain an empty district, and the schema is exactly the models'."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, event, inspect, text

from hub.db import ServiceDatabase, _enable_sqlite_foreign_keys
from hub.migrations import alembic_config, current_revision, head_revision
from hub.org.models import District, Person, School
from hub.programme.models import Application
from tests.org.test_migrations import schema_differences


def test_a_revision_0004_database_with_data_is_upgraded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'aiclass.sqlite'}"
    engine = create_engine(url)
    event.listen(engine, "connect", _enable_sqlite_foreign_keys)
    command.upgrade(alembic_config(engine), "0004")
    assert current_revision(engine) == "0004"
    assert "district_id" not in {c["name"] for c in inspect(engine).get_columns("schools")}
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO regions VALUES ('r', '旧区域')"))
        connection.execute(text("INSERT INTO schools VALUES ('s', 'r', '第一中学', 'urban', "
                                "'senior')"))
        connection.execute(text("INSERT INTO people VALUES ('sadm-1', '周建国', 'school_admin', "
                                "'s')"))
    engine.dispose()

    database = ServiceDatabase(url)
    assert current_revision(database.engine) == head_revision() == "0008"
    assert schema_differences(database.engine) == []
    with database.session() as session:
        school = session.get(School, "s")
        assert (school.name, school.district_id) == ("第一中学", None)
        assert session.get(Person, "sadm-1").district_id is None
        session.add(District(id="d", region_id="r", name="新区"))
        session.flush()
        school.district_id = "d"
        session.add(Application(school_id="s", status="applied", stage="senior",
                                locality="urban", foundation="机房", has_ai_lab=False,
                                ai_teachers=2, plan="计划", submitted_by="sadm-1",
                                submitted_at=datetime(2026, 12, 6, 8, 0)))
    with database.session() as session:
        assert session.get(School, "s").district_id == "d"
    database.engine.dispose()
