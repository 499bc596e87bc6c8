"""The audit trail: the hash-chained events, the people their references stand for, the head.

The head row is written here with a fresh random key for the people's references, so
every database has its own key from the start and no process has to race to make it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64


def _tables() -> list[sa.Table]:
    """Every table of this revision, its indexes attached."""
    metadata = sa.MetaData()

    def ref(name: str) -> sa.Column:
        return sa.Column(name, sa.String(32), nullable=False)

    def digest(name: str) -> sa.Column:
        return sa.Column(name, sa.String(64), nullable=False)

    events = sa.Table(
        "audit_events", metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.DateTime, nullable=False),
        ref("actor_ref"),
        sa.Column("action", sa.String(32), nullable=False),
        ref("subject_ref"),
        sa.Column("school", sa.String(64), nullable=False),
        sa.Column("class_id", sa.String(64), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        digest("prev_hash"), digest("hash"))
    for column in ("at", "actor_ref", "action", "subject_ref", "school"):
        sa.Index(f"ix_audit_events_{column}", events.c[column])
    people = sa.Table(
        "audit_people", metadata,
        sa.Column("ref", sa.String(32), primary_key=True),
        sa.Column("username", sa.String(32), nullable=False))
    sa.Index("ix_audit_people_username", people.c.username)
    chain = sa.Table(
        "audit_chain", metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("last_id", sa.Integer, nullable=False),
        digest("last_hash"),
        sa.Column("pruned_through", sa.Integer, nullable=False),
        digest("anchor_hash"), digest("ref_key"))
    return [events, people, chain]


def upgrade() -> None:
    connection = op.get_bind()
    tables = _tables()
    for table in tables:
        table.create(connection)  # and its indexes
    chain = tables[-1]
    connection.execute(chain.insert().values(
        id=1, last_id=0, last_hash=GENESIS_HASH, pruned_through=0,
        anchor_hash=GENESIS_HASH, ref_key=secrets.token_hex(32)))


def downgrade() -> None:
    connection = op.get_bind()
    for table in reversed(_tables()):
        table.drop(connection)
