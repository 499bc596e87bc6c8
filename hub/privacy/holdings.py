"""Which rows of the service database name one person, found by reading the database.

The tables are reflected from the database, not listed here, so a table added later
that names people the classroom's way is exported and erased without a change: a
column called ``username`` is whose row it is; ``released_by``, ``granted_by``,
``changed_by`` and ``requested_by`` name the teacher who acted. The audit trail's
tables are left to :mod:`hub.audit` (its rows name people only by reference).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from sqlalchemy import MetaData, Table, or_, select
from sqlalchemy.orm import Session

OWNER_COLUMN = "username"
"""The column that says whose row it is."""
ACTOR_COLUMNS = ("released_by", "granted_by", "changed_by", "requested_by")
"""Columns naming the person who did something (a teacher, a worker) to someone's row."""
PERSON_COLUMNS = (OWNER_COLUMN, *ACTOR_COLUMNS)
OWN_TABLES_PREFIX = "audit_"
"""Tables :mod:`hub.audit` owns and erases itself."""
WITHHELD = "(已隐藏 / withheld)"
"""What an export shows instead of a secret (a password hash) or an unasked-for real name."""
SECRET_COLUMNS = ("password_hash",)
NAME_COLUMNS = ("display_name",)


def person_tables(session: Session) -> Iterator[tuple[Table, list[str]]]:
    """Every table of the service database with the columns of it that name a person."""
    metadata = MetaData()
    metadata.reflect(bind=session.connection())
    for table in metadata.sorted_tables:
        if table.name.startswith(OWN_TABLES_PREFIX):
            continue
        columns = [c.name for c in table.columns if c.name in PERSON_COLUMNS]
        if columns:
            yield table, columns


def readable(value: Any) -> Any:
    """A database value as JSON can hold it (dates as ISO text, JSON text decoded)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def rows_naming(session: Session, username: str, with_names: bool = False
                ) -> dict[str, list[dict[str, Any]]]:
    """Every row that names ``username``, by table, as JSON-ready dicts.

    Password hashes are withheld always, real names unless ``with_names``: an export is
    a file that travels, and the issue's rule is no real name in a file nobody asked for.
    """
    found: dict[str, list[dict[str, Any]]] = {}
    withheld = SECRET_COLUMNS if with_names else SECRET_COLUMNS + NAME_COLUMNS
    for table, columns in person_tables(session):
        query = select(table).where(or_(*(table.c[name] == username for name in columns)))
        rows = [{key: WITHHELD if key in withheld else readable(value)
                 for key, value in row._mapping.items()}
                for row in session.execute(query)]
        if rows:
            found[table.name] = rows
    return found
