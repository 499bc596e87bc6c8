"""Alembic migrations of the organisation tables (regions, schools, classes, people).

The service database outlives aiclass releases: a center upgrades the code and keeps
its roster, so the organisation tables change only through revisions here.
:func:`upgrade_organisation` brings a database to the newest revision; a database
created by an earlier release with ``create_all`` (tables present, no version row)
is recognised and stamped instead of being created twice.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

MIGRATIONS_DIR = Path(__file__).parent
VERSION_TABLE = "org_alembic_version"


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration that migrates through ``engine``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    """The newest revision of the organisation tables."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or ``None`` when it has never been migrated."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def upgrade_organisation(engine: Engine) -> None:
    """Create or upgrade the organisation tables to the newest revision."""
    if current_revision(engine) == head_revision():
        return
    config = alembic_config(engine)
    if current_revision(engine) is None and inspect(engine).has_table("people"):
        command.stamp(config, "0001")
    command.upgrade(config, "head")
