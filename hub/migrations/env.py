"""Alembic environment: migrate the organisation tables through the engine we are given."""

from __future__ import annotations

from alembic import context

from hub.migrations import VERSION_TABLE
from hub.org.models import OrgBase

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=OrgBase.metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
