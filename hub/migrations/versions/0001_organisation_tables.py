"""Organisation tables: regions, schools, classes, people, enrollments, credentials.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "regions",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("name", sa.String(length=100), nullable=False),
    )
    op.create_table(
        "schools",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("region_id", sa.String(length=64), sa.ForeignKey("regions.id"),
                  nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("locality", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
    )
    op.create_table(
        "classes",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("school_id", sa.String(length=64), sa.ForeignKey("schools.id"),
                  nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("school_year", sa.String(length=16), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.CheckConstraint("grade BETWEEN 1 AND 12", name="grade_level"),
    )
    op.create_table(
        "people",
        sa.Column("username", sa.String(length=32), primary_key=True),
        sa.Column("display_name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("school_id", sa.String(length=64), sa.ForeignKey("schools.id"),
                  nullable=True),
    )
    op.create_table(
        "credentials",
        sa.Column("username", sa.String(length=32), sa.ForeignKey("people.username"),
                  primary_key=True),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("must_change", sa.Boolean(), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "enrollments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("class_id", sa.String(length=64), sa.ForeignKey("classes.id"),
                  nullable=False),
        sa.Column("username", sa.String(length=32), sa.ForeignKey("people.username"),
                  nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.UniqueConstraint("class_id", "username"),
    )


def downgrade() -> None:
    for table in ("enrollments", "credentials", "people", "classes", "schools", "regions"):
        op.drop_table(table)
