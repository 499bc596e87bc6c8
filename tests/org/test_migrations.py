"""The organisation tables are created and upgraded by Alembic, old data dirs included."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, inspect, text

from hub.db import ServiceDatabase
from hub.migrations import current_revision, head_revision
from hub.org.models import OrgBase, Person, Region


def test_a_new_database_is_migrated_to_the_newest_revision(tmp_path: Path) -> None:
    database = ServiceDatabase(f"sqlite:///{tmp_path / 'new.sqlite'}")
    assert current_revision(database.engine) == head_revision() == "0002"
    tables = set(inspect(database.engine).get_table_names())
    assert {"regions", "schools", "classes", "people", "enrollments", "credentials"} <= tables
    indexes = {i["name"] for i in inspect(database.engine).get_indexes("enrollments")}
    assert "ix_enrollments_username" in indexes
    database.engine.dispose()


def test_a_database_made_before_migrations_is_adopted_with_its_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = create_engine(url)
    OrgBase.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_enrollments_username"))
        connection.execute(text("INSERT INTO regions (id, name) VALUES ('r', '旧区域')"))
        connection.execute(text("INSERT INTO people (username, display_name, role) "
                                "VALUES ('adm-old', '老管理员', 'region_admin')"))
    engine.dispose()

    database = ServiceDatabase(url)
    assert current_revision(database.engine) == head_revision()
    indexes = {i["name"] for i in inspect(database.engine).get_indexes("enrollments")}
    assert "ix_enrollments_username" in indexes
    with database.session() as session:
        assert session.get(Region, "r").name == "旧区域"
        assert session.get(Person, "adm-old").display_name == "老管理员"
    database.engine.dispose()
    again = ServiceDatabase(url)
    assert current_revision(again.engine) == head_revision()
    again.engine.dispose()
