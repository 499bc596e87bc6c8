"""Alembic environment: migrate every table of the service database through a given engine."""

from __future__ import annotations

from alembic import context

from hub.migrations import SERVICE_METADATA, VERSION_TABLE

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=SERVICE_METADATA,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
