"""Upgrading both databases when a new release starts, after a backup.

``aiclass up`` calls :func:`upgrade_databases` before anything opens a database. Only a
database that exists, holds tables and is behind its newest revision counts: a first
start creates its tables and has nothing to lose, so it is not backed up. When either
database is behind, one backup set of everything (``hub.backup``) is written first, so a
failed upgrade leaves a center a restore away from the day before.

The service database is upgraded by its own Alembic revisions (``hub.migrations``).
JupyterHub's database by JupyterHub's own mechanism: ``dbutil.upgrade_if_needed``, which
is what ``jupyterhub upgrade-db`` runs, called in this process so that a PostgreSQL
password never appears on a command line; its own SQLite copy is skipped, the backup set
already holds one.
"""

from __future__ import annotations

import logging
from pathlib import Path

import jupyterhub
from alembic.script import ScriptDirectory
from jupyterhub import dbutil
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from hub.backup import BackupSummary, backup
from hub.migrations import current_revision, head_revision, upgrade_service_database
from hub.settings import Settings

BACKUPS_DIR = "backups"
"""Where the backups taken before an upgrade go, inside the data dir."""

log = logging.getLogger(__name__)


def _has_tables(url: str) -> bool:
    """Whether the database exists and holds tables, without creating a SQLite file."""
    if url.startswith("sqlite"):
        database = make_url(url).database
        if not database or not Path(database).exists():
            return False
    engine = create_engine(url)
    try:
        return bool(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def service_database_behind(settings: Settings) -> bool:
    """Whether the service database holds data at an older revision than this release's."""
    url = settings.database_url
    if not _has_tables(url):
        return False
    engine = create_engine(url)
    try:
        return current_revision(engine) != head_revision()
    finally:
        engine.dispose()


def jupyterhub_head() -> str:
    """The newest revision of JupyterHub's own database, from JupyterHub's migrations."""
    scripts = ScriptDirectory(str(Path(jupyterhub.__file__).parent / "alembic"))
    head = scripts.get_current_head()
    assert head is not None
    return head


def hub_database_behind(settings: Settings) -> bool:
    """Whether JupyterHub's database holds data at an older revision than the installed hub.

    Read without side effects: ``jupyterhub.orm.check_db_revision`` would stamp the database.
    """
    url = settings.hub_database_url
    if not _has_tables(url):
        return False
    engine = create_engine(url)
    try:
        if "alembic_version" not in inspect(engine).get_table_names():
            return True  # made before JupyterHub 0.8 tagged its revisions
        with engine.connect() as connection:
            revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return revision != jupyterhub_head()
    finally:
        engine.dispose()


def upgrade_databases(settings: Settings) -> BackupSummary | None:
    """Back up, then upgrade whichever database is behind; the backup, or ``None``."""
    service, hub = service_database_behind(settings), hub_database_behind(settings)
    if not (service or hub):
        return None
    summary = backup(settings, settings.data_dir / BACKUPS_DIR)
    if service:
        engine = create_engine(settings.database_url)
        try:
            upgrade_service_database(engine)
        finally:
            engine.dispose()
    if hub:
        dbutil.upgrade_if_needed(settings.hub_database_url, backup=False, log=log)
    return summary
