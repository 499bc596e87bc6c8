"""Every table of the service database is made and upgraded by Alembic, old data dirs too."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text

from grading.exchange.models import Feedback, Submission
from grading.gradebook.models import CellGrade
from hub.db import ServiceDatabase
from hub.migrations import SERVICE_METADATA, VERSION_TABLE, current_revision, head_revision
from hub.org.models import Enrollment, OrgBase, Person, Region, SchoolClass
from tests.postgres import running_postgres

FIRST_SCHEMA = Path(__file__).with_name("first_schema.sql")


def schema_differences(engine: Engine) -> list:
    """What Alembic's autogenerate would change to make the database match the models."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"version_table": VERSION_TABLE, "compare_type": True})
        return compare_metadata(context, SERVICE_METADATA)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with running_postgres("aiclass-migrations") as url:
        yield url


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_the_revisions_alone_make_the_models_tables(
        dialect: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Does ``alembic upgrade head`` on an empty database give exactly the models' schema?"""
    url = (f"sqlite:///{tmp_path / 'fresh.sqlite'}" if dialect == "sqlite"
           else request.getfixturevalue("postgres_url"))
    database = ServiceDatabase(url)
    assert current_revision(database.engine) == head_revision()
    assert {"exchange_submissions", "grading_cells", "report_snapshots"} <= set(
        inspect(database.engine).get_table_names())
    assert schema_differences(database.engine) == []
    database.engine.dispose()


def test_a_new_database_is_migrated_to_the_newest_revision(tmp_path: Path) -> None:
    database = ServiceDatabase(f"sqlite:///{tmp_path / 'new.sqlite'}")
    assert current_revision(database.engine) == head_revision() == "0008"
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


def test_a_database_of_the_first_schema_is_upgraded_with_its_data(tmp_path: Path) -> None:
    """Are a first-schema data dir's classes, people, submissions, grades and feedback kept?"""
    path = tmp_path / "aiclass.sqlite"
    with sqlite3.connect(path) as connection:
        connection.executescript(FIRST_SCHEMA.read_text(encoding="utf-8"))
        connection.executescript("""
            INSERT INTO regions VALUES ('r', '旧区域');
            INSERT INTO schools VALUES ('s', 'r', '第一中学', 'urban', 'senior');
            INSERT INTO classes VALUES ('c', 's', '高一（1）班', '2026', 10);
            INSERT INTO people VALUES ('stu-1', '张三', 'student', 's');
            INSERT INTO enrollments (class_id, username, role) VALUES ('c', 'stu-1', 'student');
            INSERT INTO exchange_submissions VALUES (1, 'k1', 'c', 'a1', 'stu-1', 1,
                '2026-11-30 08:00:00', 'idem-1', '[{"path": "a.ipynb"}]', 120, 1);
            INSERT INTO grading_jobs VALUES (1, 1, 'c', 'a1', 'done', 'submit', 'stu-1',
                '2026-11-30 08:00:00', '2026-11-30 08:00:00', 1, NULL, NULL, NULL, NULL);
            INSERT INTO grading_cells VALUES (1, 1, 'c', 'a1', 'stu-1', 'a.ipynb', 'q1', 0,
                'auto', 2.0, 1.0, NULL, 1.5, '好', 1);
            INSERT INTO exchange_feedback VALUES (1, 1, 'tea-1', '2026-11-30 09:00:00',
                '[{"path": "a.html"}]');
        """)
    database = ServiceDatabase(f"sqlite:///{path}")
    assert current_revision(database.engine) == head_revision()
    assert schema_differences(database.engine) == []
    with database.session() as session:
        assert session.get(SchoolClass, "c").name == "高一（1）班"
        assert session.get(Person, "stu-1").display_name == "张三"
        assert session.query(Enrollment).one().username == "stu-1"
        assert session.query(Submission).one().manifest == [{"path": "a.ipynb"}]
        assert session.query(CellGrade).one().score == 1.5
        assert session.query(Feedback).one().manifest == [{"path": "a.html"}]
    database.engine.dispose()
