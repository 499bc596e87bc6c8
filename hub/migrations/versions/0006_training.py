"""Teacher training: cohorts, tracks, hours, certificates (issue 19).

Only new tables: a trainee is a row beside the person, never a change of their role, so
existing people, classes and grades are untouched.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _training_tables() -> list[sa.Table]:
    metadata = sa.MetaData()
    sa.Table("people", metadata, sa.Column("username", sa.String(32), primary_key=True))
    sa.Table("districts", metadata, sa.Column("id", sa.String(64), primary_key=True))
    """Only named, so that the tables' foreign keys resolve: they exist, they are not made."""

    def text(name: str, length: int) -> sa.Column:
        return sa.Column(name, sa.String(length), nullable=False)

    def cohort() -> sa.Column:
        return sa.Column("cohort_id", sa.Integer, sa.ForeignKey("training_cohorts.id"),
                         nullable=False)

    def person() -> sa.Column:
        return sa.Column("username", sa.String(32), sa.ForeignKey("people.username"),
                         nullable=False)

    cohorts = sa.Table(
        "training_cohorts", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        text("name", 100), text("track", 16), sa.Column("year", sa.Integer, nullable=False),
        sa.Column("district_id", sa.String(64), sa.ForeignKey("districts.id"), nullable=True),
        text("created_by", 32), sa.Column("created_at", sa.DateTime, nullable=False))
    courses = sa.Table(
        "training_courses", metadata,
        sa.Column("id", sa.Integer, primary_key=True), cohort(), text("assignment_id", 64),
        sa.UniqueConstraint("cohort_id", "assignment_id"))
    trainees = sa.Table(
        "training_trainees", metadata,
        sa.Column("id", sa.Integer, primary_key=True), cohort(), person(),
        text("enrolled_by", 32), sa.Column("enrolled_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("cohort_id", "username"))
    sa.Index("ix_training_trainees_username", trainees.c.username)
    sessions = sa.Table(
        "training_sessions", metadata,
        sa.Column("id", sa.Integer, primary_key=True), cohort(), text("title", 200),
        sa.Column("held_on", sa.Date, nullable=False),
        sa.Column("hours", sa.Float, nullable=False), text("recorded_by", 32),
        sa.Column("recorded_at", sa.DateTime, nullable=False))
    sa.Index("ix_training_sessions_cohort_id", sessions.c.cohort_id)
    attendance = sa.Table(
        "training_attendance", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("session_id", sa.Integer, sa.ForeignKey("training_sessions.id"),
                  nullable=False), person(),
        sa.UniqueConstraint("session_id", "username"))
    sa.Index("ix_training_attendance_username", attendance.c.username)
    certificates = sa.Table(
        "training_certificates", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(16), nullable=False, unique=True), cohort(), person(),
        text("assignment_id", 64), sa.Column("hours", sa.Float, nullable=False),
        sa.Column("issued_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("cohort_id", "username", "assignment_id"))
    return [cohorts, courses, trainees, sessions, attendance, certificates]


def upgrade() -> None:
    """Make what is missing: a database that predates migrations was made by its release's
    ``create_all`` (see :mod:`hub.migrations`), which may already have made some of it."""
    connection = op.get_bind()
    tables = set(sa.inspect(connection).get_table_names())
    for table in _training_tables():
        if table.name not in tables:
            table.create(connection)


def downgrade() -> None:
    connection = op.get_bind()
    for table in reversed(_training_tables()):
        table.drop(connection)
