"""Revision 0006 on a database of revision 0005 that holds a region's people: they stay as
they were, the training tables arrive empty and exactly as the models say, and a teacher can
then be a trainee without their role changing."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, event, inspect, text

from hub.db import ServiceDatabase, _enable_sqlite_foreign_keys
from hub.migrations import alembic_config, current_revision
from hub.org.models import Person
from hub.training.models import Cohort, Trainee
from tests.org.test_migrations import schema_differences


def test_a_revision_0005_database_with_people_gains_the_training_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'aiclass.sqlite'}"
    engine = create_engine(url)
    event.listen(engine, "connect", _enable_sqlite_foreign_keys)
    command.upgrade(alembic_config(engine), "0005")
    assert "training_cohorts" not in inspect(engine).get_table_names()
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO regions VALUES ('r', '旧区域')"))
        connection.execute(text("INSERT INTO schools (id, region_id, name, locality, stage) "
                                "VALUES ('s', 'r', '第一中学', 'urban', 'senior')"))
        connection.execute(text("INSERT INTO people (username, display_name, role, school_id) "
                                "VALUES ('tch-1', '王老师', 'teacher', 's')"))
    engine.dispose()

    database = ServiceDatabase(url)
    assert current_revision(database.engine) >= "0006"
    assert schema_differences(database.engine) == []
    with database.session() as session:
        cohort = Cohort(name="骨干教师研修班", track="lead_teacher", year=2026,
                        created_by="adm", created_at=datetime(2026, 12, 6))
        session.add(cohort)
        session.flush()
        session.add(Trainee(cohort_id=cohort.id, username="tch-1", enrolled_by="adm",
                            enrolled_at=datetime(2026, 12, 6)))
    with database.session() as session:
        assert session.get(Person, "tch-1").role == "teacher"
    command.downgrade(alembic_config(database.engine), "0005")
    assert not {t for t in inspect(database.engine).get_table_names()
                if t.startswith("training_")}
    database.engine.dispose()
