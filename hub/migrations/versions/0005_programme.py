"""The provincial programme: a district tier above schools, applications, indicators, evidence.

Existing databases keep their schools and people: ``district_id`` is added to both as an
empty (nullable) column (what a database already has is kept, as in 0003), so a region
without districts reads as before and a roster that names districts fills it in later.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _district_column() -> sa.Column:
    return sa.Column("district_id", sa.String(64), sa.ForeignKey("districts.id"), nullable=True)


def _programme_tables() -> list[sa.Table]:
    metadata = sa.MetaData()
    sa.Table("schools", metadata, sa.Column("id", sa.String(64), primary_key=True))
    """Only named, so that the tables' foreign keys resolve: it exists, it is not made."""

    def school() -> sa.ForeignKey:
        return sa.ForeignKey("schools.id")

    def text(name: str, length: int, nullable: bool = False) -> sa.Column:
        return sa.Column(name, sa.String(length), nullable=nullable)

    applications = sa.Table(
        "programme_applications", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("school_id", sa.String(64), school(), nullable=False, unique=True),
        text("status", 16), text("stage", 16), text("locality", 16),
        sa.Column("foundation", sa.Text, nullable=False),
        sa.Column("has_ai_lab", sa.Boolean, nullable=False),
        sa.Column("ai_teachers", sa.Integer, nullable=False),
        sa.Column("plan", sa.Text, nullable=False),
        text("submitted_by", 32), sa.Column("submitted_at", sa.DateTime, nullable=False),
        sa.Column("rank", sa.Integer, nullable=True),
        sa.Column("recommendation", sa.Text, nullable=True),
        text("recommended_by", 32, True), sa.Column("recommended_at", sa.DateTime, nullable=True),
        text("standing", 24, True),
        sa.Column("phase", sa.Integer, nullable=True),
        sa.Column("year", sa.Integer, nullable=True),
        text("decided_by", 32, True), sa.Column("decided_at", sa.DateTime, nullable=True),
        sa.CheckConstraint("phase IS NULL OR phase BETWEEN 1 AND 3", name="programme_phase"))
    entries = sa.Table(
        "programme_indicator_entries", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("school_id", sa.String(64), school(), nullable=False),
        text("indicator", 32), sa.Column("value", sa.Float, nullable=False),
        text("entered_by", 32), sa.Column("entered_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("school_id", "indicator"))
    evidence = sa.Table(
        "programme_evidence", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("school_id", sa.String(64), school(), nullable=False),
        text("indicator", 32), text("filename", 200), text("sha256", 64),
        sa.Column("size", sa.Integer, nullable=False),
        text("uploaded_by", 32), sa.Column("uploaded_at", sa.DateTime, nullable=False))
    sa.Index("ix_programme_evidence_school_id", evidence.c.school_id)
    return [applications, entries, evidence]


def upgrade() -> None:
    """Make what is missing: a database that predates migrations was made by its release's
    ``create_all`` (see :mod:`hub.migrations`), which may already have made some of it."""
    connection = op.get_bind()
    inspector = sa.inspect(connection)
    tables = set(inspector.get_table_names())
    if "districts" not in tables:
        op.create_table("districts",
                        sa.Column("id", sa.String(64), primary_key=True),
                        sa.Column("region_id", sa.String(64), sa.ForeignKey("regions.id"),
                                  nullable=False),
                        sa.Column("name", sa.String(100), nullable=False))
    for table in ("schools", "people"):
        if "district_id" not in {c["name"] for c in inspector.get_columns(table)}:
            op.add_column(table, _district_column(), inline_references=True)
    if "ix_schools_district_id" not in {i["name"] for i in inspector.get_indexes("schools")}:
        op.create_index("ix_schools_district_id", "schools", ["district_id"])
    for table in _programme_tables():
        if table.name not in tables:
            table.create(connection)


def downgrade() -> None:
    connection = op.get_bind()
    for table in reversed(_programme_tables()):
        table.drop(connection)
    with op.batch_alter_table("people") as batch:
        batch.drop_column("district_id")
    op.drop_index("ix_schools_district_id", table_name="schools")
    with op.batch_alter_table("schools") as batch:
        batch.drop_column("district_id")
    op.drop_table("districts")
