"""Alembic migrations of every table of the service database.

The service database outlives aiclass releases: a center upgrades the code and keeps its
roster, submissions and grades, so every table (organisation, exchange, gradebook,
reports) changes only through revisions here, and a fresh database is made by the same
revisions. :func:`upgrade_service_database` brings a database to the newest revision.
Databases made by earlier releases are adopted rather than created twice: one with the
organisation tables and no version row (before 0001) is stamped at 0001, and one whose
exchange, gradebook and report tables were made by ``create_all`` (before 0003) keeps
them: revision 0003 creates only the tables that are missing.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, inspect

from grading.gradebook.models import ExchangeBase  # exchange and gradebook tables
from hub.audit.models import AuditBase
from hub.competitions import models as _competition_tables  # noqa: F401 - they join OrgBase's
from hub.org.models import OrgBase
from hub.programme import models as _programme_tables  # noqa: F401 - they join OrgBase's
from hub.reports.tables import ReportsBase
from hub.shared_library import models as _library_tables  # noqa: F401 - they join OrgBase's
from hub.training import models as _training_tables  # noqa: F401 - they join OrgBase's

MIGRATIONS_DIR = Path(__file__).parent
VERSION_TABLE = "org_alembic_version"
"""Named when only the organisation tables were migrated; kept so old databases are found."""

SERVICE_METADATA: list[MetaData] = [OrgBase.metadata, ExchangeBase.metadata,
                                    ReportsBase.metadata, AuditBase.metadata]
"""The models the revisions must produce (``tests/org/test_migrations.py`` compares them);
the programme's tables (:mod:`hub.programme.models`, imported above) are in ``OrgBase``'s."""


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration that migrates through ``engine``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    """The newest revision of the service database."""
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


def needs_upgrade(engine: Engine) -> bool:
    """Whether :func:`upgrade_service_database` would change anything (backed up first)."""
    return current_revision(engine) != head_revision()


def upgrade_service_database(engine: Engine) -> None:
    """Create or upgrade every table of the service database to the newest revision."""
    if not needs_upgrade(engine):
        return
    config = alembic_config(engine)
    if current_revision(engine) is None and inspect(engine).has_table("people"):
        command.stamp(config, "0001")
    command.upgrade(config, "head")
