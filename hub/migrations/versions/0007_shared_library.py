"""The shared resource library: published items, versions, reviews, uses, ratings (issue 19).

New tables only (see :mod:`hub.shared_library.models`); nothing existing changes, so a
database of an earlier release gains an empty library.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _library_tables() -> list[sa.Table]:
    metadata = sa.MetaData()
    sa.Table("schools", metadata, sa.Column("id", sa.String(64), primary_key=True))
    """Only named, so that the items' foreign key resolves: it exists, it is not made."""

    def text(name: str, length: int, nullable: bool = False) -> sa.Column:
        return sa.Column(name, sa.String(length), nullable=nullable)

    def item() -> sa.Column:
        return sa.Column("item_id", sa.Integer, sa.ForeignKey("shared_items.id"),
                         nullable=False, index=True)

    items = sa.Table(
        "shared_items", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        text("author", 32),
        sa.Column("school_id", sa.String(64), sa.ForeignKey("schools.id"), nullable=True),
        text("shelf", 8), text("title", 120), text("stage", 16), text("grades", 40),
        text("topic", 64), sa.Column("periods", sa.Integer, nullable=False),
        text("standard", 64), sa.Column("summary", sa.Text, nullable=False),
        sa.Column("approved_version", sa.Integer, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.CheckConstraint("periods BETWEEN 1 AND 20", name="shared_periods"))
    sa.Index("ix_shared_items_author", items.c.author)
    sa.Index("ix_shared_items_filters", items.c.stage, items.c.topic, items.c.standard)
    versions = sa.Table(
        "shared_versions", metadata,
        sa.Column("id", sa.Integer, primary_key=True), item(),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("files", sa.JSON, nullable=False), text("review", 8),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("published_at", sa.DateTime, nullable=False),
        text("reviewed_by", 32, True), sa.Column("reviewed_at", sa.DateTime, nullable=True),
        sa.UniqueConstraint("item_id", "version"))
    uses = sa.Table(
        "shared_uses", metadata,
        sa.Column("id", sa.Integer, primary_key=True), item(),
        sa.Column("version", sa.Integer, nullable=False), text("username", 32),
        text("class_id", 64), text("assignment_id", 64),
        sa.Column("used_at", sa.DateTime, nullable=False))
    ratings = sa.Table(
        "shared_ratings", metadata,
        sa.Column("id", sa.Integer, primary_key=True), item(), text("username", 32),
        sa.Column("stars", sa.Integer, nullable=False),
        sa.Column("rated_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("item_id", "username"),
        sa.CheckConstraint("stars BETWEEN 1 AND 5", name="shared_stars"))
    return [items, versions, uses, ratings]


def upgrade() -> None:
    connection = op.get_bind()
    tables = set(sa.inspect(connection).get_table_names())
    for table in _library_tables():
        if table.name not in tables:
            table.create(connection)


def downgrade() -> None:
    connection = op.get_bind()
    for table in reversed(_library_tables()):
        table.drop(connection)
